package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/rollouts"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/rollout"
	"github.com/storefleet/storefleet/internal/web"
)

// runJSON is one run with every vendor's result, failures first.
type runJSON struct {
	Run     *rollouts.Run    `json:"run"`
	Results []rollout.Result `json:"results"`
}

// runIDFromPath is the run id in the URL.
func runIDFromPath(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("run id %q: %w", mux.Vars(r)["id"], platform.ErrNotFound)
	}
	return id, nil
}

// GET /api/v1/migrations/runs/{id}
func (h *Handler) migrationShow(w http.ResponseWriter, r *http.Request) error {
	id, err := runIDFromPath(r)
	if err != nil {
		return err
	}
	run, err := h.rollouts.Run(r.Context(), id)
	if err != nil {
		return err
	}
	results, err := h.rollouts.Results(r.Context(), id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, runJSON{Run: run, Results: results})
	return nil
}
