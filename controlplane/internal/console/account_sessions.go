package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/account/sessions/{id}/revoke
//
// Ends one of the admin's own sessions: it is deleted from the session
// store, so its next request is sent to sign in.
func (h *Handler) accountSessionRevoke(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r, "session")
	if err != nil {
		return err
	}
	err = h.admins.RevokeSession(ctx, actor(r), adminFrom(ctx).ID, id)
	switch {
	case errors.Is(err, platform.ErrNotFound):
		h.flashError(ctx, "That session has ended already.")
	case err != nil:
		return err
	default:
		h.flashOK(ctx, "The session is signed out.")
	}
	return redirect(w, r, "/admin/account")
}

// POST /admin/account/sessions/revoke-others
func (h *Handler) accountSessionsRevokeOthers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a := adminFrom(ctx)
	n, err := h.admins.EndSessions(ctx, a.ID, admins.SessionKey(h.sessions.Token(ctx)), "signed out by "+a.Email)
	if err != nil {
		return err
	}
	if err := h.audit(ctx, actor(r), platform.AuditEntry{Action: "admin.sessions_revoke", TargetType: "admin",
		TargetID: strconv.FormatInt(a.ID, 10), After: map[string]any{"sessions": n}}); err != nil {
		return err
	}
	h.flashOK(ctx, "Signed out of %d other session(s).", n)
	return redirect(w, r, "/admin/account")
}
