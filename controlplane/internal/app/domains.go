package app

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/tlsask"
	"github.com/storefleet/storefleet/internal/domains"
)

// domainService is the vendors' domains over the platform store, with
// the resolver Main was given (DNS by default). It is made once per Open.
func (m *Main) domainService() *domains.Service {
	if m.domains == nil {
		m.domains = domains.New(domains.Options{Store: m.Platform.Store, Resolver: m.DomainResolver,
			BaseDomain: m.Config.BaseDomain, Logger: m.Logger})
		m.closers = append(m.closers, func() { m.domains = nil })
	}
	return m.domains
}

// tlsAskRoute declares GET /tls/ask?domain=<host>, Caddy's on-demand TLS
// ask (docs/domains.md): no session, rate-limited per client address.
func (m *Main) tlsAskRoute(r *mux.Router) {
	r.Handle("/tls/ask", &tlsask.Handler{Domains: m.domainService(), Redis: m.Redis,
		KeyPrefix: "sf:" + m.Config.Prefix + ":cp:tlsask:", Limit: m.TLSAskLimit, Logger: m.Logger}).
		Methods(http.MethodGet, http.MethodHead)
}
