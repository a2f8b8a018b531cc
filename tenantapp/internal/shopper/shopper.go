// Package shopper keeps the sessions of a shop's shoppers: the cart of an
// anonymous shopper and the signed-in customer. Sessions live in Redis
// under keys that carry the vendor's id, and record the vendor they were
// made on: a cookie carried to another shop's host is anonymous there.
//
// Browsing (home, catalog, product and search pages) does not use the
// session at all, so the shop keeps serving when Redis is down; the cart,
// checkout and account pages answer 503 then.
//
// State-changing requests are protected from cross-site forgery by
// net/http's CrossOriginProtection (Sec-Fetch-Site, then Origin): a
// product page can hold an "Add to cart" form without a session.
package shopper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/redisstore"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Session keys.
const (
	keyVendor   = "vendor_id"
	keyCustomer = "customer_id"
	keySignedIn = "signed_in" // unix nanoseconds of the sign-in
	keyCart     = "cart_id"
	keyFlash    = "flash"
)

// Lifetime is how long a shopper's session lasts; IdleTimeout ends it
// earlier without requests.
const (
	Lifetime    = 30 * 24 * time.Hour
	IdleTimeout = 14 * 24 * time.Hour
)

// MergeFunc moves an anonymous cart into a customer's cart when they sign
// in and returns the customer's cart id (0 if they have none).
type MergeFunc func(ctx context.Context, t *tenant.Tenant, anonCartID, customerID int64) (int64, error)

// Sessions is the shoppers' session manager.
type Sessions struct {
	m     *scs.SessionManager
	rs    *web.Responder
	cop   *http.CrossOriginProtection
	redis redis.UniversalClient
	merge MergeFunc
}

// Options wire Sessions.
type Options struct {
	Redis        redis.UniversalClient // nil: carts and accounts are unavailable
	Responder    *web.Responder
	CookieSecure bool
	// KeyPrefix starts every key, before the vendor's id ("sf:<p>:s:").
	KeyPrefix string
	// Merge moves the anonymous cart into the customer's at sign-in.
	Merge MergeFunc
}

// New returns the shoppers' session manager.
func New(o Options) *Sessions {
	s := &Sessions{rs: o.Responder, cop: http.NewCrossOriginProtection(), redis: o.Redis, merge: o.Merge}
	m := scs.New()
	if o.Redis != nil {
		m.Store = redisstore.NewScoped(o.Redis, o.KeyPrefix, func(ctx context.Context) (string, bool) {
			t := tenant.FromContext(ctx)
			if t == nil {
				return "", false
			}
			return strconv.FormatInt(t.Entry.VendorID, 10), true
		})
	}
	m.Lifetime = Lifetime
	m.IdleTimeout = IdleTimeout
	m.Codec = redisstore.Codec{}
	m.HashTokenInStore = true
	m.Cookie.Name = "sf_shop"
	m.Cookie.Path = "/"
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = o.CookieSecure
	m.Cookie.Persist = true
	m.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		o.Responder.SessionError(w, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 10,
			Message: "The cart and accounts are unavailable for a moment. Browsing still works; please try again shortly.", Err: err})
	}
	s.m = m
	return s
}

// Middleware loads the shopper's session around pages and API calls that
// need it (cart, checkout, account), refuses cross-site state changes, and
// never lets a response with a session be cached.
func (s *Sessions) Middleware(next http.Handler) http.Handler {
	inner := web.GuardSessions(s.m.LoadAndSave)(s.bind(next)) // one response when the session cannot be saved
	return s.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.redis == nil {
			s.rs.Error(w, r, &web.Error{Status: http.StatusServiceUnavailable,
				Message: "The cart and accounts are not configured in this shop (no Redis for sessions)."})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Add("Vary", "Cookie")
		inner.ServeHTTP(w, r)
	}))
}

// bind makes a session belong to the vendor it is first used on; a
// session of another vendor (which the scoped store never finds anyway)
// is dropped.
func (s *Sessions) bind(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := tenant.FromContext(ctx)
		if t == nil {
			http.NotFound(w, r)
			return
		}
		switch v := s.m.GetInt64(ctx, keyVendor); v {
		case t.Entry.VendorID:
		case 0:
			// written only when something else is stored
		default:
			if err := s.m.Destroy(ctx); err != nil {
				s.rs.Error(w, r, fmt.Errorf("drop a session of another shop: %w", err))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Sessions) put(ctx context.Context, key string, v any) {
	if t := tenant.FromContext(ctx); t != nil {
		s.m.Put(ctx, keyVendor, t.Entry.VendorID)
	}
	s.m.Put(ctx, key, v)
}

// CustomerID is the id of the customer signed in, as the session says; 0
// when anonymous. Customer checks that the account still allows it.
func (s *Sessions) CustomerID(ctx context.Context) int64 { return s.m.GetInt64(ctx, keyCustomer) }

// SignedInAt is when the session's customer signed in.
func (s *Sessions) SignedInAt(ctx context.Context) time.Time {
	return time.Unix(0, s.m.GetInt64(ctx, keySignedIn))
}

// CustomerRef is the signed-in customer, as Customer loads it.
type CustomerRef struct {
	ID          int64
	Email, Name string
}

// Customer returns the signed-in customer, or nil when the shopper is
// anonymous, the account is gone, or the session is older than the
// account's last password change; such a session loses its customer.
func (s *Sessions) Customer(ctx context.Context) (*CustomerRef, error) {
	id := s.CustomerID(ctx)
	if id == 0 {
		return nil, nil
	}
	t := tenant.FromContext(ctx)
	c := CustomerRef{ID: id}
	var validAfter time.Time
	err := t.Pool.QueryRow(ctx, `SELECT email, name, sessions_valid_after FROM customers WHERE id = $1`, id).
		Scan(&c.Email, &c.Name, &validAfter)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && s.SignedInAt(ctx).Before(validAfter)) {
		s.m.Remove(ctx, keyCustomer)
		s.m.Remove(ctx, keyCart)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load the signed-in customer: %w", err)
	}
	return &c, nil
}

// Login signs a customer in: the session gets a new token (no fixation),
// the anonymous cart is merged into the customer's, and the session
// remembers both.
func (s *Sessions) Login(ctx context.Context, customerID int64) error {
	t := tenant.FromContext(ctx)
	if err := s.m.RenewToken(ctx); err != nil {
		return fmt.Errorf("renew the session at sign-in: %w", err)
	}
	cartID := s.CartID(ctx)
	if s.merge != nil {
		merged, err := s.merge(ctx, t, cartID, customerID)
		if err != nil {
			return fmt.Errorf("merge the cart at sign-in: %w", err)
		}
		cartID = merged
	}
	s.put(ctx, keyCustomer, customerID)
	s.put(ctx, keySignedIn, time.Now().UnixNano())
	if cartID != 0 {
		s.put(ctx, keyCart, cartID)
	} else {
		s.m.Remove(ctx, keyCart)
	}
	return nil
}

// Logout ends the session; the shopper is anonymous with an empty cart
// (the customer's cart stays with their account).
func (s *Sessions) Logout(ctx context.Context) error {
	if err := s.m.Destroy(ctx); err != nil {
		return fmt.Errorf("end the session: %w", err)
	}
	return nil
}

// CartID is the id of the session's cart, 0 if it has none yet.
func (s *Sessions) CartID(ctx context.Context) int64 { return s.m.GetInt64(ctx, keyCart) }

// SetCartID remembers the session's cart.
func (s *Sessions) SetCartID(ctx context.Context, id int64) { s.put(ctx, keyCart, id) }

// Flash keeps a one-time message for the next page.
func (s *Sessions) Flash(ctx context.Context, msg string) { s.put(ctx, keyFlash, msg) }

// PopFlash returns and forgets the one-time message.
func (s *Sessions) PopFlash(ctx context.Context) string { return s.m.PopString(ctx, keyFlash) }
