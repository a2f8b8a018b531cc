package app

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/static"
)

// routes declares the control plane's top level; the console's routes are
// in console/routes.go and the API's in api/routes.go.
//
//	GET  /                 → /admin/
//	GET  /healthz          the process runs
//	GET  /readyz           database and object store answer (Redis: "degraded" if not)
//	GET  /metrics          Prometheus, for loopback or STOREFLEET_METRICS_TOKEN
//	GET  /static/...       style sheets and scripts (long-cached)
//	     /admin/...        the admin console (session + CSRF + requireAdmin)
//	     /api/v1/...       the admin API (requireToken)
//	POST /webhooks/stripe  Stripe Connect events (signed by Stripe)
//
// Every request passes WithRequestID → WithLogging → WithSecureHeaders →
// withDeadlines (STOREFLEET_REQUEST_TIMEOUT, or
// STOREFLEET_LONG_REQUEST_TIMEOUT for the routes timeouts.go lists).
func (m *Main) routes() (http.Handler, error) {
	cons, apiHandler, rs, err := m.consoleAndAPI()
	if err != nil {
		return nil, err
	}
	prom, err := m.observe(cons, apiHandler) // Monitoring and Jobs pages, /metrics (issue 8, metrics.go)
	if err != nil {
		return nil, err
	}
	r := mux.NewRouter()
	r.NotFoundHandler = rs.Wrap(func(http.ResponseWriter, *http.Request) error {
		return web.Errorf(http.StatusNotFound, "There is no page at this address.")
	})
	r.MethodNotAllowedHandler = rs.Wrap(func(http.ResponseWriter, *http.Request) error {
		return web.Errorf(http.StatusMethodNotAllowed, "This address does not take that method.")
	})

	r.Handle("/", http.RedirectHandler("/admin/", http.StatusFound)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/healthz", web.Healthz).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/readyz", m.readyz()).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", prom.Handler(m.Config.MetricsToken)).Methods(http.MethodGet) // loopback or STOREFLEET_METRICS_TOKEN
	r.PathPrefix("/static/").Handler(staticFiles()).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently)).Methods(http.MethodGet, http.MethodHead)

	// Stripe Connect platform webhook (issue 7): signed by Stripe, no session; see controlplane/internal/stripehook.
	hook, err := m.stripeHook()
	if err != nil {
		return nil, err
	}
	r.Handle("/webhooks/stripe", hook).Methods(http.MethodPost)
	m.tlsAskRoute(r) // GET /tls/ask?domain=<host>: Caddy's on-demand TLS ask (domains.go)

	cons.Routes(r.PathPrefix("/admin").Subrouter())
	apiHandler.Routes(r.PathPrefix("/api/v1").Subrouter())

	return prom.Instrument(web.WithRequestID(web.WithLogging(m.Logger, web.WithSecureHeaders(
		withDeadlines(m.Config.RequestTimeout, m.Config.LongRequestTimeout, r)))), nil, r), nil // issue 8
}

// readyz checks every service the control plane cannot work without.
func (m *Main) readyz() http.Handler {
	p, rdb := m.Platform, m.Redis
	return web.Readyz(
		web.Check{Name: "controlplane_db", Ping: func(ctx context.Context) error { return p.Store.Pool().Ping(ctx) }},
		// optional: only console sessions need it (redisdown.go)
		web.Check{Name: "redis", Optional: true, Ping: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		web.Check{Name: "object_store", Ping: func(ctx context.Context) error { return p.Objects.Ping(ctx) }},
	)
}

// staticFiles serves static.FS. Pages link files with ?v=<content hash>,
// so those answers may be cached for a year.
func staticFiles() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(static.FS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=86400")
		}
		files.ServeHTTP(w, r)
	})
}
