package console

import (
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/logout
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a := adminFrom(ctx)
	if err := h.audit(ctx, actor(r), platform.AuditEntry{Action: "admin.logout", TargetType: "admin", TargetID: fmt.Sprint(a.ID)}); err != nil {
		return err
	}
	if h.admins != nil {
		if err := h.admins.EndSession(ctx, admins.SessionKey(h.sessions.Token(ctx)), "signed out"); err != nil {
			return err
		}
	}
	if err := h.sessions.Clear(ctx); err != nil {
		return fmt.Errorf("clear session at sign-out: %w", err)
	}
	if err := h.sessions.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew session at sign-out: %w", err)
	}
	h.flashOK(ctx, "You have signed out.")
	return redirect(w, r, "/admin/login")
}
