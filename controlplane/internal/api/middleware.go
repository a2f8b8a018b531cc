package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// requireToken lets through requests carrying an unrevoked API token of an
// enabled admin (Authorization: Bearer <token>) and answers 401 otherwise.
func (h *Handler) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="storefleet"`)
			h.rs.Error(w, r, web.Errorf(http.StatusUnauthorized,
				"send an API token as Authorization: Bearer <token>; admins create tokens in the console under API tokens"))
			return
		}
		a, err := h.store.AdminByToken(r.Context(), token)
		if errors.Is(err, platform.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="storefleet", error="invalid_token"`)
			h.rs.Error(w, r, web.Errorf(http.StatusUnauthorized,
				"the API token is not valid: it is unknown or revoked, or its admin is disabled"))
			return
		}
		if err != nil {
			h.rs.Error(w, r, err)
			return
		}
		web.AddLogAttrs(r.Context(), slog.String("admin", a.Email))
		if !h.allowRole(w, r, a) { // support admins read only (roles.go)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminKey, a)))
	})
}
