package backoffice

import (
	"net/http"
	"strconv"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// POST /admin/team/{id}/role: give a member another role. Not the owner,
// not oneself, never the Owner role.
func (h *Handler) teamChangeRole(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	roleID, _ := strconv.ParseInt(r.PostFormValue("role_id"), 10, 64)
	if err := staff.ChangeRole(ctx, t.Pool, me, memberID(r), roleID, actor(r, me)); err != nil {
		return h.teamError(w, r, err)
	}
	m, err := staff.ByID(ctx, t.Pool, memberID(r))
	if err != nil {
		return err
	}
	return h.backToTeam(w, r, m.Email+" is now "+m.RoleName+".")
}
