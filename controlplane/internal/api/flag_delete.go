package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// DELETE /api/v1/flags/{name}
//
// Deletes the flag and its overrides; shops treat it as off from then on.
func (h *Handler) flagDelete(w http.ResponseWriter, r *http.Request) error {
	if err := h.store.DeleteFlag(r.Context(), actor(r), mux.Vars(r)["name"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
