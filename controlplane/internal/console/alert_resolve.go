package console

import (
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
)

// POST /admin/alerts/{id}/resolve
//
// Closes the alert: the cause is dealt with.
func (h *Handler) alertResolve(w http.ResponseWriter, r *http.Request) error {
	return h.alertChange(w, r, alerts.Resolve, "Alert %d is resolved.")
}
