package console

import (
	"context"
	"errors"
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/internal/auth"
)

// POST /admin/account/totp/setup
//
// Makes a new secret and shows it as a QR code and as text; two-factor
// sign-in is on only once a code from the app confirms it.
func (h *Handler) accountTOTPSetup(w http.ResponseWriter, r *http.Request) error {
	en, err := h.admins.BeginTOTP(r.Context(), actor(r), adminFrom(r.Context()))
	if err != nil {
		return err
	}
	return h.renderAccount(w, r, http.StatusOK, map[string]any{"Enrolment": en})
}

// POST /admin/account/totp/confirm
//
// Turns two-factor sign-in on and shows the recovery codes, once.
func (h *Handler) accountTOTPConfirm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	codes, err := h.admins.ConfirmTOTP(ctx, actor(r), adminFrom(ctx).ID, r.PostForm.Get("code"))
	if errors.Is(err, admins.ErrNoTOTP) {
		h.flashError(ctx, "Start the set-up again: there is no new secret waiting for a code.")
		return redirect(w, r, "/admin/account")
	}
	if fe, ok := fieldErrors(err); ok {
		return h.renderAccount(w, r, http.StatusUnprocessableEntity, map[string]any{"Errors": fe})
	}
	if err != nil {
		return err
	}
	a, err := h.store.AdminByID(ctx, adminFrom(ctx).ID) // now with two-factor sign-in on
	if err != nil {
		return err
	}
	h.flashOK(ctx, "Two-factor sign-in is on: from now on you sign in with your password and a code from your app.")
	r = r.WithContext(context.WithValue(ctx, adminKey, a))
	return h.renderAccount(w, r, http.StatusOK, map[string]any{"RecoveryCodes": codes})
}

// POST /admin/account/totp/disable
//
// Needs the current password.
func (h *Handler) accountTOTPDisable(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if ok, err := h.checkOwnPassword(r); err != nil {
		return err
	} else if !ok {
		return h.renderAccount(w, r, http.StatusUnprocessableEntity, map[string]any{"Errors": map[string]string{"disable_password": wrongPassword}})
	}
	err := h.admins.DisableTOTP(ctx, actor(r), adminFrom(ctx).ID)
	if errors.Is(err, admins.ErrNoTOTP) {
		h.flashError(ctx, "Two-factor sign-in is not on.")
		return redirect(w, r, "/admin/account")
	}
	if err != nil {
		return err
	}
	h.flashOK(ctx, "Two-factor sign-in is off; your recovery codes no longer work.")
	return redirect(w, r, "/admin/account")
}

// POST /admin/account/recovery-codes
//
// Needs the current password; the old codes stop working.
func (h *Handler) accountRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if ok, err := h.checkOwnPassword(r); err != nil {
		return err
	} else if !ok {
		return h.renderAccount(w, r, http.StatusUnprocessableEntity, map[string]any{"Errors": map[string]string{"codes_password": wrongPassword}})
	}
	codes, err := h.admins.NewRecoveryCodes(ctx, actor(r), adminFrom(ctx).ID)
	if errors.Is(err, admins.ErrNoTOTP) {
		h.flashError(ctx, "Recovery codes come with two-factor sign-in: set it up first.")
		return redirect(w, r, "/admin/account")
	}
	if err != nil {
		return err
	}
	return h.renderAccount(w, r, http.StatusOK, map[string]any{"RecoveryCodes": codes})
}

// wrongPassword is the form message for a wrong current password.
const wrongPassword = "That is not your current password."

// checkOwnPassword checks the form's "password" against the signed-in
// admin's.
func (h *Handler) checkOwnPassword(r *http.Request) (bool, error) {
	a, err := h.store.AdminByID(r.Context(), adminFrom(r.Context()).ID)
	if err != nil {
		return false, err
	}
	return auth.Verify(r.PostForm.Get("password"), a.PasswordHash)
}
