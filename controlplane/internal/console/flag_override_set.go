package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/flags/{name}/overrides vendor=<slug> enabled=true|false
//
// Gives one vendor its own value of the flag.
func (h *Handler) flagOverrideSet(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	slug := strings.ToLower(strings.TrimSpace(r.PostForm.Get("vendor")))
	on, ok := parseOnOff(r.PostForm.Get("enabled"))
	fail := func(msg string) error {
		return h.renderFlags(w, r, http.StatusUnprocessableEntity, flagForm{Errors: map[string]string{}},
			&flagFailure{Flag: name, Vendor: slug, Error: msg})
	}
	switch {
	case slug == "":
		return fail("Name the vendor by its slug.")
	case !ok:
		return fail("Choose on or off.")
	}
	if _, err := h.store.Flag(r.Context(), name); err != nil {
		return err
	}
	if _, err := h.store.SetFlagOverride(r.Context(), actor(r), name, slug, on); err != nil {
		if errors.Is(err, platform.ErrNotFound) {
			return fail("There is no live vendor with the slug " + slug + ".")
		}
		return err
	}
	h.flashOK(r.Context(), "The flag %s is %s for %s, whatever its global value.", name, onOff(on), slug)
	return redirect(w, r, "/admin/flags#flag-"+name)
}
