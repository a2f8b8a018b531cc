package backoffice

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// teamRow is one member on the team page, with what the viewer may do.
type teamRow struct {
	*staff.Member
	Self     bool
	Editable bool // the viewer may change their role, disable or remove them
}

type teamPage struct {
	page
	Rows []teamRow
	// Assignable are the roles the viewer may give (never Owner).
	Assignable []*staff.Role
	InviteTo   string
	InviteRole int64
	Errors     map[string]string
	MailReady  bool
}

// GET /admin/team: who is on the team, and invitations.
func (h *Handler) teamList(w http.ResponseWriter, r *http.Request) error {
	return h.renderTeam(w, r, http.StatusOK, "", 0, nil)
}

// renderTeam shows the team page with an invitation form's values and
// errors.
func (h *Handler) renderTeam(w http.ResponseWriter, r *http.Request, status int, inviteTo string, inviteRole int64, errs map[string]string) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	members, err := staff.List(ctx, t.Pool)
	if err != nil {
		return err
	}
	roles, err := staff.Roles(ctx, t.Pool)
	if err != nil {
		return err
	}
	p := teamPage{page: h.page(r, "Team"),
		InviteTo: inviteTo, InviteRole: inviteRole, Errors: errs, MailReady: h.mail().mailer.Configured()}
	for _, m := range members {
		p.Rows = append(p.Rows, teamRow{Member: m, Self: m.ID == me.ID,
			Editable: !m.IsOwner && m.ID != me.ID && me.HoldsAll(m.Permissions)})
	}
	for _, role := range roles {
		if me.CanAssign(role) {
			p.Assignable = append(p.Assignable, role)
		}
	}
	return h.templates.Render(w, status, "admin_team", p)
}

// memberID is the {id} of a /admin/team/{id}/... route.
func memberID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	return id
}

// teamError turns the staff store's refusals into pages: rules broken by
// a forged or stale form are 403s that say which rule; a conflict goes
// back to the team page with the message.
func (h *Handler) teamError(w http.ResponseWriter, r *http.Request, err error) error {
	var fe *staff.FieldError
	switch {
	case errors.Is(err, staff.ErrOwnerProtected), errors.Is(err, staff.ErrSelf), errors.Is(err, staff.ErrOutranked),
		errors.Is(err, staff.ErrForbidden), errors.Is(err, staff.ErrOwnRole), errors.Is(err, staff.ErrBuiltinRole):
		return &web.Error{Status: http.StatusForbidden, Message: capitalise(err.Error()) + ".", Err: err}
	case errors.Is(err, staff.ErrNotFound):
		return &web.Error{Status: http.StatusNotFound, Message: "There is no such member of the team (any more).", Err: err}
	case errors.Is(err, staff.ErrNotInvited), errors.Is(err, staff.ErrHasHistory):
		h.sessions.Put(r.Context(), keyFlashError, capitalise(err.Error())+".")
		return h.renderTeam(w, r, http.StatusConflict, "", 0, nil)
	case errors.As(err, &fe):
		h.sessions.Put(r.Context(), keyFlashError, fe.Message)
		return h.renderTeam(w, r, http.StatusUnprocessableEntity, "", 0, nil)
	}
	return err
}

// backToTeam ends a successful change: a message, and the team page.
func (h *Handler) backToTeam(w http.ResponseWriter, r *http.Request, msg string) error {
	h.sessions.Put(r.Context(), keyFlash, msg)
	http.Redirect(w, r, tenant.FromContext(r.Context()).Base+"/admin/team", http.StatusSeeOther)
	return nil
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
