package flags_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/flags"
)

var actor = platform.Actor{Kind: "system", Name: "flags-test"}

// newCache connects a flags cache as the test's read-only router role.
func newCache(t *testing.T, e *testenv.Env, opts ...flags.Option) *flags.Cache {
	t.Helper()
	ctx := context.Background()
	pool, err := database.Open(ctx, e.RouterURL, func(c *pgxpool.Config) { c.MaxConns = 4 })
	if err != nil {
		t.Fatalf("open router pool: %v", err)
	}
	t.Cleanup(pool.Close)
	c, err := flags.New(ctx, pool, e.RouterURL, nil, opts...)
	if err != nil {
		t.Fatalf("flags.New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// waitFor polls cond until it holds and returns how long that took.
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

func TestFlagChangesReachTheCacheThroughNotify(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	a := e.CreateVendor(t, "flags-a", "A")
	b := e.CreateVendor(t, "flags-b", "B")
	ctx := context.Background()
	// A TTL of an hour: only NOTIFY can make a change visible in time.
	c := newCache(t, e, flags.WithTTL(time.Hour))

	// The migration's flag is on; an unknown flag is off.
	if !c.Enabled(ctx, a.ID, "storefront.search_suggestions") || c.Enabled(ctx, a.ID, "no.such.flag") {
		t.Fatal("initial flags wrong")
	}
	if _, _, err := e.Store.SetFlag(ctx, actor, "beta.feature", false, nil); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 5*time.Second, "new flag visible", func() bool {
		_, ok := must(c.Flags(ctx, a.ID))["beta.feature"]
		return ok
	})
	if c.Enabled(ctx, a.ID, "beta.feature") {
		t.Fatal("beta.feature is on")
	}
	queries := c.Stats().Queries
	c.Enabled(ctx, a.ID, "beta.feature")
	if st := c.Stats(); st.Queries != queries || st.Hits == 0 {
		t.Fatalf("stats %+v: not answered from the cache", st)
	}

	steps := []struct {
		what   string
		change func() error
		a, b   bool
	}{
		{"override on for a", func() error {
			_, err := e.Store.SetFlagOverride(ctx, actor, "beta.feature", "flags-a", true)
			return err
		}, true, false},
		{"global on", func() error { _, _, err := e.Store.SetFlag(ctx, actor, "beta.feature", true, nil); return err }, true, true},
		{"override off for b", func() error {
			_, err := e.Store.SetFlagOverride(ctx, actor, "beta.feature", "flags-b", false)
			return err
		}, true, false},
		{"global off", func() error { _, _, err := e.Store.SetFlag(ctx, actor, "beta.feature", false, nil); return err }, true, false},
		{"a's override removed", func() error {
			_, err := e.Store.DeleteFlagOverride(ctx, actor, "beta.feature", "flags-a")
			return err
		}, false, false},
		{"global on again", func() error { _, _, err := e.Store.SetFlag(ctx, actor, "beta.feature", true, nil); return err }, true, false},
		{"flag deleted", func() error { return e.Store.DeleteFlag(ctx, actor, "beta.feature") }, false, false},
	}
	for _, s := range steps {
		// Both vendors cached before the change.
		c.Enabled(ctx, a.ID, "beta.feature")
		c.Enabled(ctx, b.ID, "beta.feature")
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		d := waitFor(t, 5*time.Second, s.what, func() bool {
			return c.Enabled(ctx, a.ID, "beta.feature") == s.a && c.Enabled(ctx, b.ID, "beta.feature") == s.b
		})
		took = max(took, d)
	}
	if took > time.Second {
		t.Errorf("a change took %s to show, want under a second", took)
	}
	if st := c.Stats(); st.Notifications == 0 || !st.Listening {
		t.Errorf("stats %+v: no notifications", st)
	}
}

func TestFlagChangeWithoutNotifyShowsAfterTTL(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	v := e.CreateVendor(t, "flags-ttl", "TTL")
	ctx := context.Background()
	c := newCache(t, e, flags.WithTTL(300*time.Millisecond))
	if !c.Enabled(ctx, v.ID, "storefront.search_suggestions") {
		t.Fatal("suggestions off at the start")
	}
	// A change that announces nothing (its trigger disabled for the
	// transaction): only the TTL can bring it.
	err := database.Transact(ctx, e.CP, func(tx pgx.Tx) error {
		for _, q := range []string{
			`ALTER TABLE feature_flags DISABLE TRIGGER feature_flags_notify`,
			`UPDATE feature_flags SET enabled = false WHERE name = 'storefront.search_suggestions'`,
			`ALTER TABLE feature_flags ENABLE TRIGGER feature_flags_notify`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	notifications := c.Stats().Notifications
	if !c.Enabled(ctx, v.ID, "storefront.search_suggestions") {
		t.Fatal("the change showed at once although nothing was announced")
	}
	took := waitFor(t, 5*time.Second, "change after the TTL", func() bool { return !c.Enabled(ctx, v.ID, "storefront.search_suggestions") })
	if took > 2*time.Second {
		t.Errorf("took %s with a TTL of 300 ms", took)
	}
	if n := c.Stats().Notifications; n != notifications {
		t.Errorf("%d notifications arrived; the test meant none", n-notifications)
	}
}

func TestRouterRoleReadsFlagsOnlyThroughTheFunction(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	v := e.CreateVendor(t, "flags-ro", "RO")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.RouterURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var on bool
	if err := conn.QueryRow(ctx, `SELECT enabled FROM vendor_feature_flags($1) WHERE name = 'storefront.search_suggestions'`, v.ID).Scan(&on); err != nil || !on {
		t.Fatalf("router role reads its vendor's flags: %v %v", on, err)
	}
	for _, q := range []string{
		`SELECT * FROM feature_flags`,
		`SELECT * FROM feature_flag_overrides`,
		`SELECT * FROM platform_settings`,
		`UPDATE feature_flags SET enabled = false`,
		`INSERT INTO feature_flag_overrides (flag, vendor_id, enabled) VALUES ('storefront.search_suggestions', 1, false)`,
	} {
		if _, err := conn.Exec(ctx, q); database.Code(err) != "42501" {
			t.Errorf("%s as the router role: %v, want permission denied", q, err)
		}
	}
}

func must(m map[string]bool, err error) map[string]bool {
	if err != nil {
		panic(err)
	}
	return m
}
