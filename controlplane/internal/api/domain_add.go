package api

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/web"
)

// domainAddRequest is the body of an added domain.
type domainAddRequest struct {
	Host string `json:"host"`
	// WWW also adds the apex or www partner of host, which redirects to it.
	WWW bool `json:"www"`
}

// POST /api/v1/vendors/{slug}/domains {host, www}: 201 with the vendor's
// domains.
func (h *Handler) domainAdd(w http.ResponseWriter, r *http.Request) error {
	v, err := h.domainVendor(r)
	if err != nil {
		return err
	}
	var req domainAddRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if _, err := h.domains.Add(r.Context(), actor(r), v, req.Host, req.WWW); err != nil {
		return err
	}
	return h.writeDomains(w, r, http.StatusCreated, v)
}
