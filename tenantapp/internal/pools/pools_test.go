package pools_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/secretbox"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/pools"
	"github.com/storefleet/storefleet/tenantapp/internal/routing"
)

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// fixture is a test platform with n vendors and their routing entries.
type fixture struct {
	e       *testenv.Env
	entries []*routing.Entry
	admin   *pgxpool.Pool // the database server's admin, for pg_stat_activity
}

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	e := testenv.New(t)
	router, err := database.Open(ctx, e.RouterURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(router.Close)
	cache, err := routing.New(ctx, router, e.RouterURL, e.Cfg.BaseDomain, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	f := &fixture{e: e}
	for i := 0; i < n; i++ {
		slug := fmt.Sprintf("pool-shop-%d", i)
		e.CreateVendor(t, slug, "Pool shop")
		en, err := cache.LookupSlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		f.entries = append(f.entries, en)
	}
	f.admin, err = database.Open(ctx, e.Vars["STOREFLEET_DB_SERVER_URL"], func(c *pgxpool.Config) { c.MaxConns = 2 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.admin.Close)
	return f
}

func (f *fixture) manager(t *testing.T, o pools.Options) *pools.Manager {
	t.Helper()
	o.Box = f.e.Box
	if o.Logger == nil {
		o.Logger = logger(t)
	}
	m := pools.New(o)
	t.Cleanup(m.Close)
	return m
}

// backends counts the live PostgreSQL sessions of this test's vendor roles.
func (f *fixture) backends(t *testing.T) int {
	t.Helper()
	var n int
	err := f.admin.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE starts_with(usename, $1)`, f.e.Cfg.Prefix+"_v").Scan(&n)
	if err != nil {
		t.Fatalf("count backends: %v", err)
	}
	return n
}

func (f *fixture) backendsOf(t *testing.T, role string) int {
	t.Helper()
	var n int
	err := f.admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, role).Scan(&n)
	if err != nil {
		t.Fatalf("count backends: %v", err)
	}
	return n
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits until every connection is back in its pool (pgxpool
// returns them asynchronously), so pool use times are final.
func settle(t *testing.T, m *pools.Manager) {
	t.Helper()
	waitFor(t, 2*time.Second, "connections released", func() bool { return m.Stats().AcquiredConns == 0 })
}

func currentUser(t *testing.T, pool *pgxpool.Pool) (user, db string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pool.QueryRow(ctx, `SELECT current_user, current_database()`).Scan(&user, &db); err != nil {
		t.Fatalf("query: %v", err)
	}
	return user, db
}

func get(t *testing.T, m *pools.Manager, en *routing.Entry) *pgxpool.Pool {
	t.Helper()
	p, err := m.Get(context.Background(), en)
	if err != nil {
		t.Fatalf("Get(vendor %d): %v", en.VendorID, err)
	}
	return p
}

func TestEachVendorGetsItsOwnPoolAndRole(t *testing.T) {
	f := newFixture(t, 2)
	m := f.manager(t, pools.Options{})
	a, b := f.entries[0], f.entries[1]
	pa, pb := get(t, m, a), get(t, m, b)
	if pa == pb {
		t.Fatal("two vendors share a pool")
	}
	if again := get(t, m, a); again != pa {
		t.Fatal("a second Get made a second pool")
	}
	for _, c := range []struct {
		pool *pgxpool.Pool
		en   *routing.Entry
	}{{pa, a}, {pb, b}} {
		user, db := currentUser(t, c.pool)
		if user != c.en.Role || db != c.en.DBName {
			t.Fatalf("vendor %d's pool is connected as %s to %s, want %s to %s", c.en.VendorID, user, db, c.en.Role, c.en.DBName)
		}
	}
	if a.Role == b.Role {
		t.Fatal("vendors share a role")
	}
	// Connections go back to their pools asynchronously.
	waitFor(t, 2*time.Second, "connections idle", func() bool { return m.Stats().IdleConns == 2 })
	st := m.Stats()
	if st.OpenPools != 2 || st.TotalConns != 2 || st.IdleConns != 2 || st.AcquiredConns != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The application name shows in pg_stat_activity.
	var app string
	if err := f.admin.QueryRow(context.Background(), `SELECT application_name FROM pg_stat_activity WHERE usename = $1 LIMIT 1`,
		a.Role).Scan(&app); err != nil || app != "storefleet-tenantapp" {
		t.Fatalf("application_name %q, %v", app, err)
	}
}

func TestGlobalConnectionCapHolds(t *testing.T) {
	const (
		maxConns = 3
		vendors  = 6
		workers  = 20
		duration = time.Second
	)
	f := newFixture(t, vendors)
	m := f.manager(t, pools.Options{MaxConns: maxConns, ConnsPerVendor: 4})

	var (
		stop        atomic.Bool
		maxBackends atomic.Int64
		maxTotal    atomic.Int64
		samples     atomic.Int64
		pollErr     atomic.Value
	)
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		for !stop.Load() {
			var n int64
			err := f.admin.QueryRow(context.Background(),
				`SELECT count(*) FROM pg_stat_activity WHERE starts_with(usename, $1)`, f.e.Cfg.Prefix+"_v").Scan(&n)
			if err != nil {
				pollErr.Store(err)
				return
			}
			samples.Add(1)
			if n > maxBackends.Load() {
				maxBackends.Store(n)
			}
			if tc := m.Stats().TotalConns; tc > maxTotal.Load() {
				maxTotal.Store(tc)
			}
		}
	}()

	var ops, failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	deadline := time.Now().Add(duration)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				en := f.entries[(w+i)%vendors]
				err := func() error {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					pool, err := m.Get(ctx, en)
					if err != nil {
						return err
					}
					var user string
					if err := pool.QueryRow(ctx, `SELECT current_user FROM pg_sleep(0.001)`).Scan(&user); err != nil {
						return fmt.Errorf("vendor %d: %w", en.VendorID, err)
					}
					if user != en.Role {
						return fmt.Errorf("vendor %d's query ran as %s", en.VendorID, user)
					}
					return nil
				}()
				ops.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	<-pollDone
	if err := pollErr.Load(); err != nil {
		t.Fatalf("poll pg_stat_activity: %v", err)
	}
	st := m.Stats()
	t.Logf("%d queries in %s, %d failed; %d samples of pg_stat_activity, at most %d backends; stats %+v",
		ops.Load(), duration, failures.Load(), samples.Load(), maxBackends.Load(), st)
	if failures.Load() > 0 {
		t.Fatalf("%d of %d queries failed, first: %v", failures.Load(), ops.Load(), firstErr.Load())
	}
	if maxBackends.Load() > maxConns {
		t.Fatalf("saw %d live vendor backends, limit %d", maxBackends.Load(), maxConns)
	}
	if maxTotal.Load() > maxConns {
		t.Fatalf("TotalConns reached %d, limit %d", maxTotal.Load(), maxConns)
	}
	if maxBackends.Load() == 0 || samples.Load() < 10 {
		t.Fatalf("the poller saw nothing (%d samples)", samples.Load())
	}
	if st.Waits == 0 || st.Reclaimed+st.Waits == 0 {
		t.Fatalf("stats %+v: with 6 vendors and 3 connections something must have waited", st)
	}
	if st.OpenPools != vendors {
		t.Fatalf("%d pools open, want %d", st.OpenPools, vendors)
	}

	m.Close()
	if st := m.Stats(); st.TotalConns != 0 || st.OpenPools != 0 {
		t.Fatalf("after Close: %+v", st)
	}
	waitFor(t, 5*time.Second, "vendor backends gone after Close", func() bool { return f.backends(t) == 0 })
	if _, err := m.Get(context.Background(), f.entries[0]); !errors.Is(err, pools.ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
}

func TestLeastRecentlyUsedPoolIsEvicted(t *testing.T) {
	f := newFixture(t, 3)
	m := f.manager(t, pools.Options{MaxOpenPools: 2, EvictGrace: -1})
	a, b, c := f.entries[0], f.entries[1], f.entries[2]
	ctx := context.Background()

	pa := get(t, m, a)
	currentUser(t, pa)
	pb := get(t, m, b)
	currentUser(t, pb)
	settle(t, m)
	get(t, m, a) // a is now more recently used than b
	pc := get(t, m, c)
	currentUser(t, pc)
	settle(t, m)
	st := m.Stats()
	if st.OpenPools != 2 || st.Evictions != 1 {
		t.Fatalf("stats %+v, want 2 open pools after 1 eviction", st)
	}
	waitFor(t, 5*time.Second, "b's pool closed", func() bool { return pb.Ping(ctx) != nil })
	waitFor(t, 5*time.Second, "b's backends gone", func() bool { return f.backendsOf(t, b.Role) == 0 })
	if pa.Ping(ctx) != nil || pc.Ping(ctx) != nil {
		t.Fatal("a recently used pool was closed")
	}
	settle(t, m)

	// A pool with a connection in use is never evicted, even when least
	// recently used: c goes instead.
	held, err := pa.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(held.Release)
	get(t, m, c)
	pb2 := get(t, m, b)
	if pb2 == pb {
		t.Fatal("Get returned a closed pool")
	}
	currentUser(t, pb2)
	if st := m.Stats(); st.OpenPools != 2 || st.Evictions != 2 {
		t.Fatalf("stats %+v, want 2 open pools after 2 evictions", st)
	}
	if err := held.Ping(ctx); err != nil {
		t.Fatalf("the held connection broke: %v", err)
	}
	waitFor(t, 5*time.Second, "c's pool closed", func() bool { return pc.Ping(ctx) != nil })
	held.Release()
	if err := pa.Ping(ctx); err != nil {
		t.Fatalf("a's pool was closed although in use: %v", err)
	}

	// When every other pool is busy, the limit is exceeded rather than a
	// busy pool closed, and restored once they are free.
	settle(t, m)
	held, err = pa.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(held.Release)
	held2, err := pb2.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(held2.Release)
	pc2 := get(t, m, c)
	if st := m.Stats(); st.OpenPools != 3 {
		t.Fatalf("stats %+v, want 3 open pools while two are busy", st)
	}
	currentUser(t, pc2)
	held.Release()
	held2.Release()
	settle(t, m)
	get(t, m, c)
	if st := m.Stats(); st.OpenPools != 2 || st.Evictions != 3 {
		t.Fatalf("stats %+v: the next Get should restore the limit", st)
	}
}

func TestEvictGraceProtectsFreshPools(t *testing.T) {
	f := newFixture(t, 2)
	m := f.manager(t, pools.Options{MaxOpenPools: 1, EvictGrace: time.Hour})
	pa := get(t, m, f.entries[0])
	get(t, m, f.entries[1])
	if st := m.Stats(); st.OpenPools != 2 || st.Evictions != 0 {
		t.Fatalf("stats %+v: a pool handed out just now was evicted", st)
	}
	currentUser(t, pa)
}

func TestUnusedPoolIsClosedByJanitor(t *testing.T) {
	f := newFixture(t, 2)
	m := f.manager(t, pools.Options{IdleTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	a, b := f.entries[0], f.entries[1]
	pa := get(t, m, a)
	currentUser(t, pa)
	pb := get(t, m, b)

	// b is used all along and stays open; a is left alone and goes.
	stopB := make(chan struct{})
	doneB := make(chan struct{})
	go func() {
		defer close(doneB)
		for {
			select {
			case <-stopB:
				return
			case <-time.After(50 * time.Millisecond):
			}
			p, err := m.Get(ctx, b)
			if err != nil {
				t.Error(err)
				return
			}
			if p != pb {
				t.Error("b's pool was replaced while in use")
				return
			}
			if _, err := p.Exec(ctx, `SELECT 1`); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	waitFor(t, 5*time.Second, "a's pool closed", func() bool { return m.Stats().IdleClosed == 1 })
	close(stopB)
	<-doneB
	// The pool is closed in the background once it is counted.
	waitFor(t, 5*time.Second, "a's pool to stop working", func() bool { return pa.Ping(ctx) != nil })
	if st := m.Stats(); st.OpenPools != 1 {
		t.Fatalf("stats %+v, want b's pool only", st)
	}
	waitFor(t, 5*time.Second, "a's backends gone", func() bool { return f.backendsOf(t, a.Role) == 0 })
	waitFor(t, 5*time.Second, "b's pool closed too", func() bool { return m.Stats().OpenPools == 0 })
	waitFor(t, 5*time.Second, "all slots free", func() bool { return m.Stats().TotalConns == 0 })

	// Get makes a fresh pool for a vendor whose pool was closed.
	pa2 := get(t, m, a)
	if pa2 == pa {
		t.Fatal("Get returned the closed pool")
	}
	currentUser(t, pa2)
}

func TestChangedDatabaseReplacesPool(t *testing.T) {
	f := newFixture(t, 1)
	m := f.manager(t, pools.Options{})
	ctx := context.Background()
	en := f.entries[0]
	p1 := get(t, m, en)
	currentUser(t, p1)

	// The same password sealed again (as after a restore that kept it)
	// is another entry: the pool is replaced and the old one closed.
	pw, err := f.e.Box.Open(en.PasswordEnc, provision.PasswordContext(en.DBName))
	if err != nil {
		t.Fatal(err)
	}
	resealed := *en
	resealed.PasswordEnc = f.e.Box.Seal(pw, provision.PasswordContext(en.DBName))
	p2 := get(t, m, &resealed)
	if p2 == p1 {
		t.Fatal("a changed entry got the old pool")
	}
	if user, _ := currentUser(t, p2); user != en.Role {
		t.Fatalf("connected as %s", user)
	}
	waitFor(t, 5*time.Second, "old pool closed", func() bool { return p1.Ping(ctx) != nil })
	if st := m.Stats(); st.Replaced != 1 || st.OpenPools != 1 {
		t.Fatalf("stats %+v", st)
	}

	// A wrong password: Get succeeds (pools connect lazily), queries fail,
	// and the failed attempts leave no slot taken.
	wrong := *en
	wrong.PasswordEnc = f.e.Box.Seal([]byte("not-the-password"), provision.PasswordContext(en.DBName))
	p3 := get(t, m, &wrong)
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = p3.Exec(qctx, `SELECT 1`)
	if database.Code(err) != "28P01" { // invalid_password
		t.Fatalf("query with a wrong password: %v, want 28P01", err)
	}
	waitFor(t, 5*time.Second, "slots free after failed logins", func() bool { return m.Stats().TotalConns == 0 })

	// A moved database (another address) replaces the pool too.
	moved := *en
	moved.DBPort = 1 // nothing listens there
	p4 := get(t, m, &moved)
	if p4 == p3 {
		t.Fatal("a moved database got the old pool")
	}
	if _, err := p4.Exec(qctx, `SELECT 1`); err == nil {
		t.Fatal("connected to port 1")
	}
	if st := m.Stats(); st.Replaced != 3 || st.TotalConns != 0 {
		t.Fatalf("stats %+v", st)
	}

	// Sealed for another database name: the password does not open.
	other := *en
	other.DBName = en.DBName + "_restored"
	if _, err := m.Get(ctx, &other); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("Get with a password sealed for another database: %v, want secretbox.ErrOpen", err)
	}
}

func TestGetRefusesEntriesWithoutDatabase(t *testing.T) {
	box, err := secretbox.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	m := pools.New(pools.Options{Box: box})
	defer m.Close()
	ctx := context.Background()
	for _, en := range []*routing.Entry{
		{VendorID: 1, Slug: "x", State: "requested"},
		{VendorID: 1, Slug: "x", DBName: "db", Role: "r", DBHost: "h", DBPort: 5432}, // no password
	} {
		if _, err := m.Get(ctx, en); !errors.Is(err, pools.ErrNoDatabase) {
			t.Errorf("Get(%+v): %v, want ErrNoDatabase", en, err)
		}
	}
	if _, err := m.Get(ctx, nil); err == nil {
		t.Error("Get(nil) succeeded")
	}
	noBox := pools.New(pools.Options{})
	defer noBox.Close()
	if _, err := noBox.Get(ctx, &routing.Entry{VendorID: 1, DBName: "db", Role: "r", DBHost: "h", DBPort: 1, PasswordEnc: []byte("x")}); err == nil {
		t.Error("Get without a secret box succeeded")
	}
}

func TestWaitingForASlotHonoursTheRequestContext(t *testing.T) {
	f := newFixture(t, 2)
	m := f.manager(t, pools.Options{MaxConns: 1})
	ctx := context.Background()
	a, b := f.entries[0], f.entries[1]
	pa, pb := get(t, m, a), get(t, m, b)

	held, err := pa.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(held.Release) }
	t.Cleanup(release)
	// b needs a connection; the only slot is a's, in use.
	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = pb.Exec(qctx, `SELECT 1`)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("query while the only slot is taken: %v, want deadline exceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("gave up after %s", took)
	}
	// The dial behind it gives up too, instead of waiting ConnectTimeout.
	var st pools.Stats
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stats at the end: %+v", m.Stats())
		}
	})
	waitFor(t, 2*time.Second, "the dial stops waiting", func() bool {
		st = m.Stats()
		return st.Waiting == 0 && st.WaitFailures == 1
	})
	if st.Waits != 1 {
		t.Fatalf("stats %+v: want one wait", st)
	}

	// Hand-over: a query of b waits, and gets a's slot when a releases
	// its connection (which is then closed rather than kept idle).
	result := make(chan error, 1)
	go func() {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := pb.Exec(qctx, `SELECT 1`)
		result <- err
	}()
	waitFor(t, 2*time.Second, "b waiting", func() bool { return m.Stats().Waiting == 1 })
	release()
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("b's query after a released: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b's query did not get the slot a released")
	}

	// Reclaiming: once b's connection is idle, a's next query closes it
	// and takes the slot at once.
	waitFor(t, 2*time.Second, "b's connection idle", func() bool { return m.Stats().IdleConns == 1 })
	if _, err := pa.Exec(ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	st = m.Stats()
	if st.TotalConns != 1 || st.Reclaimed < 1 {
		t.Fatalf("stats %+v: want 1 connection, at least 1 reclaimed", st)
	}
	if n := f.backendsOf(t, b.Role); n != 0 {
		t.Fatalf("b still has %d backends", n)
	}
}

func TestCancelledQueryReturnsItsSlot(t *testing.T) {
	f := newFixture(t, 1)
	m := f.manager(t, pools.Options{MaxConns: 1})
	ctx := context.Background()
	en := f.entries[0]
	p := get(t, m, en)

	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err := p.Exec(qctx, `SELECT pg_sleep(60)`)
	cancel()
	if err == nil {
		t.Fatal("pg_sleep(60) returned within 200 ms")
	}
	// pgx cancels the query with a cancel request on a second TCP
	// connection; it must not wait for a slot (the only one is its own).
	waitFor(t, 5*time.Second, "slot free after cancel", func() bool { return m.Stats().TotalConns == 0 })
	waitFor(t, 5*time.Second, "backend gone after cancel", func() bool { return f.backendsOf(t, en.Role) == 0 })
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
	currentUser(t, p)
}

// A vendor whose pool may grow beyond the free slots must not stall: its
// second request's dial waits for a slot while the vendor's first
// connection sits idle between queries, and is given that one.
func TestOneVendorBeyondTheCapDoesNotStall(t *testing.T) {
	f := newFixture(t, 1)
	m := f.manager(t, pools.Options{MaxConns: 1, ConnsPerVendor: 3})
	en := f.entries[0]
	p := get(t, m, en)
	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	var ops atomic.Int64
	errs := make(chan error, 3)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := p.Exec(ctx, `SELECT pg_sleep(0.002)`)
				cancel()
				if err != nil {
					errs <- err
					return
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("query failed: %v (stats %+v)", err, m.Stats())
	}
	if st := m.Stats(); st.TotalConns > 1 {
		t.Fatalf("stats %+v: more than one connection", st)
	}
	t.Logf("%d queries, stats %+v", ops.Load(), m.Stats())
}
