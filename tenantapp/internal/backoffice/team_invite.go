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
// link to choose their password, by an e-mail queued with the invitation
// (the vendor's outbox, sent by the control plane's job system).
func (h *Handler) teamInvite(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	email := strings.TrimSpace(r.PostFormValue("email"))
	roleID, _ := strconv.ParseInt(r.PostFormValue("role_id"), 10, 64)
	m, _, err := staff.Invite(ctx, t.Pool, me, email, roleID, actor(r, me), h.queueInvite(t, inviter(me)))
	var fe *staff.FieldError
	if errors.As(err, &fe) {
		return h.renderTeam(w, r, http.StatusUnprocessableEntity, email, roleID, map[string]string{fe.Field: fe.Message})
	}
	if err != nil {
		return h.teamError(w, r, err)
	}
	h.sendQueued(ctx, t)
	return h.backToTeam(w, r, "Invitation sent to "+m.Email+".")
}

// inviter is how an invitation names the person who sent it.
func inviter(m *staff.Member) string {
	if m.Name != "" {
		return m.Name
	}
	return m.Email
}
