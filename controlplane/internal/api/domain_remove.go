package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// DELETE /api/v1/vendors/{slug}/domains/{host}: remove a custom domain;
// 204.
func (h *Handler) domainRemove(w http.ResponseWriter, r *http.Request) error {
	v, err := h.domainVendor(r)
	if err != nil {
		return err
	}
	if err := h.domains.Remove(r.Context(), actor(r), v, mux.Vars(r)["host"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
