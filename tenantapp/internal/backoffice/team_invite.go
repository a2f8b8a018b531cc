package backoffice

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// POST /admin/team/invite: add someone by e-mail with a role; they get a
// link to choose their password.
func (h *Handler) teamInvite(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	email := strings.TrimSpace(r.PostFormValue("email"))
	roleID, _ := strconv.ParseInt(r.PostFormValue("role_id"), 10, 64)
	m, token, err := staff.Invite(ctx, t.Pool, me, email, roleID, actor(r, me))
	var fe *staff.FieldError
	if errors.As(err, &fe) {
		return h.renderTeam(w, r, http.StatusUnprocessableEntity, email, roleID, map[string]string{fe.Field: fe.Message})
	}
	if err != nil {
		return h.teamError(w, r, err)
	}
	if err := h.sendInvite(ctx, t, m.Email, m.RoleName, inviter(me), token); err != nil {
		h.log.Warn("cannot e-mail an invitation", "vendor", t.Entry.Slug, "staff_id", m.ID, "err", err)
		h.sessions.Put(ctx, keyFlashError, "We added "+m.Email+" to the team but could not send the invitation e-mail. Try \"Resend invitation\" in a moment.")
		http.Redirect(w, r, t.Base+"/admin/team", http.StatusSeeOther)
		return nil
	}
	return h.backToTeam(w, r, "Invitation sent to "+m.Email+".")
}

// inviter is how an invitation names the person who sent it.
func inviter(m *staff.Member) string {
	if m.Name != "" {
		return m.Name
	}
	return m.Email
}
