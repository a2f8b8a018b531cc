package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// DELETE /api/v1/flags/{name}/vendors/{slug}
//
// The vendor follows the flag's global value again; answers the flag.
func (h *Handler) flagOverrideDelete(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	f, err := h.store.DeleteFlagOverride(r.Context(), actor(r), v["name"], v["slug"])
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, f)
	return nil
}
