package backoffice

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// POST /admin/team/{id}/resend: a new invitation link (the old one stops
// working).
func (h *Handler) teamResend(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	m, token, err := staff.ResendInvite(ctx, t.Pool, me, memberID(r), actor(r, me))
	if err != nil {
		return h.teamError(w, r, err)
	}
	if err := h.sendInvite(ctx, t, m.Email, m.RoleName, inviter(me), token); err != nil {
		h.log.Warn("cannot e-mail an invitation", "vendor", t.Entry.Slug, "staff_id", m.ID, "err", err)
		h.sessions.Put(ctx, keyFlashError, "We could not send the invitation e-mail to "+m.Email+". Try again in a moment.")
		http.Redirect(w, r, t.Base+"/admin/team", http.StatusSeeOther)
		return nil
	}
	return h.backToTeam(w, r, "A new invitation is on its way to "+m.Email+".")
}
