package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// adminRoutes declares the routes of admins, accounts, two-factor
// sign-in, notifications and the audit export: public ones on r (the
// console's router), signed-in ones on s.
//
//	GET  /admin/login/code                 second step of sign-in (TOTP or recovery code)
//	POST /admin/login/code
//	GET  /admin/invite/{token}             accept an invitation: name and password
//	POST /admin/invite/{token}
//	GET  /admin/admins                     admins and open invitations
//	POST /admin/admins/invite              (super admin)
//	POST /admin/admins/invites/{id}/revoke (super admin)
//	POST /admin/admins/{id}/role           (super admin)
//	POST /admin/admins/{id}/disable        (super admin)
//	POST /admin/admins/{id}/enable         (super admin)
//	POST /admin/admins/{id}/totp-reset     (super admin)
//	GET  /admin/account                    my account: password, two-factor, sessions
//	POST /admin/account/password
//	POST /admin/account/totp/setup
//	POST /admin/account/totp/confirm
//	POST /admin/account/totp/disable
//	POST /admin/account/recovery-codes
//	POST /admin/account/sessions/{id}/revoke
//	POST /admin/account/sessions/revoke-others
//	GET  /admin/notifications
//	POST /admin/notifications/read
//	GET  /admin/audit.csv                  the audit log viewer's selection as CSV
func (h *Handler) adminRoutes(r, s *mux.Router) {
	r.Handle("/login/code", h.wrap(h.loginCodeForm)).Methods(http.MethodGet)
	r.Handle("/login/code", h.wrap(h.loginCode)).Methods(http.MethodPost)
	r.Handle("/invite/{token}", h.wrap(h.inviteAcceptForm)).Methods(http.MethodGet)
	r.Handle("/invite/{token}", h.wrap(h.inviteAccept)).Methods(http.MethodPost)

	s.Handle("/admins", h.wrap(h.adminList)).Methods(http.MethodGet)
	s.Handle("/admins/invite", h.wrap(h.adminInvite)).Methods(http.MethodPost)
	s.Handle("/admins/invites/{id:[0-9]+}/revoke", h.wrap(h.adminInviteRevoke)).Methods(http.MethodPost)
	s.Handle("/admins/{id:[0-9]+}/role", h.wrap(h.adminRole)).Methods(http.MethodPost)
	s.Handle("/admins/{id:[0-9]+}/disable", h.wrap(h.adminDisable)).Methods(http.MethodPost)
	s.Handle("/admins/{id:[0-9]+}/enable", h.wrap(h.adminEnable)).Methods(http.MethodPost)
	s.Handle("/admins/{id:[0-9]+}/totp-reset", h.wrap(h.adminTOTPReset)).Methods(http.MethodPost)

	s.Handle("/account", h.wrap(h.account)).Methods(http.MethodGet)
	s.Handle("/account/password", h.wrap(h.accountPassword)).Methods(http.MethodPost)
	s.Handle("/account/totp/setup", h.wrap(h.accountTOTPSetup)).Methods(http.MethodPost)
	s.Handle("/account/totp/confirm", h.wrap(h.accountTOTPConfirm)).Methods(http.MethodPost)
	s.Handle("/account/totp/disable", h.wrap(h.accountTOTPDisable)).Methods(http.MethodPost)
	s.Handle("/account/recovery-codes", h.wrap(h.accountRecoveryCodes)).Methods(http.MethodPost)
	s.Handle("/account/sessions/{id:[0-9]+}/revoke", h.wrap(h.accountSessionRevoke)).Methods(http.MethodPost)
	s.Handle("/account/sessions/revoke-others", h.wrap(h.accountSessionsRevokeOthers)).Methods(http.MethodPost)

	s.Handle("/notifications", h.wrap(h.notificationList)).Methods(http.MethodGet)
	s.Handle("/notifications/read", h.wrap(h.notificationRead)).Methods(http.MethodPost)

	s.Handle("/audit.csv", h.wrap(h.auditExport)).Methods(http.MethodGet)
}

// SelfService are the state-changing console routes that a support admin
// may use: they touch only the admin's own account (signing out, their
// password, two-factor sign-in, sessions, their own read-only API tokens,
// their notifications' read marks), never the platform.
var SelfService = map[string]bool{
	"/admin/logout":                              true,
	"/admin/account/password":                    true,
	"/admin/account/totp/setup":                  true,
	"/admin/account/totp/confirm":                true,
	"/admin/account/totp/disable":                true,
	"/admin/account/recovery-codes":              true,
	"/admin/account/sessions/{id:[0-9]+}/revoke": true,
	"/admin/account/sessions/revoke-others":      true,
	"/admin/notifications/read":                  true,
	"/admin/tokens":                              true,
	"/admin/tokens/{id:[0-9]+}/revoke":           true,
}

// ReadOnlyMessage is the answer to a support admin's change.
const ReadOnlyMessage = "Your role is support, which is read-only: you can look at everything but change nothing. Ask a super admin to do this, or to change your role."

// admit runs for every signed-in request after requireAdmin found the
// admin: the session must not have been revoked (its record says), and a
// support admin may not change anything but their own account. It
// answers the request itself and returns false when the request stops.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request, a *platform.Admin) bool {
	ctx := r.Context()
	if h.admins != nil {
		ok, err := h.admins.CheckSession(ctx, a.ID, admins.SessionKey(h.sessions.Token(ctx)), r.UserAgent(), web.ClientAddr(r))
		if err != nil {
			h.rs.Error(w, r, err)
			return false
		}
		if !ok {
			// Revoked elsewhere: whatever is left of it goes.
			if err := h.sessions.Destroy(ctx); err != nil {
				h.rs.Error(w, r, err)
				return false
			}
			h.toLogin(w, r)
			return false
		}
	}
	if !safeMethod(r.Method) && !a.CanChange() {
		tmpl := ""
		if cur := mux.CurrentRoute(r); cur != nil {
			tmpl, _ = cur.GetPathTemplate()
		}
		if !SelfService[tmpl] {
			h.rs.Error(w, r, web.Errorf(http.StatusForbidden, ReadOnlyMessage))
			return false
		}
	}
	return true
}

// completeLogin signs an admin in once every factor is checked: a new
// session token (session fixation), a new form token, the session's
// record, an audit row; then on to next.
func (h *Handler) completeLogin(w http.ResponseWriter, r *http.Request, a *platform.Admin, next, method string) error {
	ctx := r.Context()
	if err := h.sessions.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew session at sign-in: %w", err)
	}
	h.sessions.Remove(ctx, keyPendingAdmin)
	h.sessions.Remove(ctx, keyPendingNext)
	h.sessions.Remove(ctx, keyPendingTries)
	h.sessions.Put(ctx, keyAdminID, a.ID)
	h.sessions.Put(ctx, keyCSRF, randomToken())
	if h.admins != nil {
		if err := h.admins.StartSession(ctx, a.ID, admins.SessionKey(h.sessions.Token(ctx)), r.UserAgent(), web.ClientAddr(r)); err != nil {
			return err
		}
	}
	act := platform.Actor{Kind: "admin", AdminID: a.ID, Name: a.Email, ClientAddr: web.ClientAddr(r), RequestID: web.RequestID(ctx)}
	if err := h.audit(ctx, act, platform.AuditEntry{Action: "admin.login", TargetType: "admin", TargetID: fmt.Sprint(a.ID),
		After: map[string]any{"method": method}}); err != nil {
		return err
	}
	return redirect(w, r, next)
}

// unreadNotices is the nav's badge: the signed-in admin's unread
// notifications (0 if they cannot be counted).
func (h *Handler) unreadNotices(ctx context.Context) int {
	a := adminFrom(ctx)
	if a == nil {
		return 0
	}
	n, err := h.store.UnreadNotices(ctx, a.ID)
	if err != nil {
		h.log.Error("cannot count notifications", "request_id", web.RequestID(ctx), "err", err)
	}
	return n
}

// pathID is the {id} of the route.
func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s id: %w", what, platform.ErrNotFound)
	}
	return id, nil
}

// fieldErrors turns an admins.FieldError into a form's errors; ok false
// for any other error.
func fieldErrors(err error) (map[string]string, bool) {
	var fe *admins.FieldError
	if !errors.As(err, &fe) {
		return nil, false
	}
	return map[string]string{fe.Field: sentence(fe.Message)}, true
}

// backTo is a same-console path from the form's "next" field, or def.
func backTo(r *http.Request, def string) string {
	next := r.PostForm.Get("next")
	if next == "" {
		return def
	}
	if u, err := url.Parse(next); err != nil || u.IsAbs() {
		return def
	}
	return safeNext(next)
}
