package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// domainRoutes declares a vendor's domains (docs/domains.md) on the
// token-authenticated subrouter. Every change is audited.
//
//	GET    /api/v1/vendors/{slug}/domains                 the vendor's domains
//	POST   /api/v1/vendors/{slug}/domains                 add a custom domain {host, www}
//	POST   /api/v1/vendors/{slug}/domains/{host}/verify   look its TXT record up now
//	POST   /api/v1/vendors/{slug}/domains/{host}/primary  make it the primary address
//	DELETE /api/v1/vendors/{slug}/domains/{host}          remove it
func (h *Handler) domainRoutes(s *mux.Router) {
	s.Handle("/vendors/{slug}/domains", h.wrap(h.domainList)).Methods(http.MethodGet)
	s.Handle("/vendors/{slug}/domains", h.wrap(h.domainAdd)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/domains/{host}/verify", h.wrap(h.domainVerify)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/domains/{host}/primary", h.wrap(h.domainPrimary)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/domains/{host}", h.wrap(h.domainRemove)).Methods(http.MethodDelete)
}

// domainsJSON is a vendor's domains as the API shows them.
type domainsJSON struct {
	Vendor  string           `json:"vendor"`
	Domains []domains.Domain `json:"domains"`
}

// domainVendor is the vendor in the path, and the domains service.
func (h *Handler) domainVendor(r *http.Request) (*platform.Vendor, error) {
	if h.domains == nil {
		return nil, web.Errorf(http.StatusServiceUnavailable, "domains are not available on this control plane")
	}
	return h.store.VendorBySlug(r.Context(), mux.Vars(r)["slug"])
}

func (h *Handler) writeDomains(w http.ResponseWriter, r *http.Request, status int, v *platform.Vendor) error {
	list, err := h.domains.List(r.Context(), v.ID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, status, domainsJSON{Vendor: v.Slug, Domains: list})
	return nil
}
