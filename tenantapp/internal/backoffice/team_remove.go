package backoffice

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// POST /admin/team/{id}/remove: take someone off the team for good.
func (h *Handler) teamRemove(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	m, err := staff.ByID(ctx, t.Pool, memberID(r))
	if err != nil {
		return h.teamError(w, r, err)
	}
	if err := staff.Remove(ctx, t.Pool, me, m.ID, actor(r, me)); err != nil {
		return h.teamError(w, r, err)
	}
	return h.backToTeam(w, r, m.Email+" is no longer on the team.")
}
