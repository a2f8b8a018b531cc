package console

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// POST /admin/vendors/{slug}/domains/{host}/verify
func (h *Handler) domainVerify(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	if h.domains == nil {
		return web.Errorf(http.StatusServiceUnavailable, "Domains are not available in this console.")
	}
	host := mux.Vars(r)["host"]
	d, err := h.domains.Verify(r.Context(), actor(r), v, host)
	if err != nil {
		return err
	}
	if d.Verified() {
		h.flashOK(r.Context(), "%s is verified: it routes to %s now.", host, v.Name)
	} else {
		h.flashError(r.Context(), "%s is not verified yet. %s", host, d.LastCheckError)
	}
	return redirect(w, r, domainsPage(v))
}
