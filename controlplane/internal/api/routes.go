package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/internal/web"
)

// Routes declares every API route on r, the subrouter of /api/v1. Each
// one is described in openapi.json (TestOpenAPICoversRoutes checks).
func (h *Handler) Routes(r *mux.Router) {
	r.Handle("/openapi.json", http.HandlerFunc(serveOpenAPI)).Methods(http.MethodGet)

	s := r.NewRoute().Subrouter()
	s.Use(h.requireToken)
	s.Handle("/vendors", h.wrap(h.vendorList)).Methods(http.MethodGet)
	s.Handle("/vendors", h.wrap(h.vendorCreate)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}", h.wrap(h.vendorShow)).Methods(http.MethodGet)
	s.Handle("/vendors/{slug}", h.wrap(h.vendorDelete)).Methods(http.MethodDelete)
	s.Handle("/vendors/{slug}/suspend", h.wrap(h.vendorSuspend)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/owner-invitation", h.wrap(h.vendorInviteOwner)).Methods(http.MethodPost)
	s.Handle("/marketplace/imports", h.wrap(h.marketplaceImports)).Methods(http.MethodGet)
	s.Handle("/vendors/{slug}/resume", h.wrap(h.vendorResume)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/backups", h.wrap(h.backupList)).Methods(http.MethodGet)
	s.Handle("/vendors/{slug}/backups", h.wrap(h.backupCreate)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/restore", h.wrap(h.vendorRestore)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/move", h.wrap(h.vendorMove)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/operation", h.wrap(h.vendorOperation)).Methods(http.MethodGet)
	h.domainRoutes(s) // a vendor's domains: domain_routes.go
	s.Handle("/backups/{id:[0-9]+}/verify", h.wrap(h.backupVerify)).Methods(http.MethodPost)
	s.Handle("/operations/{id:[0-9]+}", h.wrap(h.operationShow)).Methods(http.MethodGet)
	s.Handle("/migrations", h.wrap(h.migrationList)).Methods(http.MethodGet)
	s.Handle("/migrations/runs/{id:[0-9]+}", h.wrap(h.migrationShow)).Methods(http.MethodGet)
	s.Handle("/migrations/runs/{id:[0-9]+}/resume", h.wrap(h.migrationResume)).Methods(http.MethodPost)
	s.Handle("/alerts", h.wrap(h.alertList)).Methods(http.MethodGet)
	s.Handle("/alerts/{id:[0-9]+}/acknowledge", h.wrap(h.alertAcknowledge)).Methods(http.MethodPost)
	s.Handle("/alerts/{id:[0-9]+}/resolve", h.wrap(h.alertResolve)).Methods(http.MethodPost)
	s.Handle("/audit", h.wrap(h.auditList)).Methods(http.MethodGet)
	h.settingsRoutes(s) // platform settings and feature flags: settings_routes.go
	h.jobRoutes(s)      // River's queues and jobs, retry and discard: job_routes.go
}

// wrap adapts a handler that returns an error, translating the errors of
// the platform libraries into statuses first.
func (h *Handler) wrap(fn web.Handler) http.Handler {
	return h.rs.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		return httperr.From(fn(w, r))
	})
}
