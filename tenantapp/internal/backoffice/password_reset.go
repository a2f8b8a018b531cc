package backoffice

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type resetPage struct {
	page
	Member *staff.Member // nil: the link does not work
	Errors map[string]string
}

// GET /admin/password/reset/{token}: choose a new password.
func (h *Handler) passwordResetForm(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	m, err := staff.PeekToken(r.Context(), t.Pool, mux.Vars(r)["token"], staff.PurposeReset)
	if errors.Is(err, staff.ErrTokenInvalid) {
		return h.resetGone(w, r, err)
	}
	if err != nil {
		return err
	}
	return h.templates.Render(w, http.StatusOK, "admin_password_reset", resetPage{page: h.page(r, "Choose a new password"), Member: m})
}

// POST /admin/password/reset/{token}: set the password (the link works
// once) and end every session of the member, everywhere.
func (h *Handler) passwordReset(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	token := mux.Vars(r)["token"]
	m, err := staff.PeekToken(ctx, t.Pool, token, staff.PurposeReset)
	if errors.Is(err, staff.ErrTokenInvalid) {
		return h.resetGone(w, r, err)
	}
	if err != nil {
		return err
	}
	pw, again := r.PostFormValue("password"), r.PostFormValue("password_again")
	errs := map[string]string{}
	if pw != again {
		errs["password_again"] = "The two passwords are not the same."
	}
	hash, herr := auth.Hash(pw)
	if herr != nil {
		errs["password"] = "Choose a password of 10 to 256 characters."
	}
	if len(errs) > 0 {
		return h.templates.Render(w, http.StatusUnprocessableEntity, "admin_password_reset",
			resetPage{page: h.page(r, "Choose a new password"), Member: m, Errors: errs})
	}
	e := actor(r, m)
	e.Action = "staff.password_reset"
	if _, err := staff.SetPasswordWithToken(ctx, t.Pool, token, staff.PurposeReset, hash, "", e); err != nil {
		if errors.Is(err, staff.ErrTokenInvalid) {
			return h.resetGone(w, r, err)
		}
		return err
	}
	// The account's failed sign-ins no longer count; whatever session this
	// browser had is over too.
	acctKey, _ := h.throttleKeys(t, m.Email, "")
	h.redis.Del(ctx, acctKey)
	if err := h.sessions.RenewToken(ctx); err != nil {
		return err
	}
	h.sessions.Remove(ctx, keyStaff)
	h.sessions.Put(ctx, keyFlash, "Your new password is set, and you are signed out everywhere. Sign in with it now.")
	http.Redirect(w, r, t.Base+"/admin/login", http.StatusSeeOther)
	return nil
}

func (h *Handler) resetGone(w http.ResponseWriter, r *http.Request, err error) error {
	return h.templates.Render(w, http.StatusGone, "admin_password_reset", resetPage{page: h.page(r, "Reset link"),
		Errors: map[string]string{"token": err.Error()}})
}
