package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/rollout"
	"github.com/storefleet/storefleet/internal/testenv"
)

var actor = platform.Actor{Kind: "cli", Name: "tester"}

// withExtra is the tenant set plus extra migrations (name -> SQL).
func withExtra(t testing.TB, extra map[string]string) migrate.Set {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(migrate.Tenant.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrate.Tenant.FS, path)
		m[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for name, sql := range extra {
		m[name] = &fstest.MapFile{Data: []byte(sql)}
		names = append(names, name)
	}
	return migrate.Tenant.WithFS("tenant+"+strings.Join(names, "+"), m)
}

const priceCap = `-- +goose Up
ALTER TABLE products ADD CONSTRAINT products_price_cap CHECK (price_minor <= 1000000);
-- +goose Down
ALTER TABLE products DROP CONSTRAINT products_price_cap;
`

type fixture struct {
	e       *testenv.Env
	set     migrate.Set
	vendors []*platform.Vendor
	runner  *rollout.Runner
}

func newFixture(t *testing.T, n int, extra map[string]string) *fixture {
	t.Helper()
	e := testenv.New(t)
	e.UseOwnTemplate(t, migrate.Tenant, migrate.Tenant.Head())
	f := &fixture{e: e, set: withExtra(t, extra), runner: &rollout.Runner{Store: e.Store, Prov: e.Prov}}
	for i := range n {
		f.vendors = append(f.vendors, e.CreateVendor(t, fmt.Sprintf("shop-%02d", i), fmt.Sprintf("Shop %d", i)))
	}
	return f
}

// versions reads every vendor database's real version.
func (f *fixture) versions(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, v := range f.vendors {
		ver, err := f.e.Prov.VendorVersion(context.Background(), v)
		if err != nil {
			t.Fatal(err)
		}
		out[v.Slug] = ver
	}
	return out
}

func TestMigrateAllKeepsGoingPastAFailedVendor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5, map[string]string{"00100_price_cap.sql": priceCap})
	ctx := context.Background()
	pricey := f.vendors[2]
	pool := f.e.VendorPool(t, pricey)
	if _, err := pool.Exec(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ('GOLD', 'Gold bar', 5000000)`); err != nil {
		t.Fatal(err)
	}
	sum, err := f.runner.Run(ctx, actor, rollout.Options{Set: f.set, Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Migrated != 4 || sum.Failed != 1 || len(sum.Failures) != 1 || sum.Failures[0].Vendor != pricey.Slug ||
		!strings.Contains(sum.Failures[0].Error, "products_price_cap") {
		t.Fatalf("summary: %+v", sum)
	}
	got := f.versions(t)
	for slug, ver := range got {
		want := int64(100)
		if slug == pricey.Slug {
			want = migrate.Tenant.Head()
		}
		if ver != want {
			t.Errorf("%s at version %d, want %d", slug, ver, want)
		}
	}
	// The control plane names the vendor and says why.
	res, err := rollout.Results(ctx, f.e.Store, sum.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Vendor != pricey.Slug || res[0].Status != "failed" || !strings.Contains(res[0].Error, "price_cap") {
		t.Errorf("results: %+v", res[0])
	}
	st, err := rollout.ReadStatus(ctx, f.e.Store, f.set)
	if err != nil || st.AllAtHead() || len(st.Failed) != 1 || st.LastRun.State != "failed" {
		t.Errorf("status: %+v %v", st, err)
	}
	// Fix the data, resume: only the failed vendor is touched.
	if _, err := pool.Exec(ctx, `UPDATE products SET price_minor = 99000 WHERE sku = 'GOLD'`); err != nil {
		t.Fatal(err)
	}
	sum2, err := f.runner.Run(ctx, actor, rollout.Options{Set: f.set, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum2.RunID != sum.RunID || sum2.Migrated != 1 || sum2.Failed != 0 {
		t.Fatalf("resume: %+v", sum2)
	}
	st, err = rollout.ReadStatus(ctx, f.e.Store, f.set)
	if err != nil || !st.AllAtHead() || st.LastRun.State != "finished" {
		t.Errorf("status after resume: %+v %v", st, err)
	}
	// Nothing left: a new run skips everyone without touching a database.
	sum3, err := f.runner.Run(ctx, actor, rollout.Options{Set: f.set})
	if err != nil || sum3.Skipped != 5 || sum3.Migrated != 0 {
		t.Fatalf("third run: %+v %v", sum3, err)
	}
}

func TestCanaryFailureStopsTheRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4, map[string]string{"00100_price_cap.sql": priceCap})
	ctx := context.Background()
	canary := f.vendors[0]
	if _, err := f.e.VendorPool(t, canary).Exec(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ('GOLD', 'Gold', 5000000)`); err != nil {
		t.Fatal(err)
	}
	sum, err := f.runner.Run(ctx, actor, rollout.Options{Set: f.set, CanarySlugs: []string{canary.Slug}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Canary == "" || sum.Failed != 1 || sum.Migrated != 0 || sum.Pending != 3 {
		t.Fatalf("summary: %+v", sum)
	}
	for slug, ver := range f.versions(t) {
		if ver != migrate.Tenant.Head() {
			t.Errorf("%s was migrated after the canary failed (version %d)", slug, ver)
		}
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, map[string]string{"00100_price_cap.sql": priceCap})
	sum, err := f.runner.Run(context.Background(), actor, rollout.Options{Set: f.set, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Plan) != 2 || fmt.Sprint(sum.Plan[0].Pending) != "[100]" {
		t.Fatalf("plan: %+v", sum.Plan)
	}
	for slug, ver := range f.versions(t) {
		if ver != migrate.Tenant.Head() {
			t.Errorf("dry run migrated %s", slug)
		}
	}
	runs, _ := rollout.Runs(context.Background(), f.e.Store, 10)
	if len(runs) != 0 {
		t.Errorf("dry run recorded runs: %+v", runs)
	}
}

func TestUnreachableVendorIsReportedOthersContinue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, map[string]string{"00100_price_cap.sql": priceCap})
	ctx := context.Background()
	// The vendor's database is gone from under us.
	gone := f.vendors[1]
	if err := f.e.Prov.DropDatabase(ctx, gone.ServerID, gone.DBName); err != nil {
		t.Fatal(err)
	}
	sum, err := f.runner.Run(ctx, actor, rollout.Options{Set: f.set, Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Migrated != 2 || sum.Failed != 1 || sum.Failures[0].Vendor != gone.Slug || !strings.Contains(sum.Failures[0].Error, "does not exist") {
		t.Fatalf("summary: %+v", sum)
	}
}

func TestServerWhoseTemplateFailsKeepsItsVendorsOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, map[string]string{"00100_price_cap.sql": priceCap})
	ctx := context.Background()
	// A second server that does not answer, holding one vendor.
	if _, err := f.e.CP.Exec(ctx, `INSERT INTO db_servers (name, host, port, admin_user, admin_password_enc, state)
		SELECT 'dead', '127.0.0.1', 1, admin_user, admin_password_enc, 'draining' FROM db_servers WHERE name = 'primary'`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.e.CP.Exec(ctx, `UPDATE vendor_databases SET server_id = (SELECT id FROM db_servers WHERE name = 'dead')
		WHERE vendor_id = $1`, f.vendors[1].ID); err != nil {
		t.Fatal(err)
	}
	sum, err := f.runner.Run(ctx, actor, rollout.Options{Set: f.set})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Migrated != 1 || sum.Failed != 1 || !strings.Contains(sum.Failures[0].Error, "template on server dead failed") {
		t.Fatalf("summary: %+v", sum)
	}
}

func TestSecondRunnerIsRefusedOrWaits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, map[string]string{"00100_slow.sql": "-- +goose Up\nSELECT pg_sleep(0.3);\n-- +goose Down\nSELECT 1;\n"})
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]*rollout.Summary, 2)
	errs := make([]error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		results[0], errs[0] = f.runner.Run(ctx, actor, rollout.Options{Set: f.set, Parallel: 1})
	}()
	time.Sleep(150 * time.Millisecond)
	_, err := f.runner.Run(ctx, actor, rollout.Options{Set: f.set})
	var busy *rollout.ErrBusy
	if !errors.As(err, &busy) || busy.RunID == 0 || !strings.Contains(err.Error(), "another migrate-all is running (run") {
		t.Fatalf("second runner: %v", err)
	}
	results[1], errs[1] = f.runner.Run(ctx, actor, rollout.Options{Set: f.set, Wait: true})
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if results[0].Migrated != 3 || results[1].Migrated != 0 || results[1].Skipped != 3 {
		t.Fatalf("first %+v, second %+v", results[0], results[1])
	}
	// Each migration applied once per database.
	for _, v := range f.vendors {
		var n int
		if err := f.e.VendorPool(t, v).QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id = 100`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: version 100 recorded %d times (%v)", v.Slug, n, err)
		}
	}
}

// TestKilledRunnerLeavesEveryVendorAtOldOrNew kills a rollout with SIGKILL
// half-way through and checks every vendor is at its old or its new
// version, then that a re-run finishes the rest.
func TestKilledRunnerLeavesEveryVendorAtOldOrNew(t *testing.T) {
	if os.Getenv("ROLLOUT_CHILD") != "" {
		return
	}
	t.Parallel()
	f := newFixture(t, 12, map[string]string{"00100_slow.sql": slowMigration})
	cmd := exec.Command(os.Args[0], "-test.run=^TestRolloutChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ROLLOUT_CHILD=1")
	for k, v := range f.e.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once a few vendors are done.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var done int
		_ = f.e.CP.QueryRow(context.Background(), `SELECT count(*) FROM migration_results WHERE status = 'migrated'`).Scan(&done)
		if done >= 3 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the child never migrated 3 vendors")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	vs := f.versions(t)
	old, upgraded := 0, 0
	for slug, ver := range vs {
		switch ver {
		case migrate.Tenant.Head():
			old++
		case 100:
			upgraded++
		default:
			t.Errorf("%s is at version %d: neither old nor new", slug, ver)
		}
	}
	if old == 0 || upgraded == 0 {
		t.Fatalf("the kill did not land mid-run: %d old, %d new", old, upgraded)
	}
	sum, err := f.runner.Run(context.Background(), actor, rollout.Options{Set: f.set, Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Migrated+sum.Skipped != 12 || sum.Failed != 0 {
		t.Fatalf("re-run: %+v", sum)
	}
	for slug, ver := range f.versions(t) {
		if ver != 100 {
			t.Errorf("%s at %d after the re-run", slug, ver)
		}
	}
	runs, _ := rollout.Runs(context.Background(), f.e.Store, 5)
	if len(runs) != 2 || runs[1].State != "interrupted" {
		t.Errorf("the killed run should be marked interrupted: %+v", runs)
	}
}

const slowMigration = `-- +goose Up
SELECT pg_sleep(0.15);
ALTER TABLE products ADD COLUMN weight_grams integer;
-- +goose Down
ALTER TABLE products DROP COLUMN weight_grams;
`

func TestRolloutChild(t *testing.T) {
	if os.Getenv("ROLLOUT_CHILD") == "" {
		return // only meaningful as the child of the test above
	}
	e := testenv.Attach(t, "")
	r := &rollout.Runner{Store: e.Store, Prov: e.Prov}
	_, err := r.Run(context.Background(), actor, rollout.Options{Set: withExtra(t, map[string]string{"00100_slow.sql": slowMigration}), Parallel: 2})
	t.Fatalf("the run ended (%v) before it was killed", err)
}
