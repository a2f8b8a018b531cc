package console

import (
	"net/http"

	"github.com/gorilla/mux"
)

// domainRoutes declares a vendor's domains page and its actions on the
// signed-in subrouter (docs/domains.md). Every action is audited.
//
//	GET  /admin/vendors/{slug}/domains                 the vendor's domains, their state and TXT records
//	POST /admin/vendors/{slug}/domains                 add a custom domain (host, www=1 for its apex/www partner)
//	POST /admin/vendors/{slug}/domains/{host}/verify   look the TXT record up now
//	POST /admin/vendors/{slug}/domains/{host}/primary  make a verified domain the primary address
//	POST /admin/vendors/{slug}/domains/{host}/remove   remove a custom domain
func (h *Handler) domainRoutes(s *mux.Router) {
	s.Handle("/vendors/{slug}/domains", h.wrap(h.domainList)).Methods(http.MethodGet)
	s.Handle("/vendors/{slug}/domains", h.wrap(h.domainAdd)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/domains/{host}/verify", h.wrap(h.domainVerify)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/domains/{host}/primary", h.wrap(h.domainPrimary)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/domains/{host}/remove", h.wrap(h.domainRemove)).Methods(http.MethodPost)
}
