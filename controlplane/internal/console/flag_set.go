package console

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// POST /admin/flags/{name} enabled=true|false [description=...]
//
// Sets the flag's global value; vendors with an override keep theirs.
func (h *Handler) flagSet(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	on, ok := parseOnOff(r.PostForm.Get("enabled"))
	if !ok {
		return web.FieldError("enabled", "Choose on or off.")
	}
	if _, err := h.store.Flag(r.Context(), name); err != nil {
		return err
	}
	var desc *string
	if r.PostForm.Has("description") {
		d := r.PostForm.Get("description")
		desc = &d
	}
	f, _, err := h.store.SetFlag(r.Context(), actor(r), name, on, desc)
	if err != nil {
		return err
	}
	msg := "The flag %s is %s for every vendor"
	if n := len(f.Overrides); n > 0 {
		h.flashOK(r.Context(), msg+" but the %d with an override.", name, onOff(on), n)
	} else {
		h.flashOK(r.Context(), msg+".", name, onOff(on))
	}
	return redirect(w, r, "/admin/flags#flag-"+name)
}
