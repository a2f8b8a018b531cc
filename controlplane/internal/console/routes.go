package console

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/internal/web"
)

// Routes declares every console route on r, the subrouter of /admin.
//
// The chain for every route: session (scs in Redis) → no-store →
// cross-origin protection → synchronizer CSRF token; the signed-in
// subrouter adds requireAdmin.
func (h *Handler) Routes(r *mux.Router) {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(h.crossOriginDenied))
	r.Use(web.GuardSessions(h.sessions.LoadAndSave), markSession, cop.Handler, h.checkCSRF)

	r.Handle("/login", h.wrap(h.loginForm)).Methods(http.MethodGet)
	r.Handle("/login", h.wrap(h.login)).Methods(http.MethodPost)

	s := r.NewRoute().Subrouter()
	s.Use(h.requireAdmin)
	s.Handle("/", h.wrap(h.dashboard)).Methods(http.MethodGet)
	s.Handle("/logout", h.wrap(h.logout)).Methods(http.MethodPost)

	s.Handle("/vendors", h.wrap(h.vendorList)).Methods(http.MethodGet)
	s.Handle("/vendors", h.wrap(h.vendorCreate)).Methods(http.MethodPost)
	s.Handle("/vendors/new", h.wrap(h.vendorNew)).Methods(http.MethodGet)
	h.vendorPageRoutes(s) // bulk actions, plans, view as vendor: before /vendors/{slug}
	s.Handle("/vendors/id/{id:[0-9]+}", h.wrap(h.vendorShowByID)).Methods(http.MethodGet)
	s.Handle("/vendors/{slug}", h.wrap(h.vendorShow)).Methods(http.MethodGet)
	s.Handle("/vendors/{slug}/suspend", h.wrap(h.vendorSuspend)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/resume", h.wrap(h.vendorResume)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/invite-owner", h.wrap(h.vendorInviteOwner)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/delete", h.wrap(h.vendorDelete)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/backups", h.wrap(h.backupCreate)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/restore", h.wrap(h.vendorRestore)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/move", h.wrap(h.vendorMove)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/operation", h.wrap(h.operationShow)).Methods(http.MethodGet)
	h.domainRoutes(s) // a vendor's domains: domain_routes.go

	s.Handle("/backups", h.wrap(h.backupList)).Methods(http.MethodGet)
	s.Handle("/marketplace", h.wrap(h.marketplace)).Methods(http.MethodGet)
	s.Handle("/backups/{id:[0-9]+}/verify", h.wrap(h.backupVerify)).Methods(http.MethodPost)
	s.Handle("/alerts/{id:[0-9]+}/acknowledge", h.wrap(h.alertAcknowledge)).Methods(http.MethodPost)
	s.Handle("/alerts/{id:[0-9]+}/resolve", h.wrap(h.alertResolve)).Methods(http.MethodPost)

	s.Handle("/migrations", h.wrap(h.migrationList)).Methods(http.MethodGet)
	s.Handle("/migrations/{id:[0-9]+}", h.wrap(h.migrationShow)).Methods(http.MethodGet)
	s.Handle("/migrations/{id:[0-9]+}/progress", h.wrap(h.migrationProgress)).Methods(http.MethodGet)
	s.Handle("/migrations/{id:[0-9]+}/resume", h.wrap(h.migrationResume)).Methods(http.MethodPost)

	s.Handle("/audit", h.wrap(h.auditList)).Methods(http.MethodGet)

	s.Handle("/tokens", h.wrap(h.tokenList)).Methods(http.MethodGet)
	s.Handle("/tokens", h.wrap(h.tokenCreate)).Methods(http.MethodPost)
	s.Handle("/tokens/{id:[0-9]+}/revoke", h.wrap(h.tokenRevoke)).Methods(http.MethodPost)
	h.settingsRoutes(s) // platform settings and feature flags: settings_routes.go

	h.monitoringRoutes(s) // monitoring and jobs: monitoring_routes.go

	h.adminRoutes(r, s) // admins, my account, two-factor sign-in, notifications, audit export: admin_routes.go
}

// wrap adapts a handler that returns an error, translating the errors of
// the platform libraries into statuses first.
func (h *Handler) wrap(fn web.Handler) http.Handler {
	return h.rs.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		return httperr.From(fn(w, r))
	})
}
