// Package pools hands out one pgx pool per vendor, connected as that
// vendor's own role, and keeps the whole tenant app inside a global limit
// of PostgreSQL connections.
//
// The global limit is enforced where connections are made: every pool's
// dial function takes a slot from one weighted semaphore before it opens a
// TCP connection, and the slot comes back exactly once, when that
// connection is closed. When no slot is free, idle connections of other
// vendors' pools are closed first (least recently used pools first), and
// then the dial waits, for as long as the request that needs the
// connection is willing to wait. While dials are waiting, a connection
// released by another vendor's pool is closed instead of kept idle, which
// hands its slot over.
//
// A slot is given back only after the server has closed its end of the
// connection (the client half-closes and reads to EOF, for at most a few
// seconds), which PostgreSQL does once the backend has exited. So the
// number of live backends, as pg_stat_activity shows them, stays within the
// limit, not only the number of sockets this process holds. Cancel
// requests, which PostgreSQL serves without a backend slot, do not take a
// slot (they would otherwise wait for the very slot their connection
// holds).
//
// Pools are closed when they have not been used for IdleTimeout (a janitor
// goroutine checks), when more than MaxOpenPools are open (least recently
// used first), and when a vendor's database address, name, role or
// password changes (the stale pool is closed as soon as its connections
// are returned). A pool with acquired connections is never closed, so
// MaxOpenPools is a soft limit: it is restored by the next Get or janitor
// round after pools are free again.
package pools

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/semaphore"

	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/secretbox"
	"github.com/storefleet/storefleet/tenantapp/internal/routing"
)

// Defaults for zero Options fields; they match the STOREFLEET_POOL_*
// defaults in internal/config.
const (
	DefaultMaxOpenPools   = 500
	DefaultMaxConns       = 200
	DefaultConnsPerVendor = 4
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultEvictGrace     = time.Second
	DefaultConnectTimeout = 5 * time.Second
	DefaultCooldown       = 5 * time.Second
)

// drainTimeout bounds how long closing a connection waits for the server
// to end the session before its slot is handed on regardless.
const drainTimeout = 3 * time.Second

// Options configures a Manager. Zero fields take the defaults above.
type Options struct {
	// Box opens the vendors' sealed database passwords.
	Box *secretbox.Box
	// MaxOpenPools is the most vendor pools kept open at once.
	MaxOpenPools int
	// MaxConns is the most PostgreSQL connections across all pools.
	MaxConns int
	// ConnsPerVendor is the most connections in one vendor's pool.
	ConnsPerVendor int
	// IdleTimeout closes a pool unused this long, and an idle connection
	// kept this long.
	IdleTimeout time.Duration
	// EvictGrace protects a pool used this recently from LRU eviction, so
	// that a pool just handed out by Get is not closed before the caller
	// acquires a connection from it. Negative: no grace.
	EvictGrace time.Duration
	// ConnectTimeout bounds one connection attempt, waiting for a slot
	// included (the request's context may end it sooner).
	ConnectTimeout time.Duration
	// Cooldown is how long a vendor whose database stopped answering is
	// refused at once (Get: UnreachableError) before one request tries it
	// again (breaker.go); default DefaultCooldown.
	Cooldown time.Duration
	// SSLMode is the libpq sslmode for vendor connections; default
	// "prefer", as the provisioner uses.
	SSLMode string
	// ApplicationName is shown in pg_stat_activity; default
	// "storefleet-tenantapp".
	ApplicationName string
	Logger          *slog.Logger
}

// Errors of Get.
var (
	ErrClosed     = errors.New("pools: manager closed")
	ErrNoDatabase = errors.New("pools: vendor has no database yet")
)

// Stats describe the manager at one moment, for /metrics.
type Stats struct {
	OpenPools     int   `json:"open_pools"`
	MaxConns      int   `json:"max_conns"`
	TotalConns    int64 `json:"total_conns"`    // connections open or being opened: slots in use
	AcquiredConns int64 `json:"acquired_conns"` // connections in use by requests
	IdleConns     int64 `json:"idle_conns"`     // connections open and idle in their pools
	Waiting       int64 `json:"waiting"`        // dials waiting for a slot now
	Waits         int64 `json:"waits"`          // dials that had to wait for a slot, ever
	WaitFailures  int64 `json:"wait_failures"`  // of those, the ones that gave up
	Reclaimed     int64 `json:"reclaimed"`      // idle connections closed to free a slot
	Evictions     int64 `json:"evictions"`      // pools closed because MaxOpenPools was exceeded
	IdleClosed    int64 `json:"idle_closed"`    // pools closed after IdleTimeout unused
	Replaced      int64 `json:"replaced"`       // pools closed because the vendor's database changed
	BreakerTrips  int64 `json:"breaker_trips"`  // vendor databases found not answering (breaker.go)
}

// Manager owns the vendor pools. It is safe for concurrent use.
type Manager struct {
	o   Options
	log *slog.Logger

	sem     *semaphore.Weighted
	inUse   atomic.Int64
	waiting atomic.Int64
	wake    signal

	waits, waitFailures, reclaimed, evictions, idleClosed, replaced, breakerTrips atomic.Int64

	mu     sync.Mutex
	pools  map[int64]*vendorPool
	closed bool

	closing     sync.WaitGroup // pools being closed in the background
	stop        chan struct{}
	janitorDone chan struct{}
}

// poolKey is everything about a vendor's database that a pool is built
// from; an entry with another key needs another pool.
type poolKey struct {
	host     string
	port     int
	db, role string
	password [sha256.Size]byte // of the sealed password
}

type vendorPool struct {
	vendorID int64
	key      poolKey
	pool     *pgxpool.Pool
	lastUsed atomic.Int64 // unix nanoseconds
	waiting  atomic.Int64 // this pool's dials waiting for a slot
	// openUntil is the breaker (breaker.go): 0 while the database
	// answers; else, in unix nanoseconds, until when requests are refused
	// without trying it.
	openUntil atomic.Int64
}

func (vp *vendorPool) touch() { vp.lastUsed.Store(time.Now().UnixNano()) }

func (vp *vendorPool) idleFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, vp.lastUsed.Load()))
}

// busy reports whether the pool has connections in use or being made.
func (vp *vendorPool) busy() bool {
	st := vp.pool.Stat()
	return st.AcquiredConns() > 0 || st.ConstructingConns() > 0
}

// New returns a Manager and starts its janitor. Close stops it.
func New(o Options) *Manager {
	if o.MaxOpenPools <= 0 {
		o.MaxOpenPools = DefaultMaxOpenPools
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.ConnsPerVendor <= 0 {
		o.ConnsPerVendor = DefaultConnsPerVendor
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.EvictGrace == 0 {
		o.EvictGrace = DefaultEvictGrace
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Cooldown <= 0 {
		o.Cooldown = DefaultCooldown
	}
	if o.SSLMode == "" {
		o.SSLMode = "prefer"
	}
	if o.ApplicationName == "" {
		o.ApplicationName = "storefleet-tenantapp"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		o: o, log: o.Logger.With("component", "pools"),
		sem:   semaphore.NewWeighted(int64(o.MaxConns)),
		pools: map[int64]*vendorPool{},
		stop:  make(chan struct{}), janitorDone: make(chan struct{}),
	}
	go m.janitor()
	return m
}

// Get returns the pool of the entry's vendor, connected as the vendor's
// role to its current database, making it if needed. Making a pool does
// not connect: connections are opened as queries need them, each within
// the global limit. If the entry names another database, role, address
// or password than the vendor's open pool, that pool is replaced.
//
// The pool stays valid while it is in use; a caller should not keep it
// beyond the request it was got for, since an unused pool may be closed.
// Callers should pass fresh entries (from the routing cache): a request
// still holding an entry from before a move would flip the pool back.
func (m *Manager) Get(ctx context.Context, e *routing.Entry) (*pgxpool.Pool, error) {
	if e == nil || e.VendorID <= 0 {
		return nil, errors.New("pools: get pool: no vendor given")
	}
	if e.DBName == "" || e.Role == "" || e.DBHost == "" || e.DBPort == 0 || len(e.PasswordEnc) == 0 {
		return nil, fmt.Errorf("get pool of vendor %d (%s): %w", e.VendorID, e.Slug, ErrNoDatabase)
	}
	key := poolKey{host: e.DBHost, port: e.DBPort, db: e.DBName, role: e.Role, password: sha256.Sum256(e.PasswordEnc)}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if vp := m.pools[e.VendorID]; vp != nil {
		if vp.key == key {
			vp.touch() // refused or not: a shop being asked for is not the one to evict
			if err := m.admit(vp); err != nil {
				return nil, err
			}
			if len(m.pools) > m.o.MaxOpenPools {
				m.evictLocked(vp) // pools that were busy before may be free now
			}
			return vp.pool, nil
		}
		delete(m.pools, e.VendorID)
		m.replaced.Add(1)
		m.log.Info("vendor database changed; replacing its pool", "vendor", e.VendorID,
			"old_db", vp.key.db, "new_db", key.db, "old_host", vp.key.host, "new_host", key.host)
		m.closeAsync(vp)
	}
	vp, err := m.open(ctx, e, key)
	if err != nil {
		return nil, err
	}
	m.pools[e.VendorID] = vp
	m.evictLocked(vp)
	return vp.pool, nil
}

// open builds a vendor's pool (without connecting).
func (m *Manager) open(ctx context.Context, e *routing.Entry, key poolKey) (*vendorPool, error) {
	if m.o.Box == nil {
		return nil, errors.New("pools: no secret box to open vendor passwords with")
	}
	pw, err := m.o.Box.Open(e.PasswordEnc, provision.PasswordContext(e.DBName))
	if err != nil {
		return nil, fmt.Errorf("open database password of vendor %d (%s): %w", e.VendorID, e.Slug, err)
	}
	// A keyword/value string rather than a URL, so that a Unix socket
	// directory works as a host too.
	dsn := strings.Join([]string{
		"host=" + dsnValue(e.DBHost),
		"port=" + strconv.Itoa(e.DBPort),
		"dbname=" + dsnValue(e.DBName),
		"user=" + dsnValue(e.Role),
		"password=" + dsnValue(string(pw)),
		"sslmode=" + dsnValue(m.o.SSLMode),
		"application_name=" + dsnValue(m.o.ApplicationName),
	}, " ")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in the error text.
		return nil, fmt.Errorf("configure pool of vendor %d (%s): %w", e.VendorID, e.Slug, err)
	}
	vp := &vendorPool{vendorID: e.VendorID, key: key}
	vp.touch()
	cfg.MaxConns = int32(m.o.ConnsPerVendor)
	cfg.MinConns = 0
	cfg.MinIdleConns = 0
	cfg.MaxConnIdleTime = m.o.IdleTimeout
	cfg.HealthCheckPeriod = min(max(m.o.IdleTimeout/2, 100*time.Millisecond), time.Minute)
	cfg.ConnConfig.ConnectTimeout = m.o.ConnectTimeout
	cfg.ConnConfig.Tracer = &poolTracer{m: m, vp: vp}
	// pgxpool pings a connection idle for more than a second before handing
	// it out, without telling the tracer: ping it here instead, so that a
	// database that hangs on the ping counts for the breaker too. A failed
	// ping lets the pool ping again (at once over, its time being spent),
	// which drops the connection.
	cfg.ShouldPing = func(ctx context.Context, p pgxpool.ShouldPingParams) bool {
		if p.IdleDuration <= time.Second {
			return false
		}
		ctx = startWait(ctx)
		err := p.Conn.PgConn().Ping(ctx)
		m.outcome(ctx, vp, err)
		return err != nil
	}
	// Every connection gets a dialer of its own, which knows whether it
	// already holds a live connection (then a dial is a cancel request).
	cfg.ConnConfig.DialFunc = (&dialer{m: m, vp: vp}).dial
	cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		cc.DialFunc = (&dialer{m: m, vp: vp}).dial
		return nil
	}
	pool, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool of vendor %d (%s): %w", e.VendorID, e.Slug, err)
	}
	vp.pool = pool
	return vp, nil
}

// dsnValue quotes a value for a libpq keyword/value connection string.
func dsnValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// released is told (by the pool's tracer, before the connection goes
// back) that a connection of vp is being released. If dials of other
// vendors wait for a slot, they are woken to reclaim it once it idles.
// (pgxpool's AfterRelease hook would let us close it right here, but with
// a hook pgxpool puts every released connection back from a goroutine of
// its own, so a request's next query, a moment later, finds none idle and
// dials another: two connections per request instead of one.)
func (m *Manager) released(vp *vendorPool) {
	vp.touch()
	if m.waiting.Load()-vp.waiting.Load() > 0 {
		m.wake.broadcast()
	}
}

// evictLocked closes least recently used pools, other than keep, until no
// more than MaxOpenPools are open or none can be closed.
func (m *Manager) evictLocked(keep *vendorPool) {
	now := time.Now()
	for len(m.pools) > m.o.MaxOpenPools {
		var victim *vendorPool
		for _, vp := range m.pools {
			if vp == keep || vp.idleFor(now) < m.o.EvictGrace || vp.busy() {
				continue
			}
			if victim == nil || vp.lastUsed.Load() < victim.lastUsed.Load() {
				victim = vp
			}
		}
		if victim == nil {
			return
		}
		delete(m.pools, victim.vendorID)
		m.evictions.Add(1)
		m.log.Debug("closing least recently used vendor pool", "vendor", victim.vendorID, "open_pools", len(m.pools))
		m.closeAsync(victim)
	}
}

// closeAsync closes a pool that is no longer in m.pools. pgxpool's Close
// waits for acquired connections to come back, so it runs on its own.
func (m *Manager) closeAsync(vp *vendorPool) {
	m.closing.Add(1)
	go func() {
		defer m.closing.Done()
		vp.pool.Close()
	}()
}

// janitor closes pools unused for IdleTimeout and restores MaxOpenPools.
func (m *Manager) janitor() {
	defer close(m.janitorDone)
	t := time.NewTicker(min(max(m.o.IdleTimeout/4, 10*time.Millisecond), 30*time.Second))
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sweep()
		}
	}
}

func (m *Manager) sweep() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	for id, vp := range m.pools {
		if vp.idleFor(now) >= m.o.IdleTimeout && !vp.busy() {
			delete(m.pools, id)
			m.idleClosed.Add(1)
			m.log.Debug("closing unused vendor pool", "vendor", id, "unused_for", vp.idleFor(now).Round(time.Second))
			m.closeAsync(vp)
		}
	}
	m.evictLocked(nil)
}

// Stats returns the manager's current figures.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	st := Stats{OpenPools: len(m.pools), MaxConns: m.o.MaxConns}
	for _, vp := range m.pools {
		ps := vp.pool.Stat()
		st.AcquiredConns += int64(ps.AcquiredConns())
		st.IdleConns += int64(ps.IdleConns())
	}
	m.mu.Unlock()
	st.TotalConns = m.inUse.Load()
	st.Waiting = m.waiting.Load()
	st.Waits = m.waits.Load()
	st.WaitFailures = m.waitFailures.Load()
	st.Reclaimed = m.reclaimed.Load()
	st.Evictions = m.evictions.Load()
	st.IdleClosed = m.idleClosed.Load()
	st.Replaced = m.replaced.Load()
	st.BreakerTrips = m.breakerTrips.Load()
	return st
}

// Close closes every pool, waiting for connections in use to be
// returned, and stops the janitor. Get fails with ErrClosed afterwards.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	pools := m.pools
	m.pools = map[int64]*vendorPool{}
	m.mu.Unlock()
	close(m.stop)
	<-m.janitorDone
	for _, vp := range pools {
		m.closeAsync(vp)
	}
	m.closing.Wait()
}

// acquireSlot takes a connection slot for a dial of vp's pool: at once if
// one is free, else after closing idle connections of other pools, else
// when one is released, until ctx or the request's context ends.
func (m *Manager) acquireSlot(ctx context.Context, vp *vendorPool) error {
	if m.sem.TryAcquire(1) {
		m.inUse.Add(1)
		return nil
	}
	// pgxpool dials under a context that keeps the request's values but
	// not its cancellation; poolTracer put the request's context there.
	if req, ok := ctx.Value(requestCtxKey{}).(context.Context); ok {
		if err := req.Err(); err != nil {
			// Nobody waits for this connection any more (pgconn still
			// tries its sslmode fallback after a cancelled first attempt).
			return fmt.Errorf("wait for one of %d database connections to be free: %w: %w", m.o.MaxConns, errNoSlot, err)
		}
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		stop := context.AfterFunc(req, func() { cancel(req.Err()) })
		defer func() { stop(); cancel(nil) }()
	}
	if ctx.Err() != nil {
		return fmt.Errorf("wait for one of %d database connections to be free: %w: %w", m.o.MaxConns, errNoSlot, context.Cause(ctx))
	}
	m.waiting.Add(1)
	vp.waiting.Add(1)
	defer func() {
		vp.waiting.Add(-1)
		m.waiting.Add(-1)
	}()
	// A backstop poll: a released connection goes idle just after the
	// wake-up its release sends, and one whose release raced with this
	// wait starting may have gone idle without one.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	waited := false
	for {
		wake := m.wake.wait()
		if m.sem.TryAcquire(1) {
			m.inUse.Add(1)
			return nil
		}
		if m.reclaim(vp) > 0 {
			continue
		}
		if !waited {
			waited = true
			m.waits.Add(1)
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-ctx.Done():
			m.waitFailures.Add(1)
			return fmt.Errorf("wait for one of %d database connections to be free: %w: %w", m.o.MaxConns, errNoSlot, context.Cause(ctx))
		}
	}
}

// releaseSlot gives back a slot taken by acquireSlot.
func (m *Manager) releaseSlot() {
	m.inUse.Add(-1)
	m.sem.Release(1)
	m.wake.broadcast()
}

// reclaim closes idle connections to free slots and returns how many it
// closed (their slots are free when it returns). Surplus goes first: the
// idle connections beyond one of the least recently used pool that has
// several, so that a burst (a request and a background job of one vendor
// at once) does not, once over, push the connections of every vendor
// round the cap again and again. Then all the idle connections of the
// least recently used pool that has any. The dialing pool's own idle
// connections come last: closing one to open another is waste, but better
// than waiting while it idles (a request of the pool may be waiting for
// this very dial).
func (m *Manager) reclaim(self *vendorPool) int {
	m.mu.Lock()
	cands := make([]*vendorPool, 0, len(m.pools))
	for _, vp := range m.pools {
		if vp != self {
			cands = append(cands, vp)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(cands, func(a, b *vendorPool) int {
		la, lb := a.lastUsed.Load(), b.lastUsed.Load()
		switch {
		case la < lb:
			return -1
		case la > lb:
			return 1
		}
		return 0
	})
	for _, vp := range cands {
		if vp.pool.Stat().IdleConns() < 2 {
			continue
		}
		conns := vp.pool.AcquireAllIdle(context.Background())
		if len(conns) < 2 {
			for _, c := range conns {
				c.Release()
			}
			continue
		}
		conns[0].Release() // the one the pool keeps
		return m.closeConns(conns[1:])
	}
	cands = append(cands, self)
	for _, vp := range cands {
		if vp.pool.Stat().IdleConns() == 0 {
			continue
		}
		conns := vp.pool.AcquireAllIdle(context.Background())
		if len(conns) == 0 {
			continue
		}
		if vp == self {
			// One is enough; the others go back.
			for _, c := range conns[1:] {
				c.Release()
			}
			conns = conns[:1]
		}
		return m.closeConns(conns)
	}
	return 0
}

// closeConns closes acquired idle connections for good, freeing their
// slots.
func (m *Manager) closeConns(conns []*pgxpool.Conn) int {
	for _, c := range conns {
		pc := c.Hijack()
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		_ = pc.Close(ctx)
		cancel()
	}
	m.reclaimed.Add(int64(len(conns)))
	return len(conns)
}

// signal is a broadcast: wait returns a channel closed by the next
// broadcast.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// dialer opens the TCP connections of one PostgreSQL connection: the
// connection itself (and a second try, as sslmode=prefer falls back to
// plain text) and, while that connection is live, its cancel requests.
type dialer struct {
	m    *Manager
	vp   *vendorPool
	mu   sync.Mutex
	live int // connections opened by this dialer and not yet closed
}

var netDialer = &net.Dialer{KeepAlive: 30 * time.Second}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	cancelRequest := d.live > 0
	d.mu.Unlock()
	if cancelRequest {
		// PostgreSQL serves a cancel request without a backend slot, and
		// the slot this dial would wait for may be its own connection's.
		return netDialer.DialContext(ctx, network, addr)
	}
	if err := d.m.acquireSlot(ctx, d.vp); err != nil {
		return nil, err
	}
	conn, err := netDialer.DialContext(ctx, network, addr)
	if err != nil {
		d.m.releaseSlot()
		return nil, err
	}
	d.mu.Lock()
	d.live++
	d.mu.Unlock()
	return &slotConn{Conn: conn, release: func() {
		d.mu.Lock()
		d.live--
		d.mu.Unlock()
		d.m.releaseSlot()
	}}, nil
}

// slotConn holds a connection slot until it is closed.
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and then gives its slot back, once. It
// half-closes first and reads until the server closes its end, which
// PostgreSQL does when the backend has exited (after it read the
// Terminate message pgx sends, or the end of the stream), so the slot is
// not reused while the old backend still occupies one of the server's.
func (c *slotConn) Close() error {
	var err error
	c.once.Do(func() {
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			_ = c.Conn.SetReadDeadline(time.Now().Add(drainTimeout))
			_, _ = io.Copy(io.Discard, c.Conn)
		}
		err = c.Conn.Close()
		c.release()
	})
	return err
}

// requestCtxKey carries the context of the Acquire that caused a dial.
type requestCtxKey struct{}

// poolTracer notes pool use for LRU and idle closing, and passes the
// acquiring request's context to the dialer, which otherwise sees only a
// context that pgxpool detaches from the request's cancellation.
type poolTracer struct {
	m  *Manager
	vp *vendorPool
}

// TraceRelease implements pgxpool.ReleaseTracer.
func (t *poolTracer) TraceRelease(_ *pgxpool.Pool, _ pgxpool.TraceReleaseData) { t.m.released(t.vp) }

func (t *poolTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return startWait(ctx)
}

func (t *poolTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	t.m.outcome(ctx, t.vp, d.Err)
}

// TraceBatchStart, TraceBatchQuery and TraceBatchEnd implement
// pgx.BatchTracer: a batch's outcome counts as a query's.
func (t *poolTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return startWait(ctx)
}

func (t *poolTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t *poolTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	t.m.outcome(ctx, t.vp, d.Err)
}

// TraceConnectStart and TraceConnectEnd implement pgx.ConnectTracer: a
// connection attempt that timed out counts as a query that did.
func (t *poolTracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return startWait(ctx)
}

func (t *poolTracer) TraceConnectEnd(ctx context.Context, d pgx.TraceConnectEndData) {
	t.m.outcome(ctx, t.vp, d.Err)
}

func (t *poolTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	t.vp.touch()
	return context.WithValue(ctx, requestCtxKey{}, ctx)
}

// TraceAcquireEnd: waiting for one of the pool's connections says nothing
// of the database (they may be busy with slow but answered statements);
// a database that hangs shows in the statement or dial that hangs.
func (t *poolTracer) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {}
