package api

import "net/http"

// GET /api/v1/vendors/{slug}/domains: the vendor's domains, their
// verification state and the TXT record that verifies each custom one.
func (h *Handler) domainList(w http.ResponseWriter, r *http.Request) error {
	v, err := h.domainVendor(r)
	if err != nil {
		return err
	}
	return h.writeDomains(w, r, http.StatusOK, v)
}
