package api

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// ReadOnlyMessage answers a change asked for with a support admin's token.
const ReadOnlyMessage = "this token's admin has the support role, which is read-only: GET requests only; ask a super admin to make the change"

// allowRole lets a token act with its admin's role: a support admin's
// token may read (GET, HEAD) and nothing else. It answers 403 itself and
// returns false when the request stops.
func (h *Handler) allowRole(w http.ResponseWriter, r *http.Request, a *platform.Admin) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if a.CanChange() {
		return true
	}
	h.rs.Error(w, r, web.Errorf(http.StatusForbidden, ReadOnlyMessage))
	return false
}
