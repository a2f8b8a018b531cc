package console

import (
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/operations"
	"github.com/storefleet/storefleet/internal/web"
)

// operationProgress is what the vendor page's running notice polls.
type operationProgress struct {
	Operation *operations.Operation `json:"operation"`
}

// GET /admin/vendors/{slug}/operation (JSON)
//
// The vendor's newest operation since the control plane started, or null.
func (h *Handler) operationShow(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	var p operationProgress
	if op, ok := h.backups.Ops().ForVendor(v.ID); ok {
		p.Operation = &op
	}
	web.WriteJSON(w, http.StatusOK, p)
	return nil
}
