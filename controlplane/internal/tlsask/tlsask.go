// Package tlsask answers Caddy's on-demand TLS "ask": may a certificate be
// issued for this host name? Only for verified domains (and platform
// subdomains) of active vendors. Anything else, including a name that is
// not a name, gets 404. Answers are rate-limited per client address in
// Redis; no session, no cookies.
package tlsask

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/web"
)

// Defaults of the rate limit.
const (
	DefaultLimit  = 300
	DefaultWindow = time.Minute
)

// Handler serves GET /tls/ask?domain=<host>.
type Handler struct {
	Domains *domains.Service
	// Redis keeps the rate limit's counters. Without it, or while it is
	// down, the endpoint answers without a limit (the answer itself still
	// comes from the database) and logs that it does.
	Redis redis.UniversalClient
	// KeyPrefix starts the counters' keys, e.g. "sf:<platform prefix>:cp:tlsask:".
	KeyPrefix string
	// Limit is how many asks one client address may make per Window
	// (defaults DefaultLimit, DefaultWindow).
	Limit  int
	Window time.Duration
	Logger *slog.Logger
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if retry, limited := h.limited(r); limited {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	q := r.URL.Query()
	host := q.Get("domain")
	if len(q["domain"]) != 1 || host == "" {
		http.Error(w, "no such domain", http.StatusNotFound)
		return
	}
	ok, err := h.Domains.Allowed(r.Context(), host)
	if err != nil {
		h.log().Error("tls ask failed", "request_id", web.RequestID(r.Context()), "err", err)
		http.Error(w, "cannot answer now", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		http.Error(w, "no such domain", http.StatusNotFound)
		return
	}
	_, _ = fmt.Fprintln(w, "ok")
}

// limited counts the ask against its client address and the name asked
// about, in a fixed window, and reports whether that pair is over the
// limit and for how long. The name is part of the key because the only
// client is the TLS proxy: with one budget for it, anyone opening
// handshakes with random server names would use it up and real domains'
// certificates would be refused. A real name is asked about once per
// issuance or renewal; hammering one name is what is limited.
func (h *Handler) limited(r *http.Request) (int, bool) {
	if h.Redis == nil {
		return 0, false
	}
	limit, window := h.Limit, h.Window
	if limit <= 0 {
		limit = DefaultLimit
	}
	if window <= 0 {
		window = DefaultWindow
	}
	name := strings.ToLower(r.URL.Query().Get("domain"))
	if len(name) > 253 {
		name = name[:253]
	}
	key := h.KeyPrefix + web.ClientAddr(r) + ":" + name
	ctx, cancel := context.WithTimeout(r.Context(), 500*time.Millisecond)
	defer cancel()
	pipe := h.Redis.TxPipeline()
	incr := pipe.Incr(ctx, key)
	pipe.ExpireNX(ctx, key, window)
	ttl := pipe.PTTL(ctx, key)
	if _, err := pipe.Exec(ctx); err != nil {
		h.log().Warn("tls ask: rate limit unavailable, answering without it", "err", err)
		return 0, false
	}
	if incr.Val() <= int64(limit) {
		return 0, false
	}
	retry := int((ttl.Val() + time.Second - 1) / time.Second)
	if retry < 1 {
		retry = 1
	}
	return retry, true
}

func (h *Handler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
