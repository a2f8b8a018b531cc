// Package account serves a shop's customer accounts on the vendor's own
// host: registration, sign-in and sign-out, password resets by e-mail,
// the profile, the address book and the order history, as pages under
// /account and as JSON under /api/v1/shop/account/.
//
// Customers belong to one shop: they live in the vendor's database, and
// their sessions (shopper.Sessions) are bound to the shop they were made
// on. Sign-ins and reset requests are throttled in Redis under keys that
// carry the vendor's id. Every id in a URL is looked up together with the
// signed-in customer's id: another customer's address or order is a 404,
// never a 403.
package account

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/shopper"
)

// MinSchema is the first tenant schema with customers (migration 00013);
// a shop still below it answers 503 on the account pages while the rest
// of the shop serves.
const MinSchema = 13

// WorkRequester asks the control plane to run work for a vendor, such as
// sending its outbox (notify.WorkKind).
type WorkRequester interface {
	RequestWork(ctx context.Context, vendorID int64, kind string) error
}

// Limits are the throttles of sign-ins, reset requests and registrations.
type Limits struct {
	PerAccount int           // failed sign-ins (or reset requests) per e-mail address per window
	PerAddress int           // failed sign-ins (or reset requests) per client address per window
	Registers  int           // registrations per client address per window
	Window     time.Duration // how long attempts count
}

// DefaultLimits are the throttles unless Options says otherwise.
var DefaultLimits = Limits{PerAccount: 5, PerAddress: 20, Registers: 10, Window: 15 * time.Minute}

// Options wire a Handler.
type Options struct {
	Sessions  *shopper.Sessions
	Templates *web.Templates
	Responder *web.Responder
	Logger    *slog.Logger
	// PublicURL is the tenant app's public URL with {host} standing for
	// the vendor's host (tenant.AbsURL), for the links in e-mails.
	PublicURL string
	Work      WorkRequester
	// Redis keeps the throttles; nil: the account pages answer 503 (as
	// the sessions do without Redis).
	Redis redis.UniversalClient
	// KeyPrefix starts every Redis key, before the vendor's id
	// ("sf:<platform prefix>:a:").
	KeyPrefix string
	Limits    Limits // zero: DefaultLimits
}

// Handler serves the customer accounts.
type Handler struct {
	sessions  *shopper.Sessions
	templates *web.Templates
	rs        *web.Responder
	log       *slog.Logger
	publicURL string
	work      WorkRequester
	redis     redis.UniversalClient
	keyPrefix string
	limits    Limits
}

// New returns the accounts handler.
func New(o Options) *Handler {
	if o.Limits.PerAccount == 0 {
		o.Limits = DefaultLimits
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = "sf:a:"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{sessions: o.Sessions, templates: o.Templates, rs: o.Responder, log: o.Logger,
		publicURL: o.PublicURL, work: o.Work, redis: o.Redis, keyPrefix: o.KeyPrefix, limits: o.Limits}
}

// now is the app's clock, to the microsecond the database keeps, for the
// times that sessions' sign-in times are compared with.
func now() time.Time { return time.Now().Truncate(time.Microsecond) }
