package backoffice

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type invitePage struct {
	page
	Member *staff.Member
	Name   string
	Errors map[string]string
}

// GET /admin/invite/{token}: the invited member chooses a password.
func (h *Handler) inviteForm(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	m, err := staff.PeekToken(r.Context(), t.Pool, mux.Vars(r)["token"], staff.PurposeInvite)
	if errors.Is(err, staff.ErrTokenInvalid) {
		return h.templates.Render(w, http.StatusGone, "admin_invite", invitePage{page: h.page(r, "Invitation"),
			Errors: map[string]string{"token": err.Error()}})
	}
	if err != nil {
		return err
	}
	return h.templates.Render(w, http.StatusOK, "admin_invite", invitePage{page: h.page(r, "Welcome"), Member: m, Name: m.Name})
}

// POST /admin/invite/{token}
func (h *Handler) inviteAccept(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	token := mux.Vars(r)["token"]
	m, err := staff.PeekToken(ctx, t.Pool, token, staff.PurposeInvite)
	if errors.Is(err, staff.ErrTokenInvalid) {
		return h.templates.Render(w, http.StatusGone, "admin_invite", invitePage{page: h.page(r, "Invitation"),
			Errors: map[string]string{"token": err.Error()}})
	}
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	pw, again := r.PostFormValue("password"), r.PostFormValue("password_again")
	errs := map[string]string{}
	if utf8.RuneCountInString(name) > 100 {
		errs["name"] = "Use at most 100 characters."
	}
	if pw != again {
		errs["password_again"] = "The two passwords are not the same."
	}
	hash, herr := auth.Hash(pw)
	if herr != nil {
		errs["password"] = "Choose a password of 10 to 256 characters."
	}
	if len(errs) > 0 {
		return h.templates.Render(w, http.StatusUnprocessableEntity, "admin_invite", invitePage{page: h.page(r, "Welcome"),
			Member: m, Name: name, Errors: errs})
	}
	e := actor(r, m)
	e.Actor, e.Action = "staff:"+m.Email, "staff.invitation_accepted"
	if _, err := staff.SetPasswordWithToken(ctx, t.Pool, token, staff.PurposeInvite, hash, name, e); err != nil {
		if errors.Is(err, staff.ErrTokenInvalid) {
			return h.templates.Render(w, http.StatusGone, "admin_invite", invitePage{page: h.page(r, "Invitation"),
				Errors: map[string]string{"token": err.Error()}})
		}
		return err
	}
	h.sessions.Put(ctx, keyFlash, "Your password is set. Sign in to start.")
	http.Redirect(w, r, t.Base+"/admin/login", http.StatusSeeOther)
	return nil
}
