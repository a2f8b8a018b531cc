package backoffice

import (
	"net/http"

	"github.com/gorilla/mux"
)

// notifyRoutes declares the shop's e-mail pages on the signed-in
// subrouter: the log of what was sent (orders.read, since it lists
// customers' addresses and orders; sending a failed one again is
// orders.write) and the templates the shop edits (settings.write).
func (h *Handler) notifyRoutes(in *mux.Router) {
	in.Handle("/notifications", h.can("orders.read", h.notifyList)).Methods(http.MethodGet)
	in.Handle("/notifications/{id:[0-9]{1,18}}/retry", h.can("orders.write", h.notifyRetry)).Methods(http.MethodPost)

	in.Handle("/notifications/templates", h.can("settings.write", h.notifyTemplates)).Methods(http.MethodGet)
	// {kind} takes any word so that an unknown kind is a 404 after the
	// permission check, not a 404 before it.
	in.Handle("/notifications/templates/{kind:[a-z0-9_]{1,40}}", h.can("settings.write", h.notifyTemplateForm)).Methods(http.MethodGet)
	in.Handle("/notifications/templates/{kind:[a-z0-9_]{1,40}}", h.can("settings.write", h.notifyTemplateSave)).Methods(http.MethodPost)
	in.Handle("/notifications/templates/{kind:[a-z0-9_]{1,40}}/preview", h.can("settings.write", h.notifyTemplatePreview)).Methods(http.MethodPost)
	in.Handle("/notifications/templates/{kind:[a-z0-9_]{1,40}}/reset", h.can("settings.write", h.notifyTemplateReset)).Methods(http.MethodPost)
}
