package api

import (
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/internal/web"
)

// POST /api/v1/alerts/{id}/acknowledge
//
// Says someone is on it; the alert stays unresolved. 409 if it is
// already acknowledged or resolved.
func (h *Handler) alertAcknowledge(w http.ResponseWriter, r *http.Request) error {
	id, err := alertIDFromPath(r)
	if err != nil {
		return err
	}
	a, err := alerts.Acknowledge(r.Context(), h.store, actor(r), id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"alert": a})
	return nil
}
