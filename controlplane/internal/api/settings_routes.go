package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// settingsRoutes declares the platform settings and feature flags on s,
// the token-checked subrouter (docs/settings.md).
//
//	GET    /api/v1/settings                       every setting (a secret only says whether it is set)
//	PUT    /api/v1/settings/{key}                 save one {value}
//	DELETE /api/v1/settings/{key}                 back to its default; a secret is removed
//	GET    /api/v1/flags                          every flag with its overrides
//	GET    /api/v1/flags/{name}                   one flag
//	PUT    /api/v1/flags/{name}                   create it or set its global value {enabled, description}
//	DELETE /api/v1/flags/{name}                   delete it with its overrides
//	PUT    /api/v1/flags/{name}/vendors/{slug}    a vendor's own value {enabled}
//	DELETE /api/v1/flags/{name}/vendors/{slug}    the vendor follows the global value again
func (h *Handler) settingsRoutes(s *mux.Router) {
	s.Handle("/settings", h.wrap(h.settingList)).Methods(http.MethodGet)
	s.Handle("/settings/{key}", h.wrap(h.settingSave)).Methods(http.MethodPut)
	s.Handle("/settings/{key}", h.wrap(h.settingClear)).Methods(http.MethodDelete)
	s.Handle("/flags", h.wrap(h.flagList)).Methods(http.MethodGet)
	s.Handle("/flags/{name}", h.wrap(h.flagShow)).Methods(http.MethodGet)
	s.Handle("/flags/{name}", h.wrap(h.flagSet)).Methods(http.MethodPut)
	s.Handle("/flags/{name}", h.wrap(h.flagDelete)).Methods(http.MethodDelete)
	s.Handle("/flags/{name}/vendors/{slug}", h.wrap(h.flagOverrideSet)).Methods(http.MethodPut)
	s.Handle("/flags/{name}/vendors/{slug}", h.wrap(h.flagOverrideDelete)).Methods(http.MethodDelete)
}
