// Package backoffice serves a vendor's back office under /admin on the
// vendor's own host: staff sign-in (argon2id, throttled per account and per
// client address in Redis), sessions bound to the vendor they were made
// on, invitations, and the dashboard.
package backoffice

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/mux"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/redisstore"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/static"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Session keys.
const (
	keyStaff   = "staff_id"
	keyVendor  = "vendor_id"
	keyCreated = "created"
	keySeen    = "seen"
	keyCSRF    = "csrf"
	keyFlash   = "flash"
	// keyFlashError is a one-time error message for the next page.
	keyFlashError = "flash_error"
)

// Handler serves the back office.
type Handler struct {
	templates *web.Templates
	sessions  *scs.SessionManager
	redis     redis.UniversalClient
	rs        *web.Responder
	log       *slog.Logger
	limits    Limits
	keyPrefix string
	mailer    *mailSetup     // set once at start-up by SetMailer
	work      WorkRequester  // set once at start-up by SetWork
	payments  *paymentsSetup // set once at start-up by SetPayments
	viewAs    *viewAsSetup   // set once at start-up by SetViewAs (viewas.go)
	domains   VendorDomains  // set once at start-up by SetDomains (domain_routes.go)
}

// Limits are the sign-in throttles.
type Limits struct {
	PerAccount int           // failed attempts per account per window
	PerAddress int           // failed attempts per client address per window
	Window     time.Duration // how long failures count
}

// Options wire a Handler.
type Options struct {
	Templates    *web.Templates
	Redis        redis.UniversalClient // nil: sign-in is unavailable
	Responder    *web.Responder
	Logger       *slog.Logger
	CookieSecure bool
	Limits       Limits
	// KeyPrefix starts every Redis key (sessions, throttles), before the
	// vendor's id: "sf:<platform prefix>:t:" keeps platforms sharing one
	// Redis apart.
	KeyPrefix string
}

// New returns the back office handler.
func New(o Options) *Handler {
	if o.Limits.PerAccount == 0 {
		o.Limits = Limits{PerAccount: 5, PerAddress: 20, Window: 15 * time.Minute}
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = "sf:t:"
	}
	h := &Handler{templates: o.Templates, redis: o.Redis, rs: o.Responder, log: o.Logger, limits: o.Limits, keyPrefix: o.KeyPrefix}
	s := scs.New()
	if o.Redis != nil {
		// Keys carry the vendor's id: a token carried to another shop is
		// looked up under that shop and is not found.
		s.Store = redisstore.NewScoped(o.Redis, o.KeyPrefix, func(ctx context.Context) (string, bool) {
			t := tenant.FromContext(ctx)
			if t == nil {
				return "", false
			}
			return strconv.FormatInt(t.Entry.VendorID, 10), true
		})
	}
	// The idle timeout is kept by member (keySeen), not by scs: scs
	// would write the session back to Redis on every request to move its
	// deadline, member does so at most once per seenEvery.
	s.Lifetime = sessionLifetime
	s.Codec = redisstore.Codec{}
	s.HashTokenInStore = true // a copy of Redis holds no usable tokens
	s.Cookie.Name = "sf_staff"
	s.Cookie.Path = "/"
	s.Cookie.HttpOnly = true
	s.Cookie.SameSite = http.SameSiteLaxMode
	s.Cookie.Secure = o.CookieSecure
	s.Cookie.Persist = false
	s.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		o.Responder.SessionError(w, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 10,
			Message: "Signing in is unavailable for a moment. Please try again shortly.", Err: err})
	}
	h.sessions = s
	return h
}

// Routes registers the back office on the shop's router, under /admin.
func (h *Handler) Routes(r *mux.Router) {
	cop := http.NewCrossOriginProtection()
	admin := r.PathPrefix("/admin").Subrouter()
	admin.Use(h.needSchema, h.needRedis, web.GuardSessions(h.sessions.LoadAndSave), noStore, cop.Handler, h.limitBody, h.refuseWritesWhenViewing, h.checkCSRF)
	admin.Handle("/login", h.rs.Wrap(h.loginForm)).Methods(http.MethodGet)
	admin.Handle("/login", h.rs.Wrap(h.login)).Methods(http.MethodPost)
	admin.Handle("/invite/{token}", h.rs.Wrap(h.inviteForm)).Methods(http.MethodGet)
	admin.Handle("/invite/{token}", h.rs.Wrap(h.inviteAccept)).Methods(http.MethodPost)
	h.passwordRoutes(admin)
	h.viewAsRoutes(admin) // a platform admin's read-only view (viewas.go)

	in := admin.NewRoute().Subrouter()
	in.Use(h.requireStaff)
	in.Handle("/", h.can("dashboard.read", h.dashboard)).Methods(http.MethodGet)
	in.Handle("/logout", h.rs.Wrap(h.logout)).Methods(http.MethodPost)
	in.Handle("/logout-everywhere", h.rs.Wrap(h.logoutEverywhere)).Methods(http.MethodPost)
	// Each area declares its routes in its own routes file.
	h.teamRoutes(in)
	h.catalogRoutes(in)
	h.shopRoutes(in)
	h.importRoutes(in)
	h.paymentsRoutes(in)
	h.notifyRoutes(in)
	h.orderRoutes(in)
	h.domainRoutes(in)
	r.Handle("/admin", http.RedirectHandler("admin/", http.StatusMovedPermanently))
}

// can wraps a handler so that only staff holding perm reach it; others get
// a 403 page that says which permission is missing. The permission stays
// readable on the route (RouteTable), for the permission matrix test.
func (h *Handler) can(perm string, fn web.Handler) http.Handler {
	return permHandler{perm: perm, Handler: h.rs.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		if !Current(r.Context()).Can(perm) {
			return &web.Error{Status: http.StatusForbidden,
				Message: "Your role does not allow this (it needs the \"" + perm + "\" permission). Ask the shop's owner."}
		}
		return fn(w, r)
	})}
}

// permHandler is a handler that checks a permission first.
type permHandler struct {
	perm string
	http.Handler
}

// Route is one route of the back office or the vendor API, and the
// permission it checks ("" if it checks none: the sign-in pages, and
// what every signed-in member may do for themselves).
type Route struct {
	Method string
	Path   string // the route's template, e.g. /admin/products/{id:[0-9]+}
	Perm   string
}

// RouteTable lists every route that Routes and APIRoutes register, with
// the permission each checks.
func (h *Handler) RouteTable() ([]Route, error) {
	r := mux.NewRouter()
	h.Routes(r)
	h.APIRoutes(r)
	var out []Route
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		handler := route.GetHandler()
		if handler == nil {
			return nil // a subrouter
		}
		path, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, _ := route.GetMethods()
		if len(methods) == 0 {
			methods = []string{"*"}
		}
		perm := ""
		if ph, ok := handler.(permHandler); ok {
			perm = ph.perm
		}
		for _, m := range methods {
			out = append(out, Route{Method: m, Path: path, Perm: perm})
		}
		return nil
	})
	return out, err
}

// MinSchema is the oldest tenant schema the back office works with: a
// vendor below it (a rollout has not reached it yet) gets a maintenance
// answer in its back office while its storefront keeps serving.
const MinSchema = 9

// needSchema answers 503 for a vendor whose schema is older than MinSchema.
func (h *Handler) needSchema(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := tenant.FromContext(r.Context()); t != nil && t.Entry.SchemaVersion < MinSchema {
			h.rs.Error(w, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 60,
				Message: "The back office of " + t.Entry.Name + " is being upgraded. Please come back in a few minutes; the shop itself stays open."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) needRedis(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.redis == nil {
			h.rs.Error(w, r, &web.Error{Status: http.StatusServiceUnavailable, Message: "The back office is not configured (no Redis for sessions)."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// csrfToken returns the session's form token, making one if needed.
func (h *Handler) csrfToken(ctx context.Context) string {
	tok := h.sessions.GetString(ctx, keyCSRF)
	if tok == "" {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		tok = base64.RawURLEncoding.EncodeToString(b)
		h.sessions.Put(ctx, keyCSRF, tok)
	}
	return tok
}

// checkCSRF refuses state-changing requests without the session's token.
func (h *Handler) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			want := h.sessions.GetString(r.Context(), keyCSRF)
			got := r.PostFormValue("csrf_token")
			if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
				h.rs.Error(w, r, &web.Error{Status: http.StatusForbidden,
					Message: "This form has expired or did not come from this shop. Go back, reload the page and try again."})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

type ctxKey struct{}

// Current returns the signed-in staff member (behind requireStaff).
func Current(ctx context.Context) *staff.Member {
	m, _ := ctx.Value(ctxKey{}).(*staff.Member)
	return m
}

// requireStaff lets through only a signed-in, active member of this shop
// whose session is younger than their last "log out everywhere".
func (h *Handler) requireStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := tenant.FromContext(ctx)
		id := h.sessions.GetInt64(ctx, keyStaff)
		m, err := h.member(ctx, t, id)
		if err != nil && !errors.Is(err, staff.ErrNotFound) {
			h.rs.Error(w, r, err)
			return
		}
		if m == nil {
			if id != 0 {
				_ = h.sessions.Destroy(ctx)
			}
			http.Redirect(w, r, t.Base+"/admin/login", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, ctxKey{}, m)))
	})
}

// Session lifetimes: a session ends sessionLifetime after sign-in, or
// after sessionIdle without a request; the time of the last request is
// written back at most every seenEvery.
const (
	sessionLifetime = 12 * time.Hour
	sessionIdle     = 2 * time.Hour
	seenEvery       = time.Minute
)

// member returns the session's member if the session is valid here.
func (h *Handler) member(ctx context.Context, t *tenant.Tenant, id int64) (*staff.Member, error) {
	if vm, err := h.viewAsMember(ctx, t); vm != nil || err != nil { // a read-only view (viewas.go)
		return vm, err
	}
	if id == 0 || h.sessions.GetInt64(ctx, keyVendor) != t.Entry.VendorID {
		return nil, nil
	}
	now := time.Now()
	seen := time.Unix(0, h.sessions.GetInt64(ctx, keySeen))
	if now.Sub(seen) > sessionIdle {
		return nil, nil
	}
	if now.Sub(seen) > seenEvery {
		h.sessions.Put(ctx, keySeen, now.UnixNano())
	}
	m, err := staff.ByID(ctx, t.Pool, id)
	if err != nil {
		return nil, err
	}
	created := time.Unix(0, h.sessions.GetInt64(ctx, keyCreated))
	if m.Status != "active" || created.Before(m.SessionsValidAfter) {
		return nil, nil
	}
	return m, nil
}

// page is what every back office template gets.
type page struct {
	ShopName string
	Base     string
	Alpine   string
	CSRF     string
	Staff    *staff.Member
	// Nav is the top bar's links the member may follow.
	Nav   []navLink
	Flash string
	// FlashError is a one-time error message from the request before
	// (keyFlashError), shown above the page.
	FlashError string
	Title      string
	// ViewAs is the platform admin a read-only session belongs to (viewas.go).
	ViewAs string
}

func (h *Handler) page(r *http.Request, title string) page {
	t := tenant.FromContext(r.Context())
	m := Current(r.Context())
	return page{ShopName: t.Entry.Name, Base: t.Base, Alpine: static.Alpine, CSRF: h.csrfToken(r.Context()),
		Staff: m, Nav: navFor(t.Base, m), Flash: h.sessions.PopString(r.Context(), keyFlash),
		FlashError: h.sessions.PopString(r.Context(), keyFlashError), Title: title, ViewAs: h.viewingAs(r.Context())}
}

// navLink is one link of the back office's top bar.
type navLink struct{ Href, Label string }

// navItems are the top bar's areas and the permission each needs ("":
// every member).
var navItems = []struct{ path, label, perm string }{
	{"/admin/", "Dashboard", ""},
	{"/admin/orders", "Orders", "orders.read"},
	{"/admin/customers", "Customers", "customers.read"},
	{"/admin/products", "Products", "catalog.read"},
	{"/admin/imports", "Imports", "catalog.read"},
	{"/admin/staging", "Staging", "catalog.read"},
	{"/admin/inventory", "Inventory", "inventory.read"},
	{"/admin/media", "Media", "media.read"},
	{"/admin/settings", "Settings", "settings.write"},
	{"/admin/payments", "Payments", "settings.write"},
	{"/admin/domains", "Domains", "settings.write"},
	{"/admin/notifications", "E-mails", "orders.read"},
	{"/admin/audit", "Audit log", "audit.read"},
	{"/admin/team", "Team", "staff.manage"},
}

// navFor is the top bar a member sees: the areas they may open.
func navFor(base string, m *staff.Member) []navLink {
	if m == nil {
		return nil
	}
	out := make([]navLink, 0, len(navItems))
	for _, it := range navItems {
		if it.perm == "" || m.Can(it.perm) {
			out = append(out, navLink{Href: base + it.path, Label: it.label})
		}
	}
	return out
}

func actor(r *http.Request, m *staff.Member) staff.Entry {
	e := staff.Entry{ClientAddr: web.ClientAddr(r), RequestID: web.RequestID(r.Context()), Actor: "anonymous"}
	if m != nil {
		e.StaffID, e.Actor = m.ID, "staff:"+m.Email
	}
	return e
}
