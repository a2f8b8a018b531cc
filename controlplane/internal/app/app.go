// Package app is the control-plane program: it wires the platform store,
// the provisioner, Redis sessions, the admin console and the admin API
// into one HTTP server. main calls Main.Run; tests start the same program
// through Main, on a listener of their own or through Handler.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/controlplane/internal/api"
	"github.com/storefleet/storefleet/controlplane/internal/backups"
	"github.com/storefleet/storefleet/controlplane/internal/console"
	"github.com/storefleet/storefleet/controlplane/internal/operations"
	"github.com/storefleet/storefleet/controlplane/internal/rollouts"
	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/metrics"
	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/redisstore"
	"github.com/storefleet/storefleet/internal/viewas"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/internal/wiring"
)

// SessionPrefix starts the Redis key of every admin session.
const SessionPrefix = "sf:cp:session:"

// SessionCookie is the name of the admin session cookie.
const SessionCookie = "sf_admin"

// Main is the control-plane program. Set Config (and optionally the
// fields after it), then call Run; or call Open and serve Handler
// yourself (tests use httptest), then Close.
type Main struct {
	Config *config.Config
	Logger *slog.Logger

	// Platform, if set, is used instead of opening one from Config (tests
	// pass testenv's). Main does not close it.
	Platform *wiring.Platform
	// Redis, if set, is used instead of connecting to Config.RedisURL.
	// Main does not close it.
	Redis redis.UniversalClient
	// Listener, if set, is served instead of listening on
	// Config.ControlPlaneAddr. Run closes it.
	Listener net.Listener
	// ShutdownGrace is how long requests in flight may take to finish when
	// Run's context ends (default 15 s).
	ShutdownGrace time.Duration
	// MigrationSet is the tenant migration set that the console and the
	// API read schema status against and resume rollouts with; the zero
	// value means migrate.Tenant (tests inject a set with extra migrations).
	MigrationSet migrate.Set
	// NoJobs keeps Run from starting the job system (scheduled backups,
	// verification, reconcile).
	NoJobs bool
	// DomainResolver looks up the TXT records that verify custom domains
	// (default: DNS); tests give a domains.MemoryResolver. TLSAskLimit is
	// how many TLS asks one client address may make a minute (default
	// tlsask.DefaultLimit). See domains.go.
	DomainResolver domains.Resolver
	TLSAskLimit    int

	domains *domains.Service
	handler http.Handler
	closers []func()

	jobOutcomes *metrics.JobOutcomes // job outcome metrics (issue 8, metrics.go)
}

// New returns the program for a configuration.
func New(cfg *config.Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger}
}

// Open connects to the control-plane database, the object store and
// Redis, parses every template and builds the handler. A broken template
// or an unreachable setting stops it here, not at the first request.
func (m *Main) Open(ctx context.Context) (err error) {
	if m.handler != nil {
		return nil
	}
	if m.Config == nil {
		return errors.New("control plane: no configuration")
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if m.Platform == nil {
		p, err := wiring.Open(ctx, m.Config, m.Logger, wiring.Options{})
		if err != nil {
			return fmt.Errorf("control plane: %w", err)
		}
		m.Platform = p
		m.closers = append(m.closers, func() { p.Close(); m.Platform = nil })
	}
	if m.Redis == nil {
		if err := m.Config.Require("STOREFLEET_REDIS_URL"); err != nil {
			return fmt.Errorf("control plane: %w", err)
		}
		opts, err := redis.ParseURL(m.Config.RedisURL)
		if err != nil {
			return fmt.Errorf("control plane: STOREFLEET_REDIS_URL: %w", err)
		}
		shortRedisTimeouts(opts) // redisdown.go
		c := redis.NewClient(opts)
		m.Redis = c
		m.closers = append(m.closers, func() { _ = c.Close(); m.Redis = nil })
	}
	h, err := m.routes()
	if err != nil {
		return fmt.Errorf("control plane: %w", err)
	}
	m.handler = h
	return nil
}

// sessions is the admin session manager: scs over Redis, one key per
// session under SessionPrefix.
func (m *Main) sessions(rs *web.Responder) *scs.SessionManager {
	s := scs.New()
	s.Store = redisstore.New(m.Redis, SessionPrefix) // saves have their own bound, past the request's deadline
	s.HashTokenInStore = true
	s.Codec = redisstore.Codec{}
	s.Lifetime = 12 * time.Hour
	s.IdleTimeout = 2 * time.Hour
	s.Cookie.Name = SessionCookie
	s.Cookie.Path = "/admin"
	s.Cookie.HttpOnly = true
	s.Cookie.SameSite = http.SameSiteLaxMode
	s.Cookie.Secure = m.Config.CookieSecure
	s.Cookie.Persist = false // ends with the browser
	// a clear 503 while Redis is down (redisdown.go)
	s.ErrorFunc = sessionStoreDown(rs)
	return s
}

// Handler is the whole control plane as an http.Handler (after Open).
func (m *Main) Handler() http.Handler { return m.handler }

// Run opens the program if needed and serves until ctx is done, then
// shuts down gracefully and closes what it opened.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Open(ctx); err != nil {
		return err
	}
	defer m.Close()
	ln := m.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", m.Config.ControlPlaneAddr); err != nil {
			return fmt.Errorf("control plane: listen: %w", err)
		}
	}
	grace := m.ShutdownGrace
	if grace == 0 {
		grace = 15 * time.Second
	}
	if !m.NoJobs {
		if err := jobs.Migrate(ctx, m.Platform.Store.Pool()); err != nil {
			return fmt.Errorf("control plane: %w", err)
		}
		runner, err := jobs.Start(ctx, m.Platform, m.Logger, jobs.Options{
			Marketplace: marketplace.Config{AllowPrivateURLs: m.Config.FetchPrivateURLs}, Domains: m.domainService()})
		if err != nil {
			return fmt.Errorf("control plane: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			if err := runner.Stop(sctx); err != nil {
				m.Logger.Warn("jobs did not stop in time", "err", err)
			}
		}()
		defer m.watchJobs(runner)() // job outcome metrics (metrics.go); stops before the runner
		m.Logger.Info("jobs running", "schedules", runner.Schedules())
	}
	m.Logger.Info("control plane listening", "addr", ln.Addr().String(), "console", "/admin/", "api", "/api/v1/")
	err := web.Serve(ctx, web.NewServer(ln.Addr().String(), m.handler, m.Logger), ln, grace)
	m.Logger.Info("control plane stopped")
	return err
}

// Close cancels the rollouts and the backup operations the console or the
// API started and waits for them to record how far they got, then
// releases the connections Main opened itself. It is safe to call more
// than once.
func (m *Main) Close() {
	for i := len(m.closers) - 1; i >= 0; i-- {
		m.closers[i]()
	}
	m.closers = nil
	m.handler = nil
}

// consoleAndAPI builds the two audiences' handlers over one responder, one
// rollout service and one backups service, whose background work Close
// stops.
func (m *Main) consoleAndAPI() (*console.Handler, *api.Handler, *web.Responder, error) {
	rs := &web.Responder{Logger: m.Logger, Unavailable: consoleUnavailable}
	ro := rollouts.New(rollouts.Options{Store: m.Platform.Store, Prov: m.Platform.Prov, Logger: m.Logger, Set: m.MigrationSet})
	m.closers = append(m.closers, ro.Close) // closed first: runs stop before the pools they use
	ops := operations.New(operations.Options{Logger: m.Logger})
	m.closers = append(m.closers, ops.Close) // likewise
	bk := backups.New(backups.Options{Store: m.Platform.Store, Backups: m.Platform.Backups, Ops: ops, Logger: m.Logger})
	cons, err := console.New(console.Options{
		Store: m.Platform.Store, Prov: m.Platform.Prov, Rollouts: ro, Backups: bk, Sessions: m.sessions(rs), Responder: rs,
		Admins: m.adminService(), TenantPublicURL: m.Config.TenantPublicURL, // Admins: admins.go
		Logger: m.Logger, Domains: m.domainService(),
		ViewAsKey: viewas.Key(m.Config.MasterKey), // "view as vendor" tickets
	})
	if err != nil {
		return nil, nil, nil, err
	}
	rs.Page = cons.ErrorPage
	a := api.New(api.Options{Store: m.Platform.Store, Prov: m.Platform.Prov, Rollouts: ro, Backups: bk, Responder: rs,
		TenantPublicURL: m.Config.TenantPublicURL, Logger: m.Logger, Domains: m.domainService()})
	return cons, a, rs, nil
}

// consoleUnavailable is the console's and the admin API's answer when the
// platform's database (or another service) cannot be reached.
const consoleUnavailable = "The platform cannot reach one of its services right now. Please try again in a moment."
