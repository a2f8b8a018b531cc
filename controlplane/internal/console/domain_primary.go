package console

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// POST /admin/vendors/{slug}/domains/{host}/primary
func (h *Handler) domainPrimary(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	if h.domains == nil {
		return web.Errorf(http.StatusServiceUnavailable, "Domains are not available in this console.")
	}
	host := mux.Vars(r)["host"]
	if err := h.domains.MakePrimary(r.Context(), actor(r), v, host); err != nil {
		return err
	}
	h.flashOK(r.Context(), "%s is the primary address of %s: links in its e-mails use it.", host, v.Name)
	return redirect(w, r, domainsPage(v))
}
