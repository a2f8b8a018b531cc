package console

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// POST /admin/vendors/{slug}/domains/{host}/remove
func (h *Handler) domainRemove(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	if h.domains == nil {
		return web.Errorf(http.StatusServiceUnavailable, "Domains are not available in this console.")
	}
	host := mux.Vars(r)["host"]
	if err := h.domains.Remove(r.Context(), actor(r), v, host); err != nil {
		return err
	}
	h.flashOK(r.Context(), "Removed %s from %s: it no longer routes to the shop.", host, v.Name)
	return redirect(w, r, domainsPage(v))
}
