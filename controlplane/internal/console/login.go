package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// loginFailed is the one message for every failed sign-in: it does not
// tell which of the e-mail and password was wrong, or that an account is
// disabled.
const loginFailed = "Wrong e-mail or password."

// GET /admin/login
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) error {
	if h.sessions.GetInt64(r.Context(), keyAdminID) != 0 {
		return redirect(w, r, safeNext(r.URL.Query().Get("next")))
	}
	return h.render(w, r, http.StatusOK, "login", map[string]any{
		"Title": "Sign in", "Next": safeNext(r.URL.Query().Get("next")),
	})
}

// POST /admin/login
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	email := strings.TrimSpace(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))

	admin, reason, err := h.checkPassword(ctx, email, password)
	if err != nil {
		return err
	}
	if reason != "" {
		if len(email) > 254 {
			email = email[:254]
		}
		entry := platform.AuditEntry{Action: "admin.login_failed", TargetType: "admin",
			After: map[string]any{"email": email, "reason": reason}}
		if admin != nil {
			entry.TargetID = fmt.Sprint(admin.ID)
		}
		anon := platform.Actor{Kind: "anonymous", ClientAddr: web.ClientAddr(r), RequestID: web.RequestID(ctx)}
		if err := h.audit(ctx, anon, entry); err != nil {
			return err
		}
		return h.render(w, r, http.StatusUnauthorized, "login", map[string]any{
			"Title": "Sign in", "Next": next, "Email": email, "Error": loginFailed,
		})
	}

	// Two-factor sign-in asks for the code next; otherwise the admin is in.
	if admin.TOTPEnabledAt != nil {
		return h.startSecondFactor(w, r, admin, next)
	}
	return h.completeLogin(w, r, admin, next, "password")
}

// checkPassword returns the admin and "" if the e-mail and password are
// right and the account enabled, else the reason for the audit log. Every
// path costs one argon2id check.
func (h *Handler) checkPassword(ctx context.Context, email, password string) (*platform.Admin, string, error) {
	admin, err := h.store.AdminByEmail(ctx, email)
	if errors.Is(err, platform.ErrNotFound) {
		auth.Verify(password, "")
		return nil, "unknown e-mail", nil
	}
	if err != nil {
		return nil, "", err
	}
	ok, err := auth.Verify(password, admin.PasswordHash)
	switch {
	case err != nil:
		return nil, "", fmt.Errorf("sign in %s: %w", admin.Email, err)
	case !ok:
		return admin, "wrong password", nil
	case admin.DisabledAt != nil:
		return admin, "account disabled", nil
	}
	return admin, "", nil
}

// audit writes one audit row in its own transaction.
func (h *Handler) audit(ctx context.Context, act platform.Actor, e platform.AuditEntry) error {
	err := h.store.Transact(ctx, func(tx pgx.Tx) error { return platform.Audit(ctx, tx, act, e) })
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}
