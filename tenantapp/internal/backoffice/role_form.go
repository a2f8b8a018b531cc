package backoffice

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// permChoice is one box of the permission checklist.
type permChoice struct {
	staff.Permission
	Checked bool
	// Locked: the viewer does not hold it and so cannot grant it.
	Locked bool
}

type permGroup struct {
	Area  string
	Perms []permChoice
}

type rolePage struct {
	page
	Role   *staff.Role // nil for a new role
	Input  staff.RoleInput
	Groups []permGroup
	Errors map[string]string
	// InUse lists who holds a role that could not be deleted.
	InUse []string
	// ReadOnly says why the form cannot be saved ("" if it can).
	ReadOnly string
}

// GET /admin/roles/new
func (h *Handler) roleNew(w http.ResponseWriter, r *http.Request) error {
	return h.renderRole(w, r, http.StatusOK, nil, staff.RoleInput{}, nil, nil)
}

// POST /admin/roles: make a custom role.
func (h *Handler) roleCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	in := roleInput(r)
	role, err := staff.CreateRole(ctx, t.Pool, me, in, actor(r, me))
	if err != nil {
		return h.roleError(w, r, nil, in, err)
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("The role %q is ready. Give it to people on the team page.", role.Name))
	http.Redirect(w, r, t.Base+"/admin/roles", http.StatusSeeOther)
	return nil
}

// GET /admin/roles/{id}: a custom role's form, or a built-in role shown.
func (h *Handler) roleEdit(w http.ResponseWriter, r *http.Request) error {
	role, err := h.roleFromPath(r)
	if err != nil {
		return err
	}
	return h.renderRole(w, r, http.StatusOK, role,
		staff.RoleInput{Name: role.Name, Description: role.Description, Permissions: role.Permissions}, nil, nil)
}

// POST /admin/roles/{id}: save a custom role.
func (h *Handler) roleUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	role, err := h.roleFromPath(r)
	if err != nil {
		return err
	}
	in := roleInput(r)
	if err := staff.UpdateRole(ctx, t.Pool, me, role.ID, in, actor(r, me)); err != nil {
		return h.roleError(w, r, role, in, err)
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("The role %q is saved.", in.Name))
	http.Redirect(w, r, t.Base+"/admin/roles", http.StatusSeeOther)
	return nil
}

func roleInput(r *http.Request) staff.RoleInput {
	_ = r.ParseForm()
	return staff.RoleInput{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		Permissions: r.PostForm["permissions"]}
}

func (h *Handler) roleFromPath(r *http.Request) (*staff.Role, error) {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	role, err := staff.RoleByID(r.Context(), tenant.FromContext(r.Context()).Pool, id)
	if errors.Is(err, staff.ErrNotFound) {
		return nil, &web.Error{Status: http.StatusNotFound, Message: "There is no such role (any more).", Err: err}
	}
	return role, err
}

// roleError shows a refused role form again, with the reason.
func (h *Handler) roleError(w http.ResponseWriter, r *http.Request, role *staff.Role, in staff.RoleInput, err error) error {
	var fe *staff.FieldError
	var inUse *staff.RoleInUseError
	switch {
	case errors.As(err, &fe):
		return h.renderRole(w, r, http.StatusUnprocessableEntity, role, in, map[string]string{fe.Field: fe.Message}, nil)
	case errors.As(err, &inUse):
		return h.renderRole(w, r, http.StatusConflict, role, in, nil, inUse.Members)
	case errors.Is(err, staff.ErrNotFound):
		return &web.Error{Status: http.StatusNotFound, Message: "There is no such role (any more).", Err: err}
	}
	return h.teamError(w, r, err)
}

func (h *Handler) renderRole(w http.ResponseWriter, r *http.Request, status int, role *staff.Role, in staff.RoleInput, errs map[string]string, inUse []string) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	known, err := staff.KnownPermissions(ctx, t.Pool)
	if err != nil {
		return err
	}
	title := "New role"
	p := rolePage{page: h.page(r, title), Role: role, Input: in,
		Errors: errs, InUse: inUse}
	var had []string
	if role != nil {
		p.Title, had = role.Name, role.Permissions
		switch {
		case role.Builtin:
			p.ReadOnly = "Built-in roles cannot be changed. To grant a different set of permissions, make a custom role."
		case role.ID == me.RoleID:
			p.ReadOnly = "This is your own role: ask the shop's owner to change it."
		}
	}
	for _, perm := range known {
		c := permChoice{Permission: perm, Checked: slices.Contains(in.Permissions, perm.Name),
			Locked: !me.Can(perm.Name) && !slices.Contains(had, perm.Name)}
		if n := len(p.Groups); n == 0 || p.Groups[n-1].Area != perm.Area {
			p.Groups = append(p.Groups, permGroup{Area: perm.Area})
		}
		g := &p.Groups[len(p.Groups)-1]
		g.Perms = append(g.Perms, c)
	}
	return h.templates.Render(w, status, "admin_role", p)
}
