package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// POST /api/v1/vendors/{slug}/domains/{host}/primary: make a verified
// domain the vendor's primary address; answers the vendor's domains.
func (h *Handler) domainPrimary(w http.ResponseWriter, r *http.Request) error {
	v, err := h.domainVendor(r)
	if err != nil {
		return err
	}
	if err := h.domains.MakePrimary(r.Context(), actor(r), v, mux.Vars(r)["host"]); err != nil {
		return err
	}
	return h.writeDomains(w, r, http.StatusOK, v)
}
