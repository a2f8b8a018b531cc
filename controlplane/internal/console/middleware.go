package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// markSession notes that the session is loaded (after scs's LoadAndSave)
// and keeps console pages out of caches.
func markSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey, true)))
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkCSRF refuses every state-changing request whose csrf_token form
// field does not match the session's token: the synchronizer-token half
// of the console's CSRF defence (http.CrossOriginProtection is the other).
func (h *Handler) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			h.rs.Error(w, r, &web.Error{Status: http.StatusBadRequest, Message: "The form could not be read. Reload the page and try again.", Err: err})
			return
		}
		want := h.sessions.GetString(r.Context(), keyCSRF)
		got := r.PostForm.Get("csrf_token")
		if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			h.rs.Error(w, r, web.Errorf(http.StatusForbidden,
				"This form has expired or did not come from this console. Go back, reload the page and try again."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossOriginDenied answers requests that http.CrossOriginProtection refuses.
func (h *Handler) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	h.rs.Error(w, r, web.Errorf(http.StatusForbidden, "Cross-origin requests to the admin console are not allowed."))
}

// requireAdmin lets signed-in, enabled admins through and sends everyone
// else to the sign-in page.
func (h *Handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := h.sessions.GetInt64(ctx, keyAdminID)
		if id == 0 {
			h.toLogin(w, r)
			return
		}
		a, err := h.store.AdminByID(ctx, id)
		if errors.Is(err, platform.ErrNotFound) || err == nil && a.DisabledAt != nil {
			// The account is gone or disabled: end the session.
			h.sessions.Remove(ctx, keyAdminID)
			if err := h.sessions.RenewToken(ctx); err != nil {
				h.rs.Error(w, r, err)
				return
			}
			h.toLogin(w, r)
			return
		}
		if err != nil {
			h.rs.Error(w, r, err)
			return
		}
		web.AddLogAttrs(ctx, slogAdmin(a))
		if !h.admit(w, r, a) { // revoked sessions, read-only roles: admin_routes.go
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, adminKey, a)))
	})
}

// toLogin redirects to the sign-in page, coming back here afterwards.
func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request) {
	to := "/admin/login"
	if r.Method == http.MethodGet && r.URL.Path != "/admin/" {
		to += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/"
	}
	return next
}
