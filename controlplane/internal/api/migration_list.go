package api

import (
	"net/http"
	"strconv"

	"github.com/storefleet/storefleet/controlplane/internal/rollouts"
	"github.com/storefleet/storefleet/internal/rollout"
	"github.com/storefleet/storefleet/internal/web"
)

// migrationsJSON is where every vendor's schema stands and the newest runs.
type migrationsJSON struct {
	Status *rollout.Status `json:"status"`
	Runs   []rollouts.Run  `json:"runs"`
}

// GET /api/v1/migrations?limit=
func (h *Handler) migrationList(w http.ResponseWriter, r *http.Request) error {
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return web.FieldError("limit", "limit must be a whole number from 1 to 500")
		}
		limit = n
	}
	st, err := h.rollouts.Status(r.Context())
	if err != nil {
		return err
	}
	runs, err := h.rollouts.Runs(r.Context(), limit)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, migrationsJSON{Status: st, Runs: runs})
	return nil
}
