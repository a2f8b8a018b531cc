package ratelimit

import (
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/web"
)

// Middleware limits the requests that Classify puts in a class, per
// vendor (Vendor) and client address.
type Middleware struct {
	Limiter *Limiter
	Limits  map[string]Limit
	// Classify names the classes a request counts against (none: not
	// limited). A request may count against several (a search through
	// the API is a search and an API call).
	Classify func(r *http.Request) []string
	// Vendor is the id of the vendor a request is for; requests without
	// one are not limited.
	Vendor func(r *http.Request) (int64, bool)
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed.
	TrustedProxies []netip.Prefix
	Responder      *web.Responder
}

// messages say what was limited, for people.
var messages = map[string]string{
	ClassLogin:    "Too many sign-in attempts from your address. Please wait a moment and try again.",
	ClassCheckout: "Too many orders from your address in a short time. Please wait a moment and try again.",
	ClassSearch:   "Too many searches from your address in a short time. Please wait a moment and try again.",
	ClassAPI:      "Too many API requests from your address. Slow down and retry after the time in the Retry-After header.",
}

// Wrap returns next behind the limits.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		classes := m.Classify(r)
		if len(classes) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		vendor, ok := m.Vendor(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		client, addr := clientAddr(r, m.TrustedProxies)
		if addr.IsLoopback() && !forwarded(r) {
			// A process on this machine talking to us directly (health
			// checks, benchmarks): not limited. A request a local proxy
			// forwarded is limited even when the proxy is not in
			// STOREFLEET_TRUSTED_PROXIES: then its clients share one
			// budget, which is better than none (trust the proxy to give
			// each its own).
			next.ServeHTTP(w, r)
			return
		}
		for _, class := range classes {
			lim := m.Limits[class]
			res := m.Limiter.Allow(r.Context(), class, vendor, client, lim)
			if !res.Allowed {
				secs := int(math.Ceil(res.RetryAfter.Seconds()))
				web.AddLogAttrs(r.Context(), slog.String("rate_limited", class))
				w.Header().Set("RateLimit-Policy", strconv.Itoa(lim.N)+";w="+strconv.Itoa(int(lim.Per/time.Second)))
				m.Responder.Error(w, r, &web.Error{Status: http.StatusTooManyRequests, RetryAfter: max(secs, 1),
					Message: messages[class], Extra: map[string]any{"limit": class, "retry_after_seconds": max(secs, 1)}})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ClientAddr is the client's address as a budget key: the TCP peer, or,
// when the peer is a trusted proxy, the right-most address of
// X-Forwarded-For that is not a trusted proxy (the left-most ones are
// whatever the client wrote).
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	key, _ := clientAddr(r, trusted)
	return key
}

func clientAddr(r *http.Request, trusted []netip.Prefix) (string, netip.Addr) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return "unknown", netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return ClientKey(peer), peer
	}
	var hops []string
	for _, line := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // a garbled hop: trust nothing left of it
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return ClientKey(a), a
		}
	}
	return ClientKey(peer), peer
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwarded says whether a proxy passed the request on.
func forwarded(r *http.Request) bool {
	h := r.Header
	return h.Get("X-Forwarded-For") != "" || h.Get("Forwarded") != "" || h.Get("X-Real-Ip") != "" || h.Get("X-Forwarded-Host") != ""
}
