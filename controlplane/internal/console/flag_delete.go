package console

import (
	"net/http"

	"github.com/gorilla/mux"
)

// POST /admin/flags/{name}/delete
//
// Deletes the flag and its overrides; the tenant app treats a flag that
// does not exist as off.
func (h *Handler) flagDelete(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	if err := h.store.DeleteFlag(r.Context(), actor(r), name); err != nil {
		return err
	}
	h.flashOK(r.Context(), "Deleted the flag %s; shops now treat it as off.", name)
	return redirect(w, r, "/admin/flags")
}
