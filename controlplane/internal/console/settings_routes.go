package console

import (
	"net/http"

	"github.com/gorilla/mux"
)

// settingsRoutes declares the pages of platform settings and feature
// flags on s, the signed-in subrouter (docs/settings.md).
//
//	GET  /admin/settings                              settings, grouped, with help
//	POST /admin/settings/{key}                        save one (validated; a secret is sealed)
//	POST /admin/settings/{key}/clear                  back to its default; a secret is removed
//	GET  /admin/flags                                 feature flags and their overrides
//	POST /admin/flags                                 create a flag
//	POST /admin/flags/{name}                          set its global value (and description)
//	POST /admin/flags/{name}/delete                   delete it with its overrides
//	POST /admin/flags/{name}/overrides                set a vendor's own value
//	POST /admin/flags/{name}/overrides/{slug}/delete  remove a vendor's own value
func (h *Handler) settingsRoutes(s *mux.Router) {
	s.Handle("/settings", h.wrap(h.settingList)).Methods(http.MethodGet)
	s.Handle("/settings/{key}", h.wrap(h.settingSave)).Methods(http.MethodPost)
	s.Handle("/settings/{key}/clear", h.wrap(h.settingClear)).Methods(http.MethodPost)
	s.Handle("/flags", h.wrap(h.flagList)).Methods(http.MethodGet)
	s.Handle("/flags", h.wrap(h.flagCreate)).Methods(http.MethodPost)
	s.Handle("/flags/{name}", h.wrap(h.flagSet)).Methods(http.MethodPost)
	s.Handle("/flags/{name}/delete", h.wrap(h.flagDelete)).Methods(http.MethodPost)
	s.Handle("/flags/{name}/overrides", h.wrap(h.flagOverrideSet)).Methods(http.MethodPost)
	s.Handle("/flags/{name}/overrides/{slug}/delete", h.wrap(h.flagOverrideDelete)).Methods(http.MethodPost)
}
