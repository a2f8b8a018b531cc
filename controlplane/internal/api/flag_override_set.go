package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// overrideRequest is the body of PUT /flags/{name}/vendors/{slug}.
type overrideRequest struct {
	Enabled *bool `json:"enabled"`
}

// PUT /api/v1/flags/{name}/vendors/{slug} {enabled}
//
// Gives a live vendor its own value of the flag; answers the flag.
func (h *Handler) flagOverrideSet(w http.ResponseWriter, r *http.Request) error {
	var req overrideRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Enabled == nil {
		return web.FieldError("enabled", "enabled is required: true or false")
	}
	v := mux.Vars(r)
	f, err := h.store.SetFlagOverride(r.Context(), actor(r), v["name"], v["slug"], *req.Enabled)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, f)
	return nil
}
