package console

import (
	"net/http"
	"net/url"

	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// domainForm is what the add form was sent with.
type domainForm struct {
	Host string
	WWW  bool
}

// GET /admin/vendors/{slug}/domains
func (h *Handler) domainList(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	return h.renderDomains(w, r, http.StatusOK, v, domainForm{WWW: true}, nil)
}

func (h *Handler) renderDomains(w http.ResponseWriter, r *http.Request, status int, v *platform.Vendor, form domainForm, errs map[string]string) error {
	if h.domains == nil {
		return web.Errorf(http.StatusServiceUnavailable, "Domains are not available in this console.")
	}
	list, err := h.domains.List(r.Context(), v.ID)
	if err != nil {
		return err
	}
	pending := false
	for _, d := range list {
		if d.State == domains.StatePending {
			pending = true
		}
	}
	return h.render(w, r, status, "vendor_domains", map[string]any{
		"V": v, "Domains": list, "Form": form, "Errors": errs, "Pending": pending,
	})
}

// domainsPage is where a vendor's domain actions return to.
func domainsPage(v *platform.Vendor) string {
	return "/admin/vendors/" + url.PathEscape(v.Slug) + "/domains"
}
