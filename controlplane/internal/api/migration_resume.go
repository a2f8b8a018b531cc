package api

import (
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/internal/web"
)

// POST /api/v1/migrations/runs/{id}/resume
//
// 202 once the resume is under way in the background, with the run and a
// Location to poll; 409 if another rollout holds the lock or the run
// cannot be resumed (only the newest migrate-all run, failed or
// interrupted, can); 404 for an unknown run.
func (h *Handler) migrationResume(w http.ResponseWriter, r *http.Request) error {
	id, err := runIDFromPath(r)
	if err != nil {
		return err
	}
	if err := h.rollouts.Resume(r.Context(), actor(r), id); err != nil {
		return err
	}
	run, err := h.rollouts.Run(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/migrations/runs/%d", id))
	web.WriteJSON(w, http.StatusAccepted, map[string]any{"run": run})
	return nil
}
