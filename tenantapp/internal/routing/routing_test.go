package routing_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/routing"
)

var actor = platform.Actor{Kind: "system", Name: "routing-test"}

type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// newCache connects a routing cache as the test's read-only router role.
func newCache(t *testing.T, e *testenv.Env, opts ...routing.Option) (*routing.Cache, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool, err := database.Open(ctx, e.RouterURL, func(c *pgxpool.Config) { c.MaxConns = 4 })
	if err != nil {
		t.Fatalf("open router pool: %v", err)
	}
	t.Cleanup(pool.Close)
	logger := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := routing.New(ctx, pool, e.RouterURL, e.Cfg.BaseDomain, logger, opts...)
	if err != nil {
		t.Fatalf("routing.New: %v", err)
	}
	t.Cleanup(c.Close)
	return c, pool
}

func host(e *testenv.Env, slug string) string { return slug + "." + e.Cfg.BaseDomain }

// superuser connects to the control-plane database as the cluster's
// superuser, for terminating and altering roles.
func superuser(t *testing.T, e *testenv.Env) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	var cpDB string
	if err := e.CP.QueryRow(ctx, `SELECT current_database()`).Scan(&cpDB); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(e.Vars["STOREFLEET_PG_SUPERUSER_URL"])
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = cpDB
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect as superuser: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// terminateListener kills the cache's LISTEN backend and returns how many
// it found (1 expected).
func terminateListener(t *testing.T, su *pgx.Conn, e *testenv.Env) int {
	t.Helper()
	var n int
	err := su.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND usename = $2`,
		routing.ListenerApplicationName, e.Cfg.Prefix+"_router").Scan(&n)
	if err != nil {
		t.Fatalf("terminate listener: %v", err)
	}
	return n
}

// waitFor polls cond every 10 ms until it holds or the timeout passes,
// and returns how long it took.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func mustLookup(t *testing.T, c *routing.Cache, h string) *routing.Entry {
	t.Helper()
	en, err := c.Lookup(context.Background(), h)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", h, err)
	}
	return en
}

func TestLookup(t *testing.T) {
	e := testenv.New(t)
	v := e.CreateVendor(t, "acme", "Acme Goods")
	c, _ := newCache(t, e)
	ctx := context.Background()

	en := mustLookup(t, c, host(e, "acme"))
	if en.VendorID != v.ID || en.Slug != "acme" || en.Name != "Acme Goods" || en.State != "active" ||
		en.Host != host(e, "acme") || en.DBName != v.DBName || en.Role != v.RoleName || en.Bucket != v.Bucket ||
		en.SchemaVersion != v.SchemaVersion || en.SchemaVersion == 0 || en.DBHost == "" || en.DBPort == 0 {
		t.Fatalf("entry %+v does not match vendor %+v", en, v)
	}
	pw, err := e.Box.Open(en.PasswordEnc, provision.PasswordContext(en.DBName))
	if err != nil || len(pw) == 0 {
		t.Fatalf("entry's password does not open: %v", err)
	}

	// Other spellings of the same host are hits.
	for _, h := range []string{"ACME." + e.Cfg.BaseDomain, host(e, "acme") + ":8080", host(e, "acme") + "."} {
		if got := mustLookup(t, c, h); got.VendorID != v.ID {
			t.Fatalf("Lookup(%q) = vendor %d", h, got.VendorID)
		}
	}
	st := c.Stats()
	if st.Queries != 1 || st.Hits != 3 || st.Misses != 1 || st.Entries != 1 || !st.Listening {
		t.Fatalf("stats %+v, want 1 query, 3 hits, 1 entry, listening", st)
	}

	// Returned entries are copies.
	en.Slug = "changed"
	if mustLookup(t, c, host(e, "acme")).Slug != "acme" {
		t.Fatal("changing a returned entry changed the cache")
	}

	// The path-based fallback.
	bySlug, err := c.LookupSlug(ctx, "acme")
	if err != nil || bySlug.VendorID != v.ID {
		t.Fatalf("LookupSlug(acme) = %+v, %v", bySlug, err)
	}
	for _, slug := range []string{"nope", "", "ACME", "acme.localhost", "acme/x", "a_b", "acme." + e.Cfg.BaseDomain} {
		if _, err := c.LookupSlug(ctx, slug); !errors.Is(err, routing.ErrUnknownHost) {
			t.Errorf("LookupSlug(%q) error %v, want ErrUnknownHost", slug, err)
		}
	}
}

func TestUnknownHostTouchesNoVendorDatabase(t *testing.T) {
	e := testenv.New(t)
	v := e.CreateVendor(t, "known", "Known")
	c, _ := newCache(t, e, routing.WithNegativeTTL(time.Hour))
	ctx := context.Background()

	for i := 0; i < 3; i++ {
		if _, err := c.Lookup(ctx, "nobody."+e.Cfg.BaseDomain); !errors.Is(err, routing.ErrUnknownHost) {
			t.Fatalf("Lookup of an unknown host: %v, want ErrUnknownHost", err)
		}
	}
	if st := c.Stats(); st.Queries != 1 || st.NegativeHits != 2 || st.Negative != 1 {
		t.Fatalf("stats %+v: want one query, then two negative hits", st)
	}
	// Malformed hosts cost no query at all.
	for _, h := range []string{"", "evil..example", "127.0.0.1", "a_b.example", "user@known." + e.Cfg.BaseDomain} {
		if _, err := c.Lookup(ctx, h); !errors.Is(err, routing.ErrUnknownHost) {
			t.Fatalf("Lookup(%q): %v, want ErrUnknownHost", h, err)
		}
	}
	if st := c.Stats(); st.Queries != 1 {
		t.Fatalf("malformed hosts ran queries: %+v", st)
	}

	// Nobody is connected to the vendor's database...
	var sessions int
	if err := e.CP.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, v.DBName).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if sessions != 0 {
		t.Fatalf("%d sessions on vendor database %s", sessions, v.DBName)
	}
	// ...and the router role could not be: it may not connect there.
	cfg, err := pgx.ParseConfig(e.RouterURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = v.DBName
	if conn, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		conn.Close(ctx)
		t.Fatal("the router role can connect to a vendor database")
	}
}

func TestRouterRoleReadsOnlyTheRoutingView(t *testing.T) {
	e := testenv.New(t)
	e.CreateVendor(t, "ro-shop", "Read-only")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.RouterURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM routing_entries`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("router role reads routing_entries: %d rows, %v", n, err)
	}
	for _, q := range []string{
		`SELECT * FROM db_servers`,
		`SELECT * FROM admins`,
		`SELECT * FROM admin_api_tokens`,
		`SELECT * FROM vendors`,
		`SELECT * FROM vendor_databases`,
		`SELECT * FROM domains`,
		`SELECT * FROM buckets`,
		`SELECT * FROM platform_settings`,
		`SELECT * FROM feature_flags`, // flags only through vendor_feature_flags(): see tenantapp/internal/flags
		`SELECT * FROM feature_flag_overrides`,
		`SELECT * FROM audit_log`,
		`DELETE FROM routing_entries`,
		`UPDATE routing_entries SET state = 'active'`,
		`INSERT INTO routing_entries (host) VALUES ('x.example')`,
		`CREATE TABLE sneaky (id int)`,
	} {
		_, err := conn.Exec(ctx, q)
		switch code := database.Code(err); {
		case code == "42501": // insufficient_privilege
		case code == "55000" && !strings.HasPrefix(q, "SELECT"): // the view is not updatable for anyone
		default:
			t.Errorf("%s as the router role: %v, want permission denied", q, err)
		}
	}
}

func TestSuspendIsVisibleThroughNotify(t *testing.T) {
	e := testenv.New(t)
	v := e.CreateVendor(t, "sleepy", "Sleepy")
	// Long TTLs: only NOTIFY can make the change visible in time.
	c, _ := newCache(t, e, routing.WithTTL(time.Hour), routing.WithNegativeTTL(time.Hour))
	ctx := context.Background()
	h := host(e, "sleepy")

	if en := mustLookup(t, c, h); en.State != "active" {
		t.Fatalf("state %q, want active", en.State)
	}
	mustLookup(t, c, h)
	if st := c.Stats(); st.Hits != 1 {
		t.Fatalf("stats %+v: the entry is not cached", st)
	}

	if _, err := e.Prov.Suspend(ctx, actor, "sleepy", "unpaid"); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 5*time.Second, "suspension visible", func() bool { return mustLookup(t, c, h).State == "suspended" })
	if took > time.Second {
		t.Errorf("suspension took %s to show, want under a second", took)
	}
	if st := c.Stats(); st.Notifications == 0 || st.Invalidations == 0 {
		t.Fatalf("stats %+v: no notification seen", st)
	}

	if _, err := e.Prov.Resume(ctx, actor, "sleepy"); err != nil {
		t.Fatal(err)
	}
	took = waitFor(t, 5*time.Second, "resumption visible", func() bool { return mustLookup(t, c, h).State == "active" })
	if took > time.Second {
		t.Errorf("resumption took %s to show", took)
	}

	if _, err := e.Prov.DeleteVendor(ctx, actor, "sleepy", provision.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "deletion visible", func() bool { return mustLookup(t, c, h).State == "deleting" })
	if _, err := e.Prov.DeleteVendor(ctx, actor, "sleepy", provision.DeleteOptions{Now: true}); err != nil {
		t.Fatal(err)
	}
	took = waitFor(t, 5*time.Second, "deleted vendor unknown", func() bool {
		_, err := c.Lookup(ctx, h)
		if err != nil && !errors.Is(err, routing.ErrUnknownHost) {
			t.Fatal(err)
		}
		return err != nil
	})
	if took > time.Second {
		t.Errorf("deletion took %s to show", took)
	}
	_ = v
}

func TestNewVendorResolvesAtOnceAfterNegativeLookup(t *testing.T) {
	e := testenv.New(t)
	c, _ := newCache(t, e, routing.WithNegativeTTL(time.Hour))
	ctx := context.Background()
	h := host(e, "latecomer")

	if _, err := c.Lookup(ctx, h); !errors.Is(err, routing.ErrUnknownHost) {
		t.Fatalf("before creation: %v, want ErrUnknownHost", err)
	}
	if _, err := c.LookupSlug(ctx, "latecomer"); !errors.Is(err, routing.ErrUnknownHost) {
		t.Fatalf("before creation: %v, want ErrUnknownHost", err)
	}
	if st := c.Stats(); st.Negative != 1 || st.NegativeHits != 1 {
		t.Fatalf("stats %+v: the unknown host is not cached", st)
	}
	v := e.CreateVendor(t, "latecomer", "Latecomer")
	// No polling: the vendor's first notification (its rows were inserted
	// before its database was cloned) dropped the negative entry long ago.
	en, err := c.Lookup(ctx, h)
	if err != nil || en.VendorID != v.ID || en.State != "active" {
		t.Fatalf("right after creation: %+v, %v", en, err)
	}

	// A custom domain added to a vendor resolves as soon as NOTIFY arrives.
	custom := "shop.latecomer.example"
	if _, err := c.Lookup(ctx, custom); !errors.Is(err, routing.ErrUnknownHost) {
		t.Fatalf("custom domain before it exists: %v", err)
	}
	if _, err := e.CP.Exec(ctx, `INSERT INTO domains (vendor_id, host, kind, verified_at) VALUES ($1, $2, 'custom', now())`,
		v.ID, custom); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 5*time.Second, "custom domain resolvable", func() bool {
		en, err := c.Lookup(ctx, custom)
		if err != nil && !errors.Is(err, routing.ErrUnknownHost) {
			t.Fatal(err)
		}
		return err == nil && en.VendorID == v.ID
	})
	if took > time.Second {
		t.Errorf("custom domain took %s to resolve", took)
	}
	// Removing it drops the vendor's entries, including the custom host.
	if _, err := e.CP.Exec(ctx, `DELETE FROM domains WHERE host = $1`, custom); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "custom domain gone", func() bool {
		_, err := c.Lookup(ctx, custom)
		return errors.Is(err, routing.ErrUnknownHost)
	})
}

func TestBurstOfLookupsRunsOneQuery(t *testing.T) {
	e := testenv.New(t)
	c, _ := newCache(t, e)
	ctx := context.Background()
	const n = 64
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := c.Lookup(ctx, "burst."+e.Cfg.BaseDomain)
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, routing.ErrUnknownHost) {
			t.Fatalf("lookup: %v", err)
		}
	}
	st := c.Stats()
	if st.Queries != 1 {
		t.Fatalf("stats %+v: %d queries for one host, want 1", st, st.Queries)
	}
	if st.Hits+st.Misses != n || st.Coalesced != st.Misses-1 {
		t.Fatalf("stats %+v do not add up to %d lookups", st, n)
	}
}

func TestLookupHonoursCallerContext(t *testing.T) {
	e := testenv.New(t)
	c, _ := newCache(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Lookup(ctx, "whatever."+e.Cfg.BaseDomain); !errors.Is(err, context.Canceled) && !errors.Is(err, routing.ErrUnknownHost) {
		t.Fatalf("Lookup with a cancelled context: %v", err)
	}
}

func TestListenerReconnects(t *testing.T) {
	e := testenv.New(t)
	e.CreateVendor(t, "phoenix", "Phoenix")
	c, _ := newCache(t, e, routing.WithTTL(time.Hour), routing.WithReconnectBackoff(20*time.Millisecond, 200*time.Millisecond))
	su := superuser(t, e)
	ctx := context.Background()
	h := host(e, "phoenix")
	mustLookup(t, c, h)
	flushes := c.Stats().Flushes

	if n := terminateListener(t, su, e); n != 1 {
		t.Fatalf("found %d listener backends, want 1", n)
	}
	waitFor(t, 5*time.Second, "listener back", func() bool {
		st := c.Stats()
		return st.Reconnects >= 1 && st.Listening
	})
	if st := c.Stats(); st.Flushes < flushes+2 || st.Entries != 0 {
		t.Fatalf("stats %+v: the cache was not flushed on loss and regain", st)
	}
	// Notifications work on the new connection.
	mustLookup(t, c, h)
	if _, err := e.Prov.Suspend(ctx, actor, "phoenix", "test"); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 5*time.Second, "suspension visible after reconnect", func() bool { return mustLookup(t, c, h).State == "suspended" })
	if took > time.Second {
		t.Errorf("suspension took %s to show after reconnect", took)
	}
}

func TestDegradedModeUsesShortTTL(t *testing.T) {
	e := testenv.New(t)
	e.CreateVendor(t, "limbo", "Limbo")
	const degraded = 300 * time.Millisecond
	c, pool := newCache(t, e, routing.WithTTL(time.Hour), routing.WithDegradedTTL(degraded),
		routing.WithReconnectBackoff(20*time.Millisecond, 100*time.Millisecond))
	su := superuser(t, e)
	ctx := context.Background()
	h := host(e, "limbo")
	role := pgx.Identifier{e.Cfg.Prefix + "_router"}.Sanitize()

	// Keep a pool connection open, then stop the role from logging in and
	// kill the listener: queries keep working, LISTEN cannot come back.
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := su.Exec(ctx, `ALTER ROLE `+role+` NOLOGIN`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = su.Exec(context.Background(), `ALTER ROLE `+role+` LOGIN`) })
	if n := terminateListener(t, su, e); n != 1 {
		t.Fatalf("found %d listener backends, want 1", n)
	}
	waitFor(t, 5*time.Second, "listener down", func() bool { return !c.Stats().Listening })

	before := c.Stats()
	mustLookup(t, c, h)
	mustLookup(t, c, h)
	if st := c.Stats(); st.Queries != before.Queries+1 || st.Hits != before.Hits+1 {
		t.Fatalf("stats %+v after %+v: degraded mode should still cache briefly", st, before)
	}
	if _, err := e.Prov.Suspend(ctx, actor, "limbo", "test"); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 5*time.Second, "suspension visible without NOTIFY", func() bool { return mustLookup(t, c, h).State == "suspended" })
	if took > degraded+500*time.Millisecond {
		t.Errorf("suspension took %s to show with a %s degraded TTL", took, degraded)
	}
	if c.Stats().Listening {
		t.Fatal("listening while the role cannot log in")
	}

	if _, err := su.Exec(ctx, `ALTER ROLE `+role+` LOGIN`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "listener back", func() bool { return c.Stats().Listening })
	if _, err := e.Prov.Resume(ctx, actor, "limbo"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "resumption visible", func() bool { return mustLookup(t, c, h).State == "active" })
}

func TestDegradedTTLZeroBypassesCache(t *testing.T) {
	e := testenv.New(t)
	e.CreateVendor(t, "bypass", "Bypass")
	c, pool := newCache(t, e, routing.WithDegradedTTL(0), routing.WithReconnectBackoff(time.Second, time.Second))
	su := superuser(t, e)
	ctx := context.Background()
	role := pgx.Identifier{e.Cfg.Prefix + "_router"}.Sanitize()
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := su.Exec(ctx, `ALTER ROLE `+role+` NOLOGIN`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = su.Exec(context.Background(), `ALTER ROLE `+role+` LOGIN`) })
	terminateListener(t, su, e)
	waitFor(t, 5*time.Second, "listener down", func() bool { return !c.Stats().Listening })
	before := c.Stats()
	for i := 0; i < 3; i++ {
		mustLookup(t, c, host(e, "bypass"))
	}
	if st := c.Stats(); st.Queries != before.Queries+3 || st.Entries != 0 {
		t.Fatalf("stats %+v after %+v: want every lookup to query", st, before)
	}
}

func TestClose(t *testing.T) {
	e := testenv.New(t)
	c, _ := newCache(t, e)
	su := superuser(t, e)
	ctx := context.Background()
	c.Close()
	c.Close() // twice is fine
	if _, err := c.Lookup(ctx, "any."+e.Cfg.BaseDomain); !errors.Is(err, routing.ErrClosed) {
		t.Fatalf("Lookup after Close: %v, want ErrClosed", err)
	}
	waitFor(t, 5*time.Second, "listener backend gone", func() bool {
		var n int
		err := su.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
			routing.ListenerApplicationName).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

func TestNewFailsWithBadCredentials(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	pool, err := database.Open(ctx, e.RouterURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cfg, _ := pgx.ParseConfig(e.RouterURL)
	bad := "postgres://" + cfg.User + ":wrong@" + cfg.Host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + cfg.Database + "?sslmode=disable"
	if c, err := routing.New(ctx, pool, bad, e.Cfg.BaseDomain, nil); err == nil {
		c.Close()
		t.Fatal("New succeeded with a wrong password")
	}
	if c, err := routing.New(ctx, pool, e.RouterURL, "not a domain", nil); err == nil {
		c.Close()
		t.Fatal("New succeeded with a malformed base domain")
	}
}

// The idle listening connection is pinged every ping interval; that must
// neither break it nor count as a loss.
func TestIdlePingKeepsTheListener(t *testing.T) {
	e := testenv.New(t)
	e.CreateVendor(t, "pinged", "Pinged")
	c, _ := newCache(t, e, routing.WithPingInterval(50*time.Millisecond), routing.WithTTL(time.Hour))
	ctx := context.Background()
	h := host(e, "pinged")
	mustLookup(t, c, h)
	before := c.Stats()
	time.Sleep(500 * time.Millisecond) // about ten pings
	if st := c.Stats(); st.Reconnects != 0 || st.Flushes != before.Flushes || !st.Listening || st.Entries != 1 {
		t.Fatalf("stats %+v after %+v: idle pings disturbed the listener", st, before)
	}
	if _, err := e.Prov.Suspend(ctx, actor, "pinged", "test"); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 5*time.Second, "suspension visible", func() bool { return mustLookup(t, c, h).State == "suspended" })
	if took > time.Second {
		t.Errorf("suspension took %s to show", took)
	}
}
