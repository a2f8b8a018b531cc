package api

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// flagRequest is the body of PUT /flags/{name}.
type flagRequest struct {
	Enabled     *bool   `json:"enabled"`
	Description *string `json:"description"`
}

// PUT /api/v1/flags/{name} {enabled, description}
//
// Creates the flag (201) or sets its global value (200); description, if
// given, replaces the flag's.
func (h *Handler) flagSet(w http.ResponseWriter, r *http.Request) error {
	var req flagRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Enabled == nil {
		return web.FieldError("enabled", "enabled is required: true or false")
	}
	f, created, err := h.store.SetFlag(r.Context(), actor(r), mux.Vars(r)["name"], *req.Enabled, req.Description)
	if err != nil {
		return flagError(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	web.WriteJSON(w, status, f)
	return nil
}

// flagError turns a refused name or description into a 422.
func flagError(err error) error {
	var se *platform.SettingError
	if errors.As(err, &se) {
		return web.FieldError(se.Key, se.Key+" "+se.Message)
	}
	return err
}
