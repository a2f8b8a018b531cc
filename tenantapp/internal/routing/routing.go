// Package routing maps a request's canonical host to the vendor that owns
// it, through a cache in front of the control plane's routing_entries view.
//
// The cache is kept fresh by PostgreSQL LISTEN/NOTIFY: every change to a
// vendor, its domains, databases or buckets fires a notification on the
// channel storefleet_routing with the vendor id as payload (see the
// notify_routing trigger in migrations/controlplane), and a background
// goroutine holding a dedicated connection drops that vendor's entries at
// once. The TTLs are only a safety net.
//
// Connection loss. While the listening connection is down, notifications
// are lost, so the cache is flushed when the connection drops and again
// when it is back (anything cached in between may have missed a change),
// and in between entries are kept for a short TTL only (WithDegradedTTL,
// default 1 s) instead of not at all. We chose the short TTL over
// bypassing the cache because the listener can be down while queries still
// work (its backend terminated, a pooler that does not support LISTEN, a
// connection limit reached), and then bypassing would turn every request
// into a control-plane query; one second of staleness matches what NOTIFY
// itself promises. WithDegradedTTL(0) bypasses the cache instead.
//
// Everything the cache reads comes through the read-only router role,
// which may select from routing_entries and nothing else; the cache never
// connects to a vendor database.
package routing

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

	"github.com/storefleet/storefleet/tenantapp/internal/hostname"
	"github.com/storefleet/storefleet/tenantapp/internal/pglisten"
)

// Channel is the NOTIFY channel on which the control plane announces
// routing changes; the payload is the vendor id.
const Channel = "storefleet_routing"

// ListenerApplicationName is the application_name of the listening
// connection, so operators (and tests) can find it in pg_stat_activity.
const ListenerApplicationName = "storefleet-routing-listener"

// ErrUnknownHost means no live vendor answers at the host (or the host is
// not a valid name at all). Callers answer 404 without touching any
// vendor database.
var ErrUnknownHost = errors.New("routing: unknown host")

// ErrClosed is returned by lookups on a closed Cache.
var ErrClosed = errors.New("routing: cache closed")

// Entry is what the tenant app needs to serve one host: the vendor, where
// its database lives and how to log in to it. Entries returned by the
// Cache are copies, but PasswordEnc is shared and must not be modified.
type Entry struct {
	VendorID int64
	Slug     string
	Name     string
	// State is the vendor's lifecycle state ("active", "suspended", one of
	// the provisioning states, or "deleting"); the cache returns every
	// state and leaves the answer (page, 503, 404) to the caller.
	State string
	// Host is the canonical host the entry was found by.
	Host string
	// DBName, Role and PasswordEnc are the vendor's current database, its
	// role and the role's password sealed with the master key under
	// provision.PasswordContext(DBName). Empty while provisioning.
	DBName        string
	Role          string
	PasswordEnc   []byte
	SchemaVersion int64
	DBHost        string
	DBPort        int
	Bucket        string
	// ReadOnly is set while the vendor is being moved between database
	// servers: pages browse, writes get a maintenance answer.
	ReadOnly bool
	// PrimaryHost is the vendor's primary domain as the control plane
	// knows it: links in e-mails are built from it, never from a request.
	PrimaryHost string
	// RedirectHost, if set, is the host this one redirects to: the
	// primary name of an apex and www pair (docs/domains.md).
	RedirectHost string
}

// Stats are the cache's counters since New, for /metrics.
type Stats struct {
	Hits          int64 `json:"hits"`          // lookups answered from the cache (either kind)
	NegativeHits  int64 `json:"negative_hits"` // of Hits, those answered "unknown host"
	Misses        int64 `json:"misses"`        // lookups that needed the database
	Queries       int64 `json:"queries"`       // queries actually run (Misses less the coalesced ones)
	Coalesced     int64 `json:"coalesced"`     // misses that shared another lookup's query (singleflight)
	Notifications int64 `json:"notifications"` // NOTIFY messages received
	Invalidations int64 `json:"invalidations"` // cache entries dropped by notifications and flushes
	Flushes       int64 `json:"flushes"`       // times the whole cache was dropped (connection lost or regained)
	Reconnects    int64 `json:"reconnects"`    // times the listening connection was re-established
	Entries       int   `json:"entries"`       // hosts cached now, positive
	Negative      int   `json:"negative"`      // hosts cached now as unknown
	Listening     bool  `json:"listening"`     // the LISTEN connection is up: invalidation is immediate
}

type options struct {
	ttl          time.Duration
	negativeTTL  time.Duration
	degradedTTL  time.Duration
	maxNegative  int
	queryTimeout time.Duration
	minBackoff   time.Duration
	maxBackoff   time.Duration
	pingInterval time.Duration
}

// Option tunes a Cache.
type Option func(*options)

// WithTTL sets how long a found entry is kept while the listening
// connection is up (default 5 minutes). NOTIFY drops it sooner on any
// change; the TTL only bounds the damage of a lost notification.
func WithTTL(d time.Duration) Option { return func(o *options) { o.ttl = d } }

// WithNegativeTTL sets how long "unknown host" is remembered (default 5 s).
// Any notification drops every negative entry, so a new vendor's host
// resolves at once.
func WithNegativeTTL(d time.Duration) Option { return func(o *options) { o.negativeTTL = d } }

// WithDegradedTTL sets how long entries are kept while the listening
// connection is down (default 1 s); 0 bypasses the cache entirely then.
func WithDegradedTTL(d time.Duration) Option { return func(o *options) { o.degradedTTL = d } }

// WithMaxNegative bounds the number of remembered unknown hosts (default
// 10000), so a client inventing host names cannot grow the cache without
// limit. When full, further unknown hosts are not remembered.
func WithMaxNegative(n int) Option { return func(o *options) { o.maxNegative = n } }

// WithQueryTimeout bounds one routing query (default 5 s). The query is
// shared by every concurrent lookup of the host, so it does not run under
// any single caller's context; each caller still stops waiting when its
// own context ends.
func WithQueryTimeout(d time.Duration) Option { return func(o *options) { o.queryTimeout = d } }

// WithReconnectBackoff sets the first and the longest wait between
// attempts to re-establish the listening connection (default 100 ms, 10 s,
// doubling, with jitter).
func WithReconnectBackoff(min, max time.Duration) Option {
	return func(o *options) { o.minBackoff, o.maxBackoff = min, max }
}

// WithPingInterval sets how often the idle listening connection is pinged
// to notice a silently dead connection (default 15 s).
func WithPingInterval(d time.Duration) Option { return func(o *options) { o.pingInterval = d } }

type positive struct {
	entry   *Entry
	expires time.Time
}

// Cache resolves hosts to vendors. It is safe for concurrent use.
type Cache struct {
	pool       *pgxpool.Pool
	listenCfg  *pgx.ConnConfig
	baseDomain string
	log        *slog.Logger
	o          options

	group singleflight.Group

	mu        sync.Mutex
	pos       map[string]positive           // host -> entry
	neg       map[string]time.Time          // host -> expiry of "unknown"
	byVendor  map[int64]map[string]struct{} // vendor id -> hosts in pos
	epoch     uint64                        // bumped by every invalidation
	listening bool
	closed    bool

	hits, negHits, misses, queries, coalesced      atomic.Int64
	notifications, invalidations, flushes, reconns atomic.Int64

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Cache that queries routing_entries through pool (connected
// as the read-only router role) and listens for changes on a dedicated
// connection to routerURL (if empty, the pool's own connection settings
// are used). baseDomain is the parent of vendor subdomains, for
// LookupSlug. New fails if the listening connection cannot be made, so a
// misconfiguration shows at start-up; later losses are retried forever.
func New(ctx context.Context, pool *pgxpool.Pool, routerURL, baseDomain string, logger *slog.Logger, opts ...Option) (*Cache, error) {
	o := options{
		ttl:          5 * time.Minute,
		negativeTTL:  5 * time.Second,
		degradedTTL:  time.Second,
		maxNegative:  10000,
		queryTimeout: 5 * time.Second,
		minBackoff:   100 * time.Millisecond,
		maxBackoff:   10 * time.Second,
		pingInterval: 15 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.minBackoff <= 0 {
		o.minBackoff = 10 * time.Millisecond
	}
	if o.maxBackoff < o.minBackoff {
		o.maxBackoff = o.minBackoff
	}
	if o.pingInterval <= 0 {
		o.pingInterval = 15 * time.Second
	}
	if o.queryTimeout <= 0 {
		o.queryTimeout = 5 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if pool == nil {
		return nil, errors.New("routing cache: no router pool given")
	}
	base, err := hostname.Canonical(baseDomain)
	if err != nil {
		return nil, fmt.Errorf("routing cache: base domain: %w", err)
	}
	var cfg *pgx.ConnConfig
	if routerURL != "" {
		cfg, err = pgx.ParseConfig(routerURL)
		if err != nil {
			return nil, fmt.Errorf("routing cache: parse router database URL: %w", err)
		}
	} else {
		cfg = pool.Config().ConnConfig.Copy()
	}
	cfg.RuntimeParams["application_name"] = ListenerApplicationName
	c := &Cache{
		pool: pool, listenCfg: cfg, baseDomain: base, log: logger.With("component", "routing"), o: o,
		pos: map[string]positive{}, neg: map[string]time.Time{}, byVendor: map[int64]map[string]struct{}{},
		done: make(chan struct{}),
	}
	conn, err := c.listener().Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("routing cache: %w", err)
	}
	c.setListening(true)
	lctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(lctx, conn)
	return c, nil
}

// Close stops the listener and waits for it; later lookups fail with
// ErrClosed. The pool is the caller's to close.
func (c *Cache) Close() {
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
	c.flush()
}

// Stats returns the current counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	entries, negative, listening := len(c.pos), len(c.neg), c.listening
	c.mu.Unlock()
	return Stats{
		Hits: c.hits.Load(), NegativeHits: c.negHits.Load(), Misses: c.misses.Load(),
		Queries: c.queries.Load(), Coalesced: c.coalesced.Load(),
		Notifications: c.notifications.Load(), Invalidations: c.invalidations.Load(),
		Flushes: c.flushes.Load(), Reconnects: c.reconns.Load(),
		Entries: entries, Negative: negative, Listening: listening,
	}
}

// LookupSlug resolves the path-based fallback /vendor/<slug>/: the vendor
// whose subdomain is <slug>.<base domain>. A slug that is not a single
// host-name label, or whose host belongs to a vendor with another slug,
// is unknown.
func (c *Cache) LookupSlug(ctx context.Context, slug string) (*Entry, error) {
	if slug == "" || len(slug) > 63 {
		return nil, fmt.Errorf("%w: bad vendor slug", ErrUnknownHost)
	}
	for i := 0; i < len(slug); i++ {
		if ch := slug[i]; !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return nil, fmt.Errorf("%w: bad vendor slug", ErrUnknownHost)
		}
	}
	e, err := c.Lookup(ctx, slug+"."+c.baseDomain)
	if err != nil {
		return nil, err
	}
	if e.Slug != slug {
		return nil, fmt.Errorf("%w: %s.%s is not the subdomain of vendor %q", ErrUnknownHost, slug, c.baseDomain, slug)
	}
	return e, nil
}

// Lookup returns the vendor at host, or an error wrapping ErrUnknownHost
// if there is none. host is canonicalised first (see hostname.Canonical);
// a malformed host is unknown and costs no query. Concurrent lookups of
// one uncached host share one query.
func (c *Cache) Lookup(ctx context.Context, host string) (*Entry, error) {
	h, err := hostname.Canonical(host)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownHost, err)
	}
	now := time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if p, ok := c.pos[h]; ok {
		if now.Before(p.expires) {
			c.mu.Unlock()
			c.hits.Add(1)
			cp := *p.entry
			return &cp, nil
		}
		c.dropHostLocked(h, p.entry.VendorID)
	}
	if exp, ok := c.neg[h]; ok {
		if now.Before(exp) {
			c.mu.Unlock()
			c.hits.Add(1)
			c.negHits.Add(1)
			return nil, unknown(h)
		}
		delete(c.neg, h)
	}
	epoch := c.epoch
	c.mu.Unlock()
	c.misses.Add(1)

	// The epoch is part of the key: a lookup that starts after an
	// invalidation never joins a query that started before it.
	key := strconv.FormatUint(epoch, 10) + "/" + h
	leader := false // set if this caller's function is the one that runs
	ch := c.group.DoChan(key, func() (any, error) {
		leader = true
		return c.fetch(context.WithoutCancel(ctx), h, epoch)
	})
	select {
	case r := <-ch:
		if !leader {
			c.coalesced.Add(1)
		}
		if r.Err != nil {
			return nil, r.Err
		}
		cp := *r.Val.(*Entry)
		return &cp, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("look up host %q: %w", h, ctx.Err())
	}
}

func unknown(host string) error { return fmt.Errorf("%w: %s", ErrUnknownHost, host) }

const lookupSQL = `SELECT vendor_id, slug, name, state, host,
	COALESCE(db_name, ''), COALESCE(role_name, ''), password_enc, COALESCE(schema_version, 0),
	COALESCE(db_host, ''), COALESCE(db_port, 0), COALESCE(bucket, ''), read_only, COALESCE(primary_host, ''),
	COALESCE(redirect_host, '')
	FROM routing_entries WHERE host = $1`

// fetch runs the routing query for host and caches the answer, unless an
// invalidation happened since epoch was read (then the answer may predate
// the change, and it is returned to the callers but not kept).
func (c *Cache) fetch(ctx context.Context, host string, epoch uint64) (*Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.queryTimeout)
	defer cancel()
	c.queries.Add(1)
	var e Entry
	err := c.pool.QueryRow(ctx, lookupSQL, host).Scan(&e.VendorID, &e.Slug, &e.Name, &e.State, &e.Host,
		&e.DBName, &e.Role, &e.PasswordEnc, &e.SchemaVersion, &e.DBHost, &e.DBPort, &e.Bucket, &e.ReadOnly, &e.PrimaryHost,
		&e.RedirectHost)
	if errors.Is(err, pgx.ErrNoRows) {
		c.storeNegative(host, epoch)
		return nil, unknown(host)
	}
	if err != nil {
		return nil, fmt.Errorf("look up host %q in routing_entries: %w", host, err)
	}
	c.storePositive(host, &e, epoch)
	return &e, nil
}

// ttlLocked returns how long a new entry may be kept now, 0 for not at all.
func (c *Cache) ttlLocked(d time.Duration) time.Duration {
	if !c.listening {
		d = min(d, c.o.degradedTTL)
	}
	return d
}

func (c *Cache) storePositive(host string, e *Entry, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.ttlLocked(c.o.ttl)
	if c.closed || c.epoch != epoch || ttl <= 0 {
		return
	}
	if old, ok := c.pos[host]; ok {
		c.dropHostLocked(host, old.entry.VendorID)
	}
	delete(c.neg, host)
	c.pos[host] = positive{entry: e, expires: time.Now().Add(ttl)}
	hosts := c.byVendor[e.VendorID]
	if hosts == nil {
		hosts = map[string]struct{}{}
		c.byVendor[e.VendorID] = hosts
	}
	hosts[host] = struct{}{}
}

func (c *Cache) storeNegative(host string, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.ttlLocked(c.o.negativeTTL)
	if c.closed || c.epoch != epoch || ttl <= 0 {
		return
	}
	now := time.Now()
	if len(c.neg) >= c.o.maxNegative {
		for h, exp := range c.neg {
			if !now.Before(exp) {
				delete(c.neg, h)
			}
		}
		if len(c.neg) >= c.o.maxNegative {
			return
		}
	}
	c.neg[host] = now.Add(ttl)
}

func (c *Cache) dropHostLocked(host string, vendorID int64) {
	delete(c.pos, host)
	if hosts := c.byVendor[vendorID]; hosts != nil {
		delete(hosts, host)
		if len(hosts) == 0 {
			delete(c.byVendor, vendorID)
		}
	}
}

// Invalidate drops every cached entry of a vendor, and every negative
// entry (one of them may be a host the vendor just gained). The listener
// calls it for each notification; callers may use it when they learn
// that an entry is stale (for instance a login with its password failed).
func (c *Cache) Invalidate(vendorID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	n := len(c.neg)
	clear(c.neg)
	for h := range c.byVendor[vendorID] {
		delete(c.pos, h)
		n++
	}
	delete(c.byVendor, vendorID)
	c.invalidations.Add(int64(n))
}

// flush drops everything.
func (c *Cache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *Cache) flushLocked() {
	c.epoch++
	c.invalidations.Add(int64(len(c.pos) + len(c.neg)))
	c.flushes.Add(1)
	clear(c.pos)
	clear(c.neg)
	clear(c.byVendor)
}

// setListening records the listener's state. Both transitions flush: on
// loss, notifications may be missed from now on; on regain, some were
// missed while down (and entries cached meanwhile may predate them).
func (c *Cache) setListening(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listening = up
	c.flushLocked()
}

// listener is the cache's dedicated listening connection.
func (c *Cache) listener() *pglisten.Listener {
	return &pglisten.Listener{Config: c.listenCfg, Channel: Channel, PingInterval: c.o.pingInterval,
		MinBackoff: c.o.minBackoff, MaxBackoff: c.o.maxBackoff, Log: c.log, Name: "routing"}
}

// run receives notifications until ctx ends, reconnecting with backoff
// whenever the connection is lost.
func (c *Cache) run(ctx context.Context, conn *pgx.Conn) {
	defer close(c.done)
	c.listener().Run(ctx, conn, c.notified, func(err error) {
		c.setListening(false)
		c.log.Warn("routing listener lost its connection; cache flushed, serving with a short TTL until it is back",
			"err", err, "degraded_ttl", c.o.degradedTTL)
	}, func() {
		c.reconns.Add(1)
		c.setListening(true)
		c.log.Info("routing listener reconnected; cache flushed")
	})
}

// notified handles one notification: the payload is the vendor whose
// routes changed.
func (c *Cache) notified(payload string) {
	c.notifications.Add(1)
	id, err := strconv.ParseInt(payload, 10, 64)
	if err != nil {
		c.log.Warn("routing notification with a payload that is not a vendor id; flushing the cache", "payload", payload)
		c.flush()
		return
	}
	c.Invalidate(id)
}
