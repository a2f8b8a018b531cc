package console

import "net/http"

// vendorForm is what the vendor form holds.
type vendorForm struct {
	Slug, Name, OwnerEmail string
}

// GET /admin/vendors/new
func (h *Handler) vendorNew(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, "vendor_new", map[string]any{
		"Title": "New vendor", "Nav": "vendors", "Form": vendorForm{}, "Errors": map[string]string{},
	})
}
