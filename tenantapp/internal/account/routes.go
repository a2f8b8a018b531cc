package account

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Routes registers the account pages under /account and the account API
// under /api/v1/shop/account/ on the shop's router, all behind the
// shoppers' sessions (which also refuse cross-origin state changes).
func (h *Handler) Routes(r *mux.Router) {
	get := []string{http.MethodGet, http.MethodHead}
	acct := r.PathPrefix("/account").Subrouter()
	acct.Use(h.ready, h.sessions.Middleware, h.loadCustomer, limitBody)
	acct.Handle("/login", h.rs.Wrap(h.loginForm)).Methods(get...)
	acct.Handle("/login", h.rs.Wrap(h.login)).Methods(http.MethodPost)
	acct.Handle("/logout", h.rs.Wrap(h.logout)).Methods(http.MethodPost)
	acct.Handle("/register", h.rs.Wrap(h.registerForm)).Methods(get...)
	acct.Handle("/register", h.rs.Wrap(h.registerSubmit)).Methods(http.MethodPost)
	acct.Handle("/password/forgot", h.rs.Wrap(h.forgotForm)).Methods(get...)
	acct.Handle("/password/forgot", h.rs.Wrap(h.forgot)).Methods(http.MethodPost)
	acct.Handle("/password/reset/{token}", h.rs.Wrap(h.resetForm)).Methods(get...)
	acct.Handle("/password/reset/{token}", h.rs.Wrap(h.reset)).Methods(http.MethodPost)

	in := acct.NewRoute().Subrouter()
	in.Use(h.requireCustomer)
	in.Handle("", h.rs.Wrap(h.dashboard)).Methods(get...)
	in.Handle("/", h.rs.Wrap(h.dashboard)).Methods(get...)
	in.Handle("/profile", h.rs.Wrap(h.profileForm)).Methods(get...)
	in.Handle("/profile", h.rs.Wrap(h.profileSave)).Methods(http.MethodPost)
	in.Handle("/profile/email", h.rs.Wrap(h.emailSave)).Methods(http.MethodPost)
	in.Handle("/profile/password", h.rs.Wrap(h.passwordSave)).Methods(http.MethodPost)
	in.Handle("/addresses", h.rs.Wrap(h.addressList)).Methods(get...)
	in.Handle("/addresses", h.rs.Wrap(h.addressCreate)).Methods(http.MethodPost)
	in.Handle("/addresses/new", h.rs.Wrap(h.addressNew)).Methods(get...)
	in.Handle("/addresses/{id:[0-9]+}", h.rs.Wrap(h.addressEdit)).Methods(get...)
	in.Handle("/addresses/{id:[0-9]+}", h.rs.Wrap(h.addressUpdate)).Methods(http.MethodPost)
	in.Handle("/addresses/{id:[0-9]+}/delete", h.rs.Wrap(h.addressDelete)).Methods(http.MethodPost)
	in.Handle("/addresses/{id:[0-9]+}/default", h.rs.Wrap(h.addressDefault)).Methods(http.MethodPost)
	in.Handle("/orders", h.rs.Wrap(h.orderList)).Methods(get...)
	in.Handle("/orders/{id:[0-9]+}", h.rs.Wrap(h.orderShow)).Methods(get...)

	api := r.PathPrefix("/api/v1/shop/account").Subrouter()
	api.Use(h.ready, h.sessions.Middleware, h.loadCustomer, limitBody)
	api.Handle("/register", h.rs.Wrap(h.apiRegister)).Methods(http.MethodPost)
	api.Handle("/login", h.rs.Wrap(h.apiLogin)).Methods(http.MethodPost)
	api.Handle("/logout", h.rs.Wrap(h.apiLogout)).Methods(http.MethodPost)
	api.Handle("/password/forgot", h.rs.Wrap(h.apiForgot)).Methods(http.MethodPost)

	apiIn := api.NewRoute().Subrouter()
	apiIn.Use(h.requireCustomer)
	apiIn.Handle("/me", h.rs.Wrap(h.apiMe)).Methods(http.MethodGet)
	apiIn.Handle("/me", h.rs.Wrap(h.apiMeUpdate)).Methods(http.MethodPatch)
	apiIn.Handle("/addresses", h.rs.Wrap(h.apiAddressList)).Methods(http.MethodGet)
	apiIn.Handle("/addresses", h.rs.Wrap(h.apiAddressCreate)).Methods(http.MethodPost)
	apiIn.Handle("/addresses/{id:[0-9]+}", h.rs.Wrap(h.apiAddressGet)).Methods(http.MethodGet)
	apiIn.Handle("/addresses/{id:[0-9]+}", h.rs.Wrap(h.apiAddressUpdate)).Methods(http.MethodPatch)
	apiIn.Handle("/addresses/{id:[0-9]+}", h.rs.Wrap(h.apiAddressDelete)).Methods(http.MethodDelete)
	apiIn.Handle("/orders", h.rs.Wrap(h.apiOrderList)).Methods(http.MethodGet)
	apiIn.Handle("/orders/{id:[0-9]+}", h.rs.Wrap(h.apiOrderGet)).Methods(http.MethodGet)
}

// ready answers 503 while the shop's schema has no customers yet, or
// without Redis for the throttles, before any session is touched.
func (h *Handler) ready(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := tenant.FromContext(r.Context())
		if t == nil {
			http.NotFound(w, r)
			return
		}
		if t.Entry.SchemaVersion < MinSchema {
			h.rs.Error(w, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 60,
				Message: "Customer accounts are being set up in this shop. Browsing works; please come back in a few minutes."})
			return
		}
		if h.redis == nil {
			h.rs.Error(w, r, &web.Error{Status: http.StatusServiceUnavailable,
				Message: "Customer accounts are not configured in this shop (no Redis)."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loadCustomer puts the signed-in customer, if any, in the request's
// context. A session older than the account's last password change has
// no customer any more (shopper.Sessions.Customer drops it).
func (h *Handler) loadCustomer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := h.sessions.Customer(r.Context())
		if err != nil {
			h.rs.Error(w, r, err)
			return
		}
		if c != nil {
			r = r.WithContext(context.WithValue(r.Context(), customerKey{}, c))
		}
		next.ServeHTTP(w, r)
	})
}

// requireCustomer lets signed-in customers through; others get a 401
// from the API and are sent to the sign-in page, coming back afterwards.
func (h *Handler) requireCustomer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if current(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		if web.WantsJSON(r) {
			h.rs.Error(w, r, &web.Error{Status: http.StatusUnauthorized, Message: "Sign in to your account first (POST /api/v1/shop/account/login)."})
			return
		}
		back := "/account"
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			back = r.URL.RequestURI()
		}
		redirect(w, r, loginURL(back))
	})
}

// limitBody caps request bodies: account forms and JSON are small.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r)
	})
}
