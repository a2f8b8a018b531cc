package backoffice

import (
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// POST /admin/roles/{id}/delete: delete a custom role no one holds; if
// people hold it, the form says who.
func (h *Handler) roleDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	role, err := h.roleFromPath(r)
	if err != nil {
		return err
	}
	if err := staff.DeleteRole(ctx, t.Pool, me, role.ID, actor(r, me)); err != nil {
		return h.roleError(w, r, role, staff.RoleInput{Name: role.Name, Description: role.Description, Permissions: role.Permissions}, err)
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("The role %q is deleted.", role.Name))
	http.Redirect(w, r, t.Base+"/admin/roles", http.StatusSeeOther)
	return nil
}
