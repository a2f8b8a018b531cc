// Package flags tells the tenant app whether a feature flag is on for a
// vendor: the vendor's override if it has one, else the flag's global
// value; a flag that does not exist is off.
//
// Flags are read through the read-only router role, which may call the
// control plane's vendor_feature_flags(vendor) function and cannot read
// the flag tables (or any setting). Each vendor's flags are cached in the
// process; the control plane announces every change on the
// storefleet_flags channel (the vendor id for an override, "*" for a
// global change), and a listening connection drops the cached flags at
// once. The TTL (WithTTL, default 30 s) is only a safety net for a lost
// notification; while the listener is down, entries are kept for a second
// at most, and the cache is flushed when it drops and when it is back,
// as the routing cache does.
package flags

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/singleflight"

	"github.com/storefleet/storefleet/tenantapp/internal/pglisten"
)

// Channel is the NOTIFY channel on which the control plane announces flag
// changes.
const Channel = "storefleet_flags"

// ListenerApplicationName is the application_name of the listening
// connection, so operators (and tests) can find it in pg_stat_activity.
const ListenerApplicationName = "storefleet-flags-listener"

// degradedTTL bounds how long flags are kept while notifications may be
// missed.
const degradedTTL = time.Second

// Stats are the cache's counters since New.
type Stats struct {
	Hits          int64 `json:"hits"`
	Queries       int64 `json:"queries"`
	Errors        int64 `json:"errors"`        // queries that failed (a stale or "off" answer was given)
	Notifications int64 `json:"notifications"` // NOTIFY messages received
	Flushes       int64 `json:"flushes"`
	Vendors       int   `json:"vendors"` // vendors cached now
	Listening     bool  `json:"listening"`
}

type options struct {
	ttl          time.Duration
	queryTimeout time.Duration
	pingInterval time.Duration
}

// Option tunes a Cache.
type Option func(*options)

// WithTTL sets how long a vendor's flags are kept when no notification
// drops them sooner (default 30 s).
func WithTTL(d time.Duration) Option { return func(o *options) { o.ttl = d } }

// WithQueryTimeout bounds one query of a vendor's flags (default 2 s).
func WithQueryTimeout(d time.Duration) Option { return func(o *options) { o.queryTimeout = d } }

type entry struct {
	flags   map[string]bool
	expires time.Time
}

// Cache answers flag questions. It is safe for concurrent use; a nil
// *Cache answers every question with "off".
type Cache struct {
	pool      *pgxpool.Pool
	listenCfg *pgx.ConnConfig
	log       *slog.Logger
	o         options
	group     singleflight.Group

	mu        sync.Mutex
	byVendor  map[int64]entry
	epoch     uint64 // bumped by every invalidation
	listening bool
	closed    bool

	hits, queries, errs, notifications, flushes atomic.Int64

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Cache that reads flags through pool (connected as the
// router role) and listens for changes on a dedicated connection to
// routerURL (if empty, the pool's own settings). It fails if the
// listening connection cannot be made; later losses are retried forever.
func New(ctx context.Context, pool *pgxpool.Pool, routerURL string, logger *slog.Logger, opts ...Option) (*Cache, error) {
	o := options{ttl: 30 * time.Second, queryTimeout: 2 * time.Second, pingInterval: 15 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if pool == nil {
		return nil, errors.New("feature flags: no router pool given")
	}
	var cfg *pgx.ConnConfig
	if routerURL != "" {
		var err error
		if cfg, err = pgx.ParseConfig(routerURL); err != nil {
			return nil, fmt.Errorf("feature flags: parse router database URL: %w", err)
		}
	} else {
		cfg = pool.Config().ConnConfig.Copy()
	}
	cfg.RuntimeParams["application_name"] = ListenerApplicationName
	c := &Cache{pool: pool, listenCfg: cfg, log: logger.With("component", "flags"), o: o,
		byVendor: map[int64]entry{}, done: make(chan struct{})}
	conn, err := c.listener().Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("feature flags: %w", err)
	}
	c.setListening(true)
	lctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(lctx, conn)
	return c, nil
}

// Close stops the listener. The pool is the caller's to close.
func (c *Cache) Close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	<-c.done
}

// Enabled reports whether the flag is on for the vendor. If the flags
// cannot be read, the last answer known is given (or "off"), and the
// failure is logged.
func (c *Cache) Enabled(ctx context.Context, vendorID int64, name string) bool {
	if c == nil {
		return false
	}
	flags, err := c.Flags(ctx, vendorID)
	if err != nil {
		c.log.Warn("cannot read feature flags; using the last known values", "vendor_id", vendorID, "flag", name, "err", err)
	}
	return flags[name]
}

// Flags returns the vendor's effective flags (those that exist). On an
// error, the last flags known (possibly expired) are returned with it.
func (c *Cache) Flags(ctx context.Context, vendorID int64) (map[string]bool, error) {
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("feature flags: cache closed")
	}
	old, cached := c.byVendor[vendorID]
	if cached && now.Before(old.expires) {
		c.mu.Unlock()
		c.hits.Add(1)
		return old.flags, nil
	}
	epoch := c.epoch
	c.mu.Unlock()

	key := strconv.FormatUint(epoch, 10) + "/" + strconv.FormatInt(vendorID, 10)
	ch := c.group.DoChan(key, func() (any, error) {
		return c.fetch(context.WithoutCancel(ctx), vendorID, epoch)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			c.errs.Add(1)
			return old.flags, r.Err
		}
		return r.Val.(map[string]bool), nil
	case <-ctx.Done():
		return old.flags, fmt.Errorf("read feature flags of vendor %d: %w", vendorID, ctx.Err())
	}
}

// fetch reads a vendor's flags and caches them, unless an invalidation
// happened since epoch was read.
func (c *Cache) fetch(ctx context.Context, vendorID int64, epoch uint64) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.queryTimeout)
	defer cancel()
	c.queries.Add(1)
	rows, err := c.pool.Query(ctx, `SELECT name, enabled FROM vendor_feature_flags($1)`, vendorID)
	if err != nil {
		return nil, fmt.Errorf("read feature flags of vendor %d: %w", vendorID, err)
	}
	flags := map[string]bool{}
	var name string
	var on bool
	if _, err := pgx.ForEachRow(rows, []any{&name, &on}, func() error { flags[name] = on; return nil }); err != nil {
		return nil, fmt.Errorf("read feature flags of vendor %d: %w", vendorID, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.o.ttl
	if !c.listening {
		ttl = min(ttl, degradedTTL)
	}
	if !c.closed && c.epoch == epoch && ttl > 0 {
		c.byVendor[vendorID] = entry{flags: flags, expires: time.Now().Add(ttl)}
	}
	return flags, nil
}

// Invalidate drops a vendor's cached flags.
func (c *Cache) Invalidate(vendorID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	delete(c.byVendor, vendorID)
}

// Flush drops every vendor's cached flags.
func (c *Cache) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *Cache) flushLocked() {
	c.epoch++
	c.flushes.Add(1)
	clear(c.byVendor)
}

// Stats returns the current counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	vendors, listening := len(c.byVendor), c.listening
	c.mu.Unlock()
	return Stats{Hits: c.hits.Load(), Queries: c.queries.Load(), Errors: c.errs.Load(),
		Notifications: c.notifications.Load(), Flushes: c.flushes.Load(), Vendors: vendors, Listening: listening}
}

func (c *Cache) setListening(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listening = up
	c.flushLocked()
}

// listener is the cache's dedicated listening connection.
func (c *Cache) listener() *pglisten.Listener {
	return &pglisten.Listener{Config: c.listenCfg, Channel: Channel, PingInterval: c.o.pingInterval,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second, Log: c.log, Name: "flags"}
}

// run receives notifications until ctx ends, reconnecting with backoff.
func (c *Cache) run(ctx context.Context, conn *pgx.Conn) {
	defer close(c.done)
	c.listener().Run(ctx, conn, c.notified, func(err error) {
		c.setListening(false)
		c.log.Warn("flags listener lost its connection; serving flags with a 1 s TTL until it is back", "err", err)
	}, func() {
		c.setListening(true)
		c.log.Info("flags listener reconnected; cache flushed")
	})
}

// notified handles one notification: a vendor's id, or "*" when a global
// value changed.
func (c *Cache) notified(payload string) {
	c.notifications.Add(1)
	if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
		c.Invalidate(id)
	} else {
		c.Flush()
	}
}
