package api

import (
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/internal/web"
)

// POST /api/v1/alerts/{id}/resolve
//
// Closes an open or acknowledged alert. 409 if it is already resolved.
func (h *Handler) alertResolve(w http.ResponseWriter, r *http.Request) error {
	id, err := alertIDFromPath(r)
	if err != nil {
		return err
	}
	a, err := alerts.Resolve(r.Context(), h.store, actor(r), id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"alert": a})
	return nil
}
