package console

import (
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
)

// POST /admin/account/password
//
// Needs the current password; the admin's other sessions end.
func (h *Handler) accountPassword(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	next, confirm := r.PostForm.Get("password"), r.PostForm.Get("password_confirm")
	if next != confirm {
		return h.renderAccount(w, r, http.StatusUnprocessableEntity, map[string]any{
			"Errors": map[string]string{"password_confirm": "The two new passwords differ; type the same one twice."}})
	}
	err := h.admins.ChangePassword(ctx, actor(r), adminFrom(ctx).ID, r.PostForm.Get("current_password"), next,
		admins.SessionKey(h.sessions.Token(ctx)))
	if fe, ok := fieldErrors(err); ok {
		return h.renderAccount(w, r, http.StatusUnprocessableEntity, map[string]any{"Errors": fe})
	}
	if err != nil {
		return err
	}
	h.flashOK(ctx, "Your password is changed. Your other sessions were signed out.")
	return redirect(w, r, "/admin/account")
}
