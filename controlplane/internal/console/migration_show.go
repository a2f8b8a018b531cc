package console

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/platform"
)

// runIDFromPath is the run id in the URL.
func runIDFromPath(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("run id %q: %w", mux.Vars(r)["id"], platform.ErrNotFound)
	}
	return id, nil
}

// GET /admin/migrations/{id}
//
// One rollout with every vendor's result, failures first. While it runs,
// a progress bar follows it (Alpine.js polls migrationProgress; without
// JavaScript the page has a Refresh link).
func (h *Handler) migrationShow(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := runIDFromPath(r)
	if err != nil {
		return err
	}
	run, err := h.rollouts.Run(ctx, id)
	if err != nil {
		return err
	}
	results, err := h.rollouts.Results(ctx, id)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "migration_show", map[string]any{
		"Title": fmt.Sprintf("Rollout run %d", id), "Nav": "migrations", "Run": run, "Results": results,
	})
}
