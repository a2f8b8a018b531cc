// Package app wires the tenant app: host → tenant → pool → handler. Main
// is what the program's main and the end-to-end tests both run.
package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/secretbox"
	"github.com/storefleet/storefleet/internal/storage"
	"github.com/storefleet/storefleet/internal/viewas"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/static"
	"github.com/storefleet/storefleet/templates"
	"github.com/storefleet/storefleet/tenantapp/internal/account"
	"github.com/storefleet/storefleet/tenantapp/internal/backoffice"
	"github.com/storefleet/storefleet/tenantapp/internal/checkout"
	"github.com/storefleet/storefleet/tenantapp/internal/flags"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/pools"
	"github.com/storefleet/storefleet/tenantapp/internal/routing"
	"github.com/storefleet/storefleet/tenantapp/internal/shopper"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// App is a wired tenant app.
type App struct {
	cfg       *config.Config
	log       *slog.Logger
	router    *pgxpool.Pool
	routes    *routing.Cache
	flags     *flags.Cache // feature flags (docs/settings.md)
	pools     *pools.Manager
	redis     *redis.Client
	extras    *redisExtras // cache and rate limits (issue 8 item 10, redisextras.go)
	templates *web.Templates
	mailer    *mail.Mailer
	media     *media.Service   // nil without an object store
	stripe    *payments.Client // nil: payments are off
	shoppers  *shopper.Sessions
	shop      *mux.Router // every vendor's routes, behind the tenant middleware
	handler   http.Handler
}

// New connects the tenant app's dependencies: the control-plane database
// as the read-only router role, the routing cache and the pool manager.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*App, error) {
	if err := cfg.Require("STOREFLEET_ROUTER_DATABASE_URL", "STOREFLEET_MASTER_KEY"); err != nil {
		return nil, err
	}
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		return nil, err
	}
	tmpl, err := web.ParseTemplates(templates.FS, "tenantapp", nil)
	if err != nil {
		return nil, fmt.Errorf("load storefront templates: %w", err)
	}
	router, err := database.Open(ctx, cfg.RouterURL, func(c *pgxpool.Config) { c.MaxConns = 8 })
	if err != nil {
		return nil, fmt.Errorf("connect to the control plane as the router role: %w", err)
	}
	mailer, err := mail.New(cfg.SMTPURL, templates.FS, "tenantapp")
	if err != nil {
		router.Close()
		return nil, fmt.Errorf("e-mail: %w", err)
	}
	a := &App{cfg: cfg, log: logger, router: router, templates: tmpl, mailer: mailer}
	a.routes, err = routing.New(ctx, router, cfg.RouterURL, cfg.BaseDomain, logger)
	if err != nil {
		router.Close()
		return nil, err
	}
	a.pools = pools.New(pools.Options{
		Box: box, MaxOpenPools: cfg.PoolMaxOpen, MaxConns: cfg.PoolMaxConns,
		ConnsPerVendor: cfg.PoolConnsPerVend, IdleTimeout: cfg.PoolIdleTimeout, SSLMode: cfg.DBSSLMode, Logger: logger,
		ConnectTimeout: cfg.PoolConnectTimeout,
	})
	// Feature flags (issue 8): read through the router role, cached per vendor, dropped on NOTIFY.
	if a.flags, err = flags.New(ctx, router, cfg.RouterURL, logger); err != nil {
		a.Close()
		return nil, err
	}
	// end of the feature flags block
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("STOREFLEET_REDIS_URL: %w", err)
		}
		tuneRedis(opt) // short timeouts (issue 8 item 10, redisextras.go)
		a.redis = redis.NewClient(opt)
	}
	if cfg.S3Endpoint != "" {
		objects, err := storage.NewAdmin(storage.Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey, Secure: cfg.S3Secure, Region: cfg.S3Region})
		if err != nil {
			a.Close()
			return nil, err
		}
		a.media = media.New(media.Options{Objects: objects, Pools: a.pools, Routes: a.routes, Logger: logger})
		a.media.Worker.Start()
	}
	if a.stripe, err = payments.New(payments.Config{SecretKey: cfg.StripeSecretKey, URL: cfg.StripeURL}); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.setupRedisExtras(); err != nil { // cache and rate limits (issue 8 item 10, redisextras.go)
		a.Close()
		return nil, err
	}
	a.handler = a.routesHandler()
	return a, nil
}

// Handler is the whole tenant app as an http.Handler.
func (a *App) Handler() http.Handler { return a.handler }

// ShopRouter is the router of a vendor's routes (tests walk it).
func (a *App) ShopRouter() *mux.Router { return a.shop }

// Pools exposes the pool manager (statistics, tests).
func (a *App) Pools() *pools.Manager { return a.pools }

// Close releases every connection.
func (a *App) Close() {
	if a.routes != nil {
		a.routes.Close()
	}
	a.flags.Close() // feature flags; nil-safe
	if a.media != nil {
		a.media.Worker.Stop() // before the pools close
	}
	if a.pools != nil {
		a.pools.Close()
	}
	if a.redis != nil {
		_ = a.redis.Close()
	}
	a.router.Close()
}

func (a *App) routesHandler() http.Handler {
	rs := &web.Responder{Logger: a.log, Page: a.errorPage}
	root := mux.NewRouter()
	root.HandleFunc("/healthz", web.Healthz).Methods(http.MethodGet)
	checks := []web.Check{{Name: "controlplane", Ping: a.router.Ping}}
	if a.redis != nil {
		checks = append(checks, web.Check{Name: "redis", Optional: true, Ping: func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }})
	}
	root.HandleFunc("/readyz", web.Readyz(checks...)).Methods(http.MethodGet)
	root.HandleFunc("/metrics/pools", a.handlePoolStats).Methods(http.MethodGet)
	prom := a.newMetrics()                                                            // Prometheus (issue 8 monitoring, metrics.go)
	root.Handle("/metrics", prom.Handler(a.cfg.MetricsToken)).Methods(http.MethodGet) // loopback or STOREFLEET_METRICS_TOKEN
	staticFS, _ := fs.Sub(static.FS, ".")
	root.PathPrefix("/static/").Handler(http.StripPrefix("/static/", cacheForever(http.FileServerFS(staticFS))))

	shop := mux.NewRouter()
	a.shop = shop
	// rate limits, then the storefront cache (issue 8 item 10, redisextras.go)
	shop.Use(a.redisMiddlewares(rs)...)
	shop.Use(a.media.Middleware) // the back office finds the media library; first sight of a vendor resumes its media jobs
	a.media.Routes(shop, rs)     // GET /media/{id}/{size}
	bo := backoffice.New(backoffice.Options{Templates: a.templates, Redis: a.redisClient(), Responder: rs, Logger: a.log,
		CookieSecure: a.cfg.CookieSecure, KeyPrefix: "sf:" + a.cfg.Prefix + ":t:"}).SetMailer(a.mailer, a.cfg.TenantPublicURL).SetWork(routerWork{a.router})
	bo.SetPayments(a.stripe, routerWork{a.router})
	// the console's read-only "view as vendor" (viewas.go)
	bo.SetViewAs(routerWork{a.router}, viewas.Key(a.cfg.MasterKey))
	bo.SetDomains(a.vendorDomains()) // the Domains page (domains.go)
	bo.Routes(shop)
	bo.APIRoutes(shop)
	a.shoppers = shopper.New(shopper.Options{Redis: a.redisClient(), Responder: rs, CookieSecure: a.cfg.CookieSecure,
		KeyPrefix: "sf:" + a.cfg.Prefix + ":s:", Merge: checkout.Merge})
	checkout.New(checkout.Options{Templates: a.templates, Responder: rs, Sessions: a.shoppers, Stripe: a.stripe,
		PublishableKey: a.cfg.StripePublishableKey, TestPayments: a.cfg.StripeTestPayments && strings.HasPrefix(a.cfg.StripeSecretKey, "sk_test_"),
		Emulated: a.cfg.StripeURL != "", PublicURL: a.cfg.TenantPublicURL, Platform: routerWork{a.router}, Logger: a.log}).Routes(shop)
	// account: wired by the accounts engineer
	account.New(account.Options{Sessions: a.shoppers, Templates: a.templates, Responder: rs, Logger: a.log,
		PublicURL: a.cfg.TenantPublicURL, Work: routerWork{a.router}, Redis: a.redisClient(),
		KeyPrefix: "sf:" + a.cfg.Prefix + ":a:"}).Routes(shop)
	// end of the accounts engineer's block
	// A product page offers "Add to cart" when carts can be kept (Redis)
	// and paid for; the form needs no token (CrossOriginProtection).
	canBuy := a.redis != nil && a.stripe != nil
	(&storefront.Handler{Templates: a.templates, CartForm: func(*http.Request) (string, bool) { return "", canBuy }, Flags: a.flags}).Routes(shop, rs)
	shop.NotFoundHandler = rs.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		return &web.Error{Status: http.StatusNotFound, Message: "This page does not exist in the shop."}
	})
	mw := &tenant.Middleware{Resolver: a.routes, Pools: a.pools, TrustedProxies: a.cfg.TrustedProxies,
		FallbackHost: a.cfg.BaseDomain, Responder: rs, Logger: a.log, PublicURL: a.cfg.TenantPublicURL,
		// every request's work is bounded (timeouts.go, docs/faults.md)
		Timeout: a.cfg.RequestTimeout, LongTimeout: a.cfg.LongRequestTimeout, Long: longRequest}
	root.NotFoundHandler = mw.Wrap(shop)
	root.MethodNotAllowedHandler = mw.Wrap(shop)

	return a.instrument(prom, web.WithRequestID(web.WithLogging(a.log, web.WithSecureHeaders(root))), root, shop) // issue 8 monitoring
}

// routerWork asks the control plane for vendor work through the router
// role, which may call request_vendor_work and nothing else that writes.
type routerWork struct{ pool *pgxpool.Pool }

func (w routerWork) RequestWork(ctx context.Context, vendorID int64, kind string) error {
	if _, err := w.pool.Exec(ctx, `SELECT request_vendor_work($1, $2)`, vendorID, kind); err != nil {
		return fmt.Errorf("ask the control plane to run %s of vendor %d: %w", kind, vendorID, err)
	}
	return nil
}

// RegisterStripeAccount records the Stripe account a vendor connected.
func (w routerWork) RegisterStripeAccount(ctx context.Context, vendorID int64, account string) error {
	if _, err := w.pool.Exec(ctx, `SELECT register_stripe_account($1, $2)`, vendorID, account); err != nil {
		return fmt.Errorf("record the Stripe account of vendor %d: %w", vendorID, err)
	}
	return nil
}

// CommissionBP is the platform's commission in basis points.
func (w routerWork) CommissionBP(ctx context.Context) (int, error) {
	var bp int
	if err := w.pool.QueryRow(ctx, `SELECT platform_commission_bp()`).Scan(&bp); err != nil {
		return 0, fmt.Errorf("read the platform's commission: %w", err)
	}
	return bp, nil
}

// handlePoolStats serves GET /metrics/pools: the pool manager's numbers,
// for operators and the benchmarks (Prometheus metrics come later).
// redisClient is the Redis client, or nil (an untyped nil interface) if
// none is configured.
func (a *App) redisClient() redis.UniversalClient {
	if a.redis == nil {
		return nil
	}
	return a.redis
}

func (a *App) handlePoolStats(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r) {
		http.NotFound(w, r)
		return
	}
	web.WriteJSON(w, http.StatusOK, a.pools.Stats())
}

func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}

func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	switch status {
	case http.StatusNotFound:
		title = "Shop not found"
		if t := tenant.FromContext(r.Context()); t != nil {
			title = "Page not found"
		}
	case http.StatusServiceUnavailable:
		title = "Closed for now"
	}
	data := struct {
		storefront.Page
		Title, Message, RequestID string
	}{storefront.Page{ShopName: "Storefleet", Alpine: static.Alpine}, title, message, web.RequestID(r.Context())}
	if err := a.templates.Render(w, status, "notice", data); err != nil {
		http.Error(w, message, status)
	}
}

func cacheForever(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}

// Main runs the tenant app until ctx is done.
type Main struct {
	Config *config.Config
	Logger *slog.Logger
	// Listener, if set, is used instead of listening on Config.TenantAddr.
	Listener net.Listener
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	a, err := New(ctx, m.Config, m.Logger)
	if err != nil {
		return err
	}
	defer a.Close()
	ln := m.Listener
	if ln == nil {
		ln, err = net.Listen("tcp", m.Config.TenantAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", m.Config.TenantAddr, err)
		}
	}
	m.Logger.Info("tenant app listening", "addr", ln.Addr().String())
	return web.Serve(ctx, web.NewServer(ln.Addr().String(), a.Handler(), m.Logger), ln, 20*time.Second)
}
