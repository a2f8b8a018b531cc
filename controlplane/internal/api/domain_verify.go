package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// POST /api/v1/vendors/{slug}/domains/{host}/verify: look the domain's TXT
// record up now; answers the domain (state "verified", or "pending" with
// last_check_error saying what was found).
func (h *Handler) domainVerify(w http.ResponseWriter, r *http.Request) error {
	v, err := h.domainVendor(r)
	if err != nil {
		return err
	}
	d, err := h.domains.Verify(r.Context(), actor(r), v, mux.Vars(r)["host"])
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, d)
	return nil
}
