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
	m, _, err := staff.ResendInvite(ctx, t.Pool, me, memberID(r), actor(r, me), h.queueInvite(t, inviter(me)))
	if err != nil {
		return h.teamError(w, r, err)
	}
	h.sendQueued(ctx, t)
	return h.backToTeam(w, r, "A new invitation is on its way to "+m.Email+".")
}
