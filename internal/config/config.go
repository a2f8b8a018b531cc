// Package config loads Storefleet's settings from the environment, after
// filling in anything unset from a .env file (by default ./.env, written by
// `make run` for the local platform).
package config

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
)

// Config is every setting the three programs read. Each program uses the
// part it needs and checks it with the Require* methods.
type Config struct {
	// ControlPlaneURL connects to the control-plane database as its owner.
	ControlPlaneURL string
	// RouterURL connects to the control-plane database as the read-only
	// router role (the tenant app uses nothing else there).
	RouterURL string
	// MasterKey encrypts vendor database passwords and secret settings.
	MasterKey []byte
	// Prefix starts the name of every database, role and bucket the
	// platform creates, so several platforms can share one cluster.
	Prefix string
	// TemplateDB is the vendor template database, kept at the newest
	// tenant migration; empty means "<prefix>_template".
	TemplateDB string

	// DBSSLMode is the sslmode of connections to vendor database servers
	// ("disable" for a local cluster without TLS, "verify-full" in production).
	DBSSLMode string

	RedisURL    string
	S3Endpoint  string
	S3AccessKey string
	S3SecretKey string
	S3Secure    bool
	S3Region    string

	SMTPURL   string
	StripeURL string // Stripe's API address; empty: Stripe itself (the emulator in development)
	// StripeSecretKey is the platform's Stripe secret key; empty: payments
	// are off. StripeWebhookSecret verifies the platform webhook's events.
	StripeSecretKey     string
	StripeWebhookSecret string
	// StripePublishableKey is given to Stripe.js on the payment page.
	StripePublishableKey string
	// StripeTestPayments shows a "Pay with Stripe's test card" button at
	// checkout instead of Stripe's card form (development and tests, where
	// the card form cannot load); only with a test-mode key.
	StripeTestPayments bool

	// BaseDomain is the parent of every vendor subdomain ("localhost" in
	// development: vendors answer at <slug>.localhost).
	BaseDomain string
	// TenantPublicURL is how shoppers reach the tenant app, with {host}
	// standing for the vendor's host name, e.g. "http://{host}:8080".
	TenantPublicURL string

	TenantAddr       string
	ControlPlaneAddr string
	TrustedProxies   []netip.Prefix

	// ControlPlanePublicURL is how admins reach the console, the base of
	// the links in admin e-mails (invitations, critical alerts).
	ControlPlanePublicURL string

	PoolMaxOpen       int           // most vendor pools open at once
	PoolMaxConns      int           // most PostgreSQL connections across all pools
	PoolConnsPerVend  int           // most connections in one vendor's pool
	PoolIdleTimeout   time.Duration // a pool unused this long is closed
	VendorDeleteGrace time.Duration // how long a deleted vendor's data is kept

	// PoolConnectTimeout bounds one attempt to open a vendor database
	// connection (waiting for a free connection slot included).
	PoolConnectTimeout time.Duration
	// RequestTimeout bounds a request's work (its database connects and
	// queries, Redis, the object store): in the tenant app behind the
	// tenant middleware, in the control plane every request (console, admin
	// API, webhooks). A vendor database or the control-plane database that
	// hangs costs a request this long at most, then a 503 with
	// Retry-After. LongRequestTimeout is the bound of the requests that
	// stream or run long (uploads, CSV exports, bulk edits, images; in the
	// control plane also creating and deleting vendors).
	RequestTimeout     time.Duration
	LongRequestTimeout time.Duration

	// BackupBucket is the platform bucket that holds every vendor's
	// backups, one prefix per vendor.
	BackupBucket string
	// ReplacedDBGrace is how long a database replaced by a restore or a
	// move is kept before reconcile drops it.
	ReplacedDBGrace time.Duration

	// FetchPrivateURLs lets marketplace imports and image fetches reach
	// loopback and private addresses: development and tests only.
	FetchPrivateURLs bool

	// RateLimits overrides the tenant app's rate limits per client address
	// per vendor, e.g. "login=10/1m,search=300/1m,api=off" (internal/ratelimit).
	RateLimits string

	// MetricsToken, if set, lets scrapers that send it as a bearer token
	// read /metrics from anywhere; without it only loopback may (issue 8).
	MetricsToken string
	// MetricsVendorLabels is how many vendors get a label of their own on
	// the per-vendor counters; the rest count as "other" (issue 8).
	MetricsVendorLabels int

	// CookieSecure marks session cookies Secure (set it behind HTTPS).
	CookieSecure bool
	// LogFormat is "text" or "json".
	LogFormat string
	LogLevel  string
}

// Load reads the .env file named by STOREFLEET_ENV_FILE (default ".env";
// a missing default file is fine) and then the environment, which wins.
func Load() (*Config, error) {
	file := os.Getenv("STOREFLEET_ENV_FILE")
	explicit := file != ""
	if !explicit {
		file = ".env"
	}
	if err := godotenv.Load(file); err != nil && (explicit || !os.IsNotExist(err)) {
		return nil, fmt.Errorf("read settings file %s: %w", file, err)
	}
	return FromEnv(os.Getenv)
}

// FromEnv builds a Config from a lookup function (os.Getenv in programs,
// a map in tests).
func FromEnv(get func(string) string) (*Config, error) {
	p := parser{get: get}
	c := &Config{
		ControlPlaneURL:      p.str("STOREFLEET_CONTROLPLANE_DATABASE_URL", ""),
		RouterURL:            p.str("STOREFLEET_ROUTER_DATABASE_URL", ""),
		Prefix:               p.str("STOREFLEET_NAME_PREFIX", "sf"),
		TemplateDB:           p.str("STOREFLEET_TEMPLATE_DB", ""),
		DBSSLMode:            p.str("STOREFLEET_DB_SSLMODE", "prefer"),
		RedisURL:             p.str("STOREFLEET_REDIS_URL", ""),
		S3Endpoint:           p.str("STOREFLEET_S3_ENDPOINT", ""),
		S3AccessKey:          p.str("STOREFLEET_S3_ACCESS_KEY", ""),
		S3SecretKey:          p.str("STOREFLEET_S3_SECRET_KEY", ""),
		S3Secure:             p.boolean("STOREFLEET_S3_SECURE", false),
		S3Region:             p.str("STOREFLEET_S3_REGION", "us-east-1"),
		SMTPURL:              p.str("STOREFLEET_SMTP_URL", ""),
		StripeURL:            p.str("STOREFLEET_STRIPE_URL", ""),
		StripeSecretKey:      p.str("STOREFLEET_STRIPE_SECRET_KEY", ""),
		StripeWebhookSecret:  p.str("STOREFLEET_STRIPE_WEBHOOK_SECRET", ""),
		StripePublishableKey: p.str("STOREFLEET_STRIPE_PUBLISHABLE_KEY", ""),
		StripeTestPayments:   p.boolean("STOREFLEET_STRIPE_TEST_PAYMENTS", false),
		BaseDomain:           strings.ToLower(p.str("STOREFLEET_BASE_DOMAIN", "localhost")),
		TenantPublicURL:      p.str("STOREFLEET_TENANT_PUBLIC_URL", "http://{host}:8080"),
		TenantAddr:           p.str("STOREFLEET_TENANT_ADDR", ":8080"),
		ControlPlaneAddr:     p.str("STOREFLEET_CONTROLPLANE_ADDR", ":8090"),
		PoolMaxOpen:          p.integer("STOREFLEET_POOL_MAX_OPEN", 500),
		PoolMaxConns:         p.integer("STOREFLEET_POOL_MAX_CONNS", 200),
		PoolConnsPerVend:     p.integer("STOREFLEET_POOL_CONNS_PER_VENDOR", 4),
		PoolIdleTimeout:      p.duration("STOREFLEET_POOL_IDLE_TIMEOUT", 5*time.Minute),
		PoolConnectTimeout:   p.duration("STOREFLEET_POOL_CONNECT_TIMEOUT", 5*time.Second),
		RequestTimeout:       p.duration("STOREFLEET_REQUEST_TIMEOUT", 10*time.Second),
		LongRequestTimeout:   p.duration("STOREFLEET_LONG_REQUEST_TIMEOUT", 60*time.Second),
		VendorDeleteGrace:    p.duration("STOREFLEET_VENDOR_DELETE_GRACE", 7*24*time.Hour),
		BackupBucket:         p.str("STOREFLEET_BACKUP_BUCKET", ""),
		ReplacedDBGrace:      p.duration("STOREFLEET_REPLACED_DB_GRACE", 72*time.Hour),
		FetchPrivateURLs:     p.boolean("STOREFLEET_FETCH_PRIVATE_URLS", false),
		CookieSecure:         p.boolean("STOREFLEET_COOKIE_SECURE", false),
		MetricsToken:         p.str("STOREFLEET_METRICS_TOKEN", ""),
		MetricsVendorLabels:  p.integer("STOREFLEET_METRICS_VENDOR_LABELS", 20),
		RateLimits:           p.str("STOREFLEET_RATE_LIMITS", ""),
		LogFormat:            p.str("STOREFLEET_LOG_FORMAT", "text"),
		LogLevel:             p.str("STOREFLEET_LOG_LEVEL", "info"),
	}
	c.ControlPlanePublicURL = strings.TrimSuffix(p.str("STOREFLEET_CONTROLPLANE_PUBLIC_URL", "http://localhost:8090"), "/")
	if k := get("STOREFLEET_MASTER_KEY"); k != "" {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(key) != 32 {
			p.errs = append(p.errs, "STOREFLEET_MASTER_KEY must be 32 bytes in base64 (make one with: openssl rand -base64 32)")
		}
		c.MasterKey = key
	}
	for _, s := range strings.FieldsFunc(get("STOREFLEET_TRUSTED_PROXIES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				p.errs = append(p.errs, fmt.Sprintf("STOREFLEET_TRUSTED_PROXIES: %q is not an address or CIDR prefix", s))
				continue
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx)
	}
	if c.TemplateDB == "" {
		c.TemplateDB = c.Prefix + "_template"
	}
	if c.BackupBucket == "" {
		c.BackupBucket = strings.ReplaceAll(c.Prefix, "_", "-") + "-backups"
	}
	if !validPrefix(c.Prefix) {
		p.errs = append(p.errs, "STOREFLEET_NAME_PREFIX must be 1 to 20 lower-case letters, digits or underscores, starting with a letter")
	}
	if c.PoolMaxConns < 1 || c.PoolConnsPerVend < 1 || c.PoolMaxOpen < 1 {
		p.errs = append(p.errs, "STOREFLEET_POOL_* limits must be at least 1")
	}
	if c.PoolConnectTimeout <= 0 || c.RequestTimeout <= 0 || c.LongRequestTimeout < c.RequestTimeout {
		p.errs = append(p.errs, "STOREFLEET_POOL_CONNECT_TIMEOUT and STOREFLEET_REQUEST_TIMEOUT must be positive, STOREFLEET_LONG_REQUEST_TIMEOUT at least STOREFLEET_REQUEST_TIMEOUT")
	}
	if len(p.errs) > 0 {
		return nil, fmt.Errorf("configuration: %s", strings.Join(p.errs, "; "))
	}
	return c, nil
}

// Require returns an error naming every listed setting that is empty.
func (c *Config) Require(names ...string) error {
	var missing []string
	for _, n := range names {
		var v string
		switch n {
		case "STOREFLEET_CONTROLPLANE_DATABASE_URL":
			v = c.ControlPlaneURL
		case "STOREFLEET_ROUTER_DATABASE_URL":
			v = c.RouterURL
		case "STOREFLEET_MASTER_KEY":
			v = string(c.MasterKey)
		case "STOREFLEET_REDIS_URL":
			v = c.RedisURL
		case "STOREFLEET_S3_ENDPOINT":
			v = c.S3Endpoint
		default:
			panic("config.Require: unknown setting " + n)
		}
		if v == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing settings %s: start the local platform with `make run` (it writes .env) or set them in the environment", strings.Join(missing, ", "))
	}
	return nil
}

func validPrefix(s string) bool {
	if len(s) < 1 || len(s) > 20 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

type parser struct {
	get  func(string) string
	errs []string
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.get(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) integer(name string, def int) int {
	v := p.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Sprintf("%s: %q is not a whole number", name, v))
	}
	return n
}

func (p *parser) boolean(name string, def bool) bool {
	v := p.get(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Sprintf("%s: %q is not true or false", name, v))
	}
	return b
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Sprintf("%s: %q is not a duration like 30s or 5m", name, v))
	}
	return d
}
