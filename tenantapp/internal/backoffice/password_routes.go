package backoffice

import (
	"net/http"

	"github.com/gorilla/mux"
)

// passwordRoutes declares the password reset pages on the back office's
// anonymous subrouter, next to /login: whoever forgot their password is
// not signed in.
func (h *Handler) passwordRoutes(admin *mux.Router) {
	admin.Handle("/password/forgot", h.rs.Wrap(h.passwordForgotForm)).Methods(http.MethodGet)
	admin.Handle("/password/forgot", h.rs.Wrap(h.passwordForgot)).Methods(http.MethodPost)
	admin.Handle("/password/reset/{token}", h.rs.Wrap(h.passwordResetForm)).Methods(http.MethodGet)
	admin.Handle("/password/reset/{token}", h.rs.Wrap(h.passwordReset)).Methods(http.MethodPost)
}
