package console

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/web"
)

// runProgress is what the run page's progress bar polls.
type runProgress struct {
	ID      int64          `json:"id"`
	State   string         `json:"state"`
	Done    int            `json:"done"`
	Total   int            `json:"total"`
	Percent int            `json:"percent"`
	Counts  map[string]int `json:"counts"`
}

// GET /admin/migrations/{id}/progress (JSON)
func (h *Handler) migrationProgress(w http.ResponseWriter, r *http.Request) error {
	id, err := runIDFromPath(r)
	if err != nil {
		return err
	}
	run, err := h.rollouts.Run(r.Context(), id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, runProgress{ID: run.ID, State: run.State, Done: run.Done, Total: run.Total,
		Percent: run.Percent(), Counts: run.Counts})
	return nil
}
