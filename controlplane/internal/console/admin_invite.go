package console

import (
	"errors"
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/internal/mail"
)

// POST /admin/admins/invite
func (h *Handler) adminInvite(w http.ResponseWriter, r *http.Request) error {
	email, role := r.PostForm.Get("email"), r.PostForm.Get("role")
	inv, err := h.admins.Invite(r.Context(), actor(r), email, role)
	if fe, ok := fieldErrors(err); ok {
		return h.renderAdmins(w, r, http.StatusUnprocessableEntity, map[string]any{"InviteEmail": email, "InviteRole": role, "Errors": fe})
	}
	if errors.Is(err, mail.ErrNotConfigured) {
		return h.renderAdmins(w, r, http.StatusUnprocessableEntity, map[string]any{"InviteEmail": email, "InviteRole": role,
			"Errors": map[string]string{"email": "E-mail is not configured (STOREFLEET_SMTP_URL), so no invitation can be sent."}})
	}
	if err != nil {
		return err
	}
	h.flashOK(r.Context(), "Invitation e-mailed to %s. The link works once and expires in %s.", inv.Email, mail.Lifetime(admins.InviteTTL))
	return redirect(w, r, "/admin/admins")
}
