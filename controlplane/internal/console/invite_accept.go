package console

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// GET /admin/invite/{token}
func (h *Handler) inviteAcceptForm(w http.ResponseWriter, r *http.Request) error {
	inv, err := h.admins.InviteByToken(r.Context(), mux.Vars(r)["token"])
	if errors.Is(err, admins.ErrInviteInvalid) {
		return h.render(w, r, http.StatusNotFound, "invite_accept", map[string]any{"Title": "Invitation", "Invalid": true})
	}
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "invite_accept", map[string]any{"Title": "Accept the invitation", "Invite": inv,
		"RoleLabel": platform.RoleLabel(inv.Role), "Errors": map[string]string{}})
}

// POST /admin/invite/{token}
//
// Sets the new admin's name and password; they then sign in (and can set
// up two-factor sign-in under My account).
func (h *Handler) inviteAccept(w http.ResponseWriter, r *http.Request) error {
	token := mux.Vars(r)["token"]
	name := r.PostForm.Get("name")
	a, err := h.admins.AcceptInvite(r.Context(), token, name, r.PostForm.Get("password"), web.ClientAddr(r), web.RequestID(r.Context()))
	if errors.Is(err, admins.ErrInviteInvalid) {
		return h.render(w, r, http.StatusNotFound, "invite_accept", map[string]any{"Title": "Invitation", "Invalid": true})
	}
	if fe, ok := fieldErrors(err); ok {
		inv, ierr := h.admins.InviteByToken(r.Context(), token)
		if ierr != nil {
			return ierr
		}
		return h.render(w, r, http.StatusUnprocessableEntity, "invite_accept", map[string]any{"Title": "Accept the invitation",
			"Invite": inv, "RoleLabel": platform.RoleLabel(inv.Role), "Name": name, "Errors": fe})
	}
	if err != nil {
		return err
	}
	h.flashOK(r.Context(), "Welcome, %s. Sign in with your e-mail and new password.", a.Name)
	return redirect(w, r, "/admin/login")
}
