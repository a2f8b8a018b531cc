// Package tenant resolves the vendor a request is for and carries it, with
// that vendor's database pool, through the request's context. It is the
// only way handlers reach a vendor database.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/hostname"
	"github.com/storefleet/storefleet/tenantapp/internal/pools"
	"github.com/storefleet/storefleet/tenantapp/internal/routing"
)

// OldestSchema is the oldest tenant schema version this release serves;
// a vendor still below it gets a maintenance page until migrate-all
// brings it up.
const OldestSchema = 1

// Tenant is the vendor a request is for.
type Tenant struct {
	Entry *routing.Entry
	// Base is the path prefix of the shop's URLs: "" on the vendor's own
	// host, "/vendor/<slug>" on the shared fallback host.
	Base string
	Pool *pgxpool.Pool
}

type ctxKey struct{}

// FromContext returns the request's tenant; handlers behind Middleware
// always have one.
func FromContext(ctx context.Context) *Tenant {
	t, _ := ctx.Value(ctxKey{}).(*Tenant)
	return t
}

// Resolver finds hosts' vendors; routing.Cache is one.
type Resolver interface {
	Lookup(ctx context.Context, host string) (*routing.Entry, error)
	LookupSlug(ctx context.Context, slug string) (*routing.Entry, error)
}

// Pools hands out vendor pools; pools.Manager is one.
type Pools interface {
	Get(ctx context.Context, e *routing.Entry) (*pgxpool.Pool, error)
}

// Middleware resolves the tenant of each request before any handler runs:
// an unknown or malformed host gets a 404 without touching any vendor
// database, a suspended vendor a 503, a vendor whose schema this release
// cannot serve a 503 maintenance page.
type Middleware struct {
	Resolver       Resolver
	Pools          Pools
	TrustedProxies []netip.Prefix
	// FallbackHost is the shared host (the base domain itself) on which
	// shops answer under /vendor/<slug>/ where wildcard names do not resolve.
	FallbackHost string
	Responder    *web.Responder
	Logger       *slog.Logger
	// PublicURL is how shoppers reach a host, with {host} standing for it
	// (config TenantPublicURL); redirects to a pair's primary name are
	// built from it and the control plane's host, never from the request.
	PublicURL string
	// Timeout bounds each request's work from tenant resolution on: its
	// database connects and queries (pgx gives up when the context ends),
	// Redis, the object store. A vendor database that hangs (accepts, never
	// answers) then costs a request Timeout at most, and the request ends
	// in a 503 with Retry-After (web.Unavailable knows
	// context.DeadlineExceeded) instead of waiting for as long as the
	// client does. Zero: no bound.
	Timeout time.Duration
	// LongTimeout replaces Timeout for the requests Long picks: those that
	// stream or run long (uploads, exports, bulk edits). Zero: Timeout.
	LongTimeout time.Duration
	// Long reports whether a request (its path as the shop's routes see
	// it, without the fallback host's /vendor/<slug> prefix) gets
	// LongTimeout. Nil: none does.
	Long func(r *http.Request) bool
}

// Wrap returns h behind tenant resolution.
func (m *Middleware) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := m.withTimeout(r.Context(), m.Timeout) // resolving, pool included
		defer cancel()
		t, r2, err := m.resolve(r.WithContext(ctx))
		if redirected(w, r, err) { // redirect.go
			return
		}
		if err != nil {
			m.Responder.Error(w, r, err)
			return
		}
		if m.Long != nil && m.Long(r2) {
			if m.LongTimeout > m.Timeout {
				// The bound of a long request counts from its start, too.
				cancel()
				ctx, cancel = m.withTimeout(r.Context(), m.LongTimeout)
				defer cancel()
			}
			// Running out of time says little about the database here:
			// it does not trip the vendor's breaker (pools/breaker.go).
			ctx = pools.Patient(ctx)
		}
		web.AddLogAttrs(r.Context(), slog.String("vendor", t.Entry.Slug))
		h.ServeHTTP(w, r2.WithContext(context.WithValue(ctx, ctxKey{}, t)))
	})
}

// withTimeout is ctx bounded by d, or ctx itself if d is zero.
func (m *Middleware) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

var errNoShop = &web.Error{Status: http.StatusNotFound, Message: "There is no shop at this address. Check the spelling of the address, or ask the shop for its link."}

func (m *Middleware) resolve(r *http.Request) (*Tenant, *http.Request, error) {
	host, err := hostname.FromRequest(r, m.TrustedProxies)
	if err != nil {
		return nil, r, &web.Error{Status: http.StatusBadRequest, Message: "This address is not a valid shop address.", Err: err}
	}
	var entry *routing.Entry
	base := ""
	if host == m.FallbackHost {
		slug, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/vendor/"), "/")
		if !strings.HasPrefix(r.URL.Path, "/vendor/") || slug == "" {
			return nil, r, errNoShop
		}
		if !ok {
			return nil, r, &web.Error{Status: http.StatusNotFound, Message: "Shop addresses end with a slash: /vendor/" + slug + "/"}
		}
		entry, err = m.Resolver.LookupSlug(r.Context(), slug)
		base = "/vendor/" + slug
		r = stripPrefix(r, base, "/"+rest)
	} else {
		entry, err = m.Resolver.Lookup(r.Context(), host)
	}
	if errors.Is(err, routing.ErrUnknownHost) {
		return nil, r, errNoShop
	}
	if err != nil {
		return nil, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 5,
			Message: "The shop cannot be reached right now. Please try again in a moment.", Err: err}
	}
	switch entry.State {
	case "active":
	case "suspended":
		return nil, r, &web.Error{Status: http.StatusServiceUnavailable, Message: entry.Name + " is closed at the moment. Please come back later."}
	default: // still being created, or being deleted: not routable
		return nil, r, errNoShop
	}
	if entry.RedirectHost != "" && base == "" { // the other name of an apex and www pair
		return nil, r, m.redirectTo(entry.RedirectHost, r)
	}
	if entry.ReadOnly && !safeMethod(r.Method) {
		return nil, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 30,
			Message: entry.Name + " is undergoing maintenance: you can browse, but changes are paused for a few moments. Please try again shortly."}
	}
	if entry.SchemaVersion < OldestSchema {
		return nil, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 60,
			Message: entry.Name + " is being upgraded. Please come back in a few minutes."}
	}
	pool, err := m.Pools.Get(r.Context(), entry)
	if err != nil {
		retry := 5
		if ue, ok := errors.AsType[*pools.UnreachableError](err); ok { // its database stopped answering moments ago
			retry = int(math.Ceil(ue.RetryAfter.Seconds()))
		}
		return nil, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: retry,
			Message: "The shop cannot be reached right now. Please try again in a moment.", Err: err}
	}
	return &Tenant{Entry: entry, Base: base, Pool: pool}, r, nil
}

// safeMethod reports whether a request only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func stripPrefix(r *http.Request, prefix, rest string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = rest
	u.RawPath = ""
	r2.URL = &u
	_ = prefix
	return r2
}

// AbsURL is an absolute link to path on the vendor's primary domain as the
// control plane knows it (isolation rule 4), for e-mails and redirects that
// leave the request: never the request's Host or X-Forwarded-Host, never
// the shared host's /vendor/<slug> path. publicURL is the tenant app's
// public URL with {host} standing for the vendor's host
// (STOREFLEET_TENANT_PUBLIC_URL, "https://{host}").
func AbsURL(publicURL string, t *Tenant, path string) (string, error) {
	if !strings.Contains(publicURL, "{host}") {
		return "", fmt.Errorf("build a link: the tenant app's public URL %q has no {host}", publicURL)
	}
	if t.Entry.PrimaryHost == "" {
		return "", fmt.Errorf("build a link: vendor %d has no primary domain", t.Entry.VendorID)
	}
	return strings.TrimSuffix(strings.ReplaceAll(publicURL, "{host}", t.Entry.PrimaryHost), "/") + path, nil
}
