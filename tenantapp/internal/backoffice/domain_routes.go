package backoffice

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/domains"
)

// VendorDomains is what the back office asks of the control plane about
// the shop's domains, through the router role's functions, which act on
// the vendor given and no other; domains.VendorClient is one.
type VendorDomains interface {
	List(ctx context.Context, vendorID int64) ([]domains.Domain, error)
	Add(ctx context.Context, vendorID int64, input string, withPartner bool, actor string) ([]string, error)
	RequestCheck(ctx context.Context, vendorID int64, host, actor string) error
	Remove(ctx context.Context, vendorID int64, host, actor string) error
	MakePrimary(ctx context.Context, vendorID int64, host, actor string) error
}

// SetDomains gives the back office the control plane's domain functions.
// It returns h, for chaining. Without it, the Domains page says domains
// cannot be managed here.
func (h *Handler) SetDomains(d VendorDomains) *Handler {
	h.domains = d
	return h
}

// domainRoutes declares the Domains page (docs/domains.md) on the
// signed-in subrouter. All need settings.write.
//
//	GET  /admin/domains                  the shop's domains, their state and the TXT records to publish
//	POST /admin/domains                  add a custom domain (host, www=1 for its apex/www partner)
//	POST /admin/domains/{host}/verify    ask the platform to check the TXT record now
//	POST /admin/domains/{host}/primary   make a verified domain the primary address
//	POST /admin/domains/{host}/remove    remove a custom domain
func (h *Handler) domainRoutes(in *mux.Router) {
	in.Handle("/domains", h.can("settings.write", h.domainList)).Methods(http.MethodGet)
	in.Handle("/domains", h.can("settings.write", h.domainAdd)).Methods(http.MethodPost)
	in.Handle("/domains/{host}/verify", h.can("settings.write", h.domainVerify)).Methods(http.MethodPost)
	in.Handle("/domains/{host}/primary", h.can("settings.write", h.domainPrimary)).Methods(http.MethodPost)
	in.Handle("/domains/{host}/remove", h.can("settings.write", h.domainRemove)).Methods(http.MethodPost)
}
