package console

import (
	"errors"
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
)

// POST /admin/admins/{id}/totp-reset
//
// For an admin who lost their authenticator and recovery codes: turns
// two-factor sign-in off, so they sign in with their password and set it
// up again.
func (h *Handler) adminTOTPReset(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "admin")
	if err != nil {
		return err
	}
	if id == adminFrom(r.Context()).ID {
		h.flashError(r.Context(), "Turn your own two-factor sign-in off under My account.")
		return redirect(w, r, "/admin/admins")
	}
	a, err := h.store.AdminByID(r.Context(), id)
	if err != nil {
		return err
	}
	err = h.admins.DisableTOTP(r.Context(), actor(r), id)
	if errors.Is(err, admins.ErrNoTOTP) {
		h.flashError(r.Context(), "Two-factor sign-in is not on for %s: there is nothing to reset.", a.Email)
		return redirect(w, r, "/admin/admins")
	}
	if err != nil {
		return err
	}
	h.flashOK(r.Context(), "Two-factor sign-in is off for %s; they should set it up again under My account.", a.Email)
	return redirect(w, r, "/admin/admins")
}
