package console

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/platform"
)

// flagForm is the "New flag" form as it was sent, with its errors.
type flagForm struct {
	Name, Description string
	Enabled           bool
	Errors            map[string]string
}

// flagFailure is a refused change to one flag (its override form).
type flagFailure struct {
	Flag, Vendor, Error string
}

// GET /admin/flags
func (h *Handler) flagList(w http.ResponseWriter, r *http.Request) error {
	return h.renderFlags(w, r, http.StatusOK, flagForm{Errors: map[string]string{}}, nil)
}

// renderFlags shows every flag with its overrides, the vendors that may
// get one, and the new-flag form.
func (h *Handler) renderFlags(w http.ResponseWriter, r *http.Request, status int, form flagForm, failed *flagFailure) error {
	flags, err := h.store.Flags(r.Context())
	if err != nil {
		return err
	}
	vendors, err := h.store.ListVendors(r.Context(), platform.VendorFilter{Limit: 1000}) // for the vendor field's suggestions
	if err != nil {
		return err
	}
	var slugs []string
	for _, v := range vendors {
		if v.State != platform.StateDeleted {
			slugs = append(slugs, v.Slug)
		}
	}
	if failed == nil {
		failed = &flagFailure{}
	}
	return h.render(w, r, status, "flag_list", map[string]any{"Title": "Feature flags", "Nav": "flags",
		"Flags": flags, "Vendors": slugs, "Form": form, "Failed": failed})
}
