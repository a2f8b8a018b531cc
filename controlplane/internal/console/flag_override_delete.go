package console

import (
	"net/http"

	"github.com/gorilla/mux"
)

// POST /admin/flags/{name}/overrides/{slug}/delete
//
// The vendor follows the flag's global value again.
func (h *Handler) flagOverrideDelete(w http.ResponseWriter, r *http.Request) error {
	name, slug := mux.Vars(r)["name"], mux.Vars(r)["slug"]
	f, err := h.store.DeleteFlagOverride(r.Context(), actor(r), name, slug)
	if err != nil {
		return err
	}
	h.flashOK(r.Context(), "%s follows the global value of %s again (%s).", slug, name, onOff(f.Enabled))
	return redirect(w, r, "/admin/flags#flag-"+name)
}
