package backoffice

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// roleRow is a role with its permissions described.
type roleRow struct {
	*staff.Role
	Perms []staff.Permission
	// Editable: a custom role that is not the viewer's own.
	Editable bool
}

type rolesPage struct {
	page
	Builtin []roleRow
	Custom  []roleRow
}

// GET /admin/roles: the built-in roles (read-only) and the shop's own.
func (h *Handler) roleList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	roles, err := staff.Roles(ctx, t.Pool)
	if err != nil {
		return err
	}
	p := rolesPage{page: h.page(r, "Roles")}
	for _, role := range roles {
		row := roleRow{Role: role, Perms: staff.Describe(role.Permissions), Editable: !role.Builtin && role.ID != me.RoleID}
		if role.Builtin {
			p.Builtin = append(p.Builtin, row)
		} else {
			p.Custom = append(p.Custom, row)
		}
	}
	return h.templates.Render(w, http.StatusOK, "admin_roles", p)
}
