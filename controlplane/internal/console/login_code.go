package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// Session keys of a sign-in halfway through: the password was right, the
// second factor is still to come.
const (
	keyPendingAdmin = "pending_admin_id"
	keyPendingNext  = "pending_next"
	keyPendingAt    = "pending_at"
	keyPendingTries = "pending_tries"
)

// pendingTTL is how long the code step waits after the password; maxCodeTries
// is how many wrong codes send the admin back to the password;
// accountCodeFailures wrong codes in accountCodeWindow, whatever the
// session, close the code step for the account until the window passes.
const (
	pendingTTL          = 5 * time.Minute
	maxCodeTries        = 5
	accountCodeFailures = 10
	accountCodeWindow   = 15 * time.Minute
)

// startSecondFactor remembers an admin whose password was right and who
// has two-factor sign-in on, and asks for the code.
func (h *Handler) startSecondFactor(w http.ResponseWriter, r *http.Request, a *platform.Admin, next string) error {
	ctx := r.Context()
	if err := h.sessions.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew session at sign-in: %w", err)
	}
	h.sessions.Put(ctx, keyPendingAdmin, a.ID)
	h.sessions.Put(ctx, keyPendingNext, next)
	h.sessions.Put(ctx, keyPendingAt, time.Now().Unix())
	h.sessions.Put(ctx, keyPendingTries, int64(0))
	return redirect(w, r, "/admin/login/code")
}

// pendingAdmin returns the admin waiting for the code step, or nil if
// there is none (or it waited too long, or the account went away).
func (h *Handler) pendingAdmin(r *http.Request) (*platform.Admin, error) {
	ctx := r.Context()
	id := h.sessions.GetInt64(ctx, keyPendingAdmin)
	if id == 0 {
		return nil, nil
	}
	if time.Since(time.Unix(h.sessions.GetInt64(ctx, keyPendingAt), 0)) > pendingTTL {
		h.clearPending(r)
		return nil, nil
	}
	a, err := h.store.AdminByID(ctx, id)
	if errors.Is(err, platform.ErrNotFound) || err == nil && (a.DisabledAt != nil || a.TOTPEnabledAt == nil) {
		h.clearPending(r)
		return nil, nil
	}
	return a, err
}

func (h *Handler) clearPending(r *http.Request) {
	for _, k := range []string{keyPendingAdmin, keyPendingNext, keyPendingAt, keyPendingTries} {
		h.sessions.Remove(r.Context(), k)
	}
}

// GET /admin/login/code
func (h *Handler) loginCodeForm(w http.ResponseWriter, r *http.Request) error {
	a, err := h.pendingAdmin(r)
	if err != nil {
		return err
	}
	if a == nil {
		h.flashError(r.Context(), "Sign in with your e-mail and password first (the code step waits %d minutes).", int(pendingTTL.Minutes()))
		return redirect(w, r, "/admin/login")
	}
	return h.render(w, r, http.StatusOK, "login_code", map[string]any{"Title": "Two-factor sign-in", "Email": a.Email,
		"Recovery": r.URL.Query().Get("recovery") == "1"})
}

// POST /admin/login/code
//
// The code is a 6-digit TOTP code, used once, or one of the admin's
// recovery codes, spent by using it.
func (h *Handler) loginCode(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a, err := h.pendingAdmin(r)
	if err != nil {
		return err
	}
	if a == nil {
		h.flashError(ctx, "Sign in with your e-mail and password first (the code step waits %d minutes).", int(pendingTTL.Minutes()))
		return redirect(w, r, "/admin/login")
	}
	// Wrong codes are counted per admin across sessions too (from the
	// audit log), so signing in again with the password does not buy more
	// guesses: after accountCodeFailures in accountCodeWindow the code step
	// is closed for the account until the window has passed.
	var recent int
	if err := h.store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE target_type = 'admin' AND target_id = $1
		AND action = 'admin.login_failed' AND at > now() - make_interval(secs => $2)`, fmt.Sprint(a.ID), accountCodeWindow.Seconds()).Scan(&recent); err != nil {
		return fmt.Errorf("count the failed sign-ins of admin %d: %w", a.ID, err)
	}
	if recent >= accountCodeFailures {
		return &web.Error{Status: http.StatusTooManyRequests, RetryAfter: int(accountCodeWindow.Seconds()),
			Message: fmt.Sprintf("Too many wrong codes for this account. Try again in %d minutes, or ask another super admin to reset your two-factor sign-in.", int(accountCodeWindow.Minutes()))}
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	method := "totp"
	if admins.IsRecoveryCode(code) {
		method = "recovery_code"
		err = h.admins.UseRecoveryCode(ctx, a.ID, code)
	} else {
		err = h.admins.VerifyTOTP(ctx, a.ID, code)
	}
	if err == nil {
		return h.completeLogin(w, r, a, safeNext(h.sessions.GetString(ctx, keyPendingNext)), method)
	}
	var reason, msg string
	switch {
	case errors.Is(err, admins.ErrCodeReused):
		reason, msg = "reused code", "That code was used already. Wait for the next code in your app and enter it."
	case errors.Is(err, admins.ErrCodeWrong):
		reason, msg = "wrong code", "That code is not right. Enter the current 6-digit code from your app, or one of your recovery codes."
		if method == "recovery_code" {
			reason, msg = "wrong recovery code", "That recovery code is not one of yours, or was used already."
		}
	default:
		return err
	}
	anon := platform.Actor{Kind: "anonymous", ClientAddr: web.ClientAddr(r), RequestID: web.RequestID(ctx)}
	if err := h.audit(ctx, anon, platform.AuditEntry{Action: "admin.login_failed", TargetType: "admin", TargetID: fmt.Sprint(a.ID),
		After: map[string]any{"email": a.Email, "reason": reason}}); err != nil {
		return err
	}
	tries := h.sessions.GetInt64(ctx, keyPendingTries) + 1
	if tries >= maxCodeTries {
		h.clearPending(r)
		h.flashError(ctx, "Too many wrong codes. Sign in again with your e-mail and password.")
		return redirect(w, r, "/admin/login")
	}
	h.sessions.Put(ctx, keyPendingTries, tries)
	return h.render(w, r, http.StatusUnauthorized, "login_code", map[string]any{"Title": "Two-factor sign-in", "Email": a.Email,
		"Error": msg, "Recovery": method == "recovery_code"})
}
