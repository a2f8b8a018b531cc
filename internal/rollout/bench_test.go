package rollout_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/benchtable"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/rollout"
	"github.com/storefleet/storefleet/internal/testenv"
)

const benchMigration = `-- +goose Up
ALTER TABLE products ADD COLUMN weight_grams integer;
CREATE INDEX products_weight_idx ON products (weight_grams, id);
-- +goose Down
DROP INDEX products_weight_idx;
ALTER TABLE products DROP COLUMN weight_grams;
`

// BenchmarkMigrateAll compares migrate-all over 300 vendor databases with
// running goose on each database one after another, in the same run: with
// nothing to apply, and with one real migration (a column and an index on
// a populated table). It also reports the provisioner binary's peak RSS
// for a run over 100 and over 300 vendors.
func BenchmarkMigrateAll(b *testing.B) {
	const vendors = 300
	const productsPerVendor = 500
	ctx := context.Background()
	e := testenv.New(b)
	e.UseOwnTemplate(b, migrate.Tenant, migrate.Tenant.Head())
	bin := buildProvisioner(b)
	var vs []*platform.Vendor
	var rss100 int64
	for i := range vendors {
		v := e.CreateVendor(b, fmt.Sprintf("m-%03d", i), "M")
		pool, err := database.Open(ctx, vendorURL(b, e, v))
		if err != nil {
			b.Fatal(err)
		}
		_, err = pool.Exec(ctx, `INSERT INTO products (sku, title, price_minor, state)
			SELECT 'SKU-' || g, 'Product ' || g, 100 + g, 'active' FROM generate_series(1, $1) g`, productsPerVendor)
		pool.Close()
		if err != nil {
			b.Fatal(err)
		}
		vs = append(vs, v)
		if i == 99 {
			rss100 = provisionerRSS(b, e, bin)
		}
	}
	rss300 := provisionerRSS(b, e, bin)
	set := withExtra(b, map[string]string{"00100_weight.sql": benchMigration})
	r := &rollout.Runner{Store: e.Store, Prov: e.Prov}

	for b.Loop() {
		// Nothing to apply.
		gooseNothing := timeIt(func() { gooseEach(b, e, vs, migrate.Tenant, migrate.Tenant.Head()) })
		var sum *rollout.Summary
		oursNothing := timeIt(func() { sum = mustRun(b, r, rollout.Options{Parallel: 4}) })
		if sum.Skipped != vendors {
			b.Fatalf("nothing-to-apply run: %+v", sum)
		}
		verifyNothing := timeIt(func() { mustRun(b, r, rollout.Options{Parallel: 4, Verify: true}) })
		ratio := float64(gooseNothing) / float64(oursNothing)
		_ = benchtable.Record(benchtable.Row{Issue: "#3", What: "migrate-all, 300 vendors, nothing to apply",
			Ours: benchtable.Ms(oursNothing), Baseline: "goose up on each, one after another: " + benchtable.Ms(gooseNothing),
			Ratio: ratio, Target: "≥ 20x faster", Pass: ratio >= 20})
		vratio := float64(gooseNothing) / float64(verifyNothing)
		_ = benchtable.Record(benchtable.Row{Issue: "#3", What: "same with --verify (reads every database's version)",
			Ours: benchtable.Ms(verifyNothing), Baseline: "goose up on each: " + benchtable.Ms(gooseNothing),
			Ratio: vratio, Target: "(informative)", Pass: true})

		// One real migration.
		reset := func() { // roll back, untimed
			gooseEach(b, e, vs, set, migrate.Tenant.Head())
			for _, v := range vs {
				if err := e.Prov.RecordSchemaVersion(ctx, v.ID, migrate.Tenant.Head(), nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		gooseReal := timeIt(func() { gooseEach(b, e, vs, set, 100) })
		reset()
		// The machine's ceiling: plain goose in 4 workers, with no
		// bookkeeping at all.
		ceiling := timeIt(func() {
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					gooseEach(b, e, vs[w*len(vs)/4:(w+1)*len(vs)/4], set, 100)
				}()
			}
			wg.Wait()
		})
		reset()
		oursReal := timeIt(func() { sum = mustRun(b, r, rollout.Options{Set: set, Parallel: 4}) })
		if sum.Migrated != vendors {
			b.Fatalf("real migration run: %+v", sum)
		}
		rratio := float64(gooseReal) / float64(oursReal)
		_ = benchtable.Record(benchtable.Row{Issue: "#3", What: fmt.Sprintf("migrate-all --parallel 4, 300 vendors, add a column and an index (%d rows each)", productsPerVendor),
			Ours: benchtable.Ms(oursReal), Baseline: "goose up on each, one after another: " + benchtable.Ms(gooseReal),
			Ratio: rratio, Target: "≥ 2x faster", Pass: rratio >= 2})
		cratio := float64(gooseReal) / float64(ceiling)
		_ = benchtable.Record(benchtable.Row{Issue: "#3", What: fmt.Sprintf("ceiling on this machine (%d CPUs): plain goose in 4 workers, no records", runtime.NumCPU()),
			Ours: benchtable.Ms(ceiling), Baseline: "goose up on each, one after another: " + benchtable.Ms(gooseReal),
			Ratio: cratio, Target: "(informative)", Pass: true})
		mratio := float64(rss300) / float64(rss100)
		_ = benchtable.Record(benchtable.Row{Issue: "#3", What: "provisioner migrate-all --verify peak RSS, 300 vendors",
			Ours: fmt.Sprintf("%.1f MB", float64(rss300)/1024), Baseline: fmt.Sprintf("100 vendors: %.1f MB", float64(rss100)/1024),
			Ratio: mratio, Target: "flat (≈ 1x)", Pass: mratio <= 1.25})
		b.ReportMetric(ratio, "x-nothing")
		b.ReportMetric(rratio, "x-real")
		b.ReportMetric(mratio, "x-rss")
	}
}

func timeIt(f func()) time.Duration {
	t0 := time.Now()
	f()
	return time.Since(t0)
}

func mustRun(b *testing.B, r *rollout.Runner, o rollout.Options) *rollout.Summary {
	b.Helper()
	sum, err := r.Run(context.Background(), actor, o)
	if err != nil {
		b.Fatal(err)
	}
	if sum.Failed > 0 {
		b.Fatalf("rollout failures: %+v", sum.Failures)
	}
	return sum
}

// gooseEach is the baseline: the goose library run on every database, one
// after another, as a loop over `goose up` would.
func gooseEach(b *testing.B, e *testenv.Env, vs []*platform.Vendor, set migrate.Set, target int64) {
	b.Helper()
	ctx := context.Background()
	for _, v := range vs {
		runner, err := set.Open(vendorURL(b, e, v), nil, "")
		if err != nil {
			b.Fatal(err)
		}
		cur, err := runner.Version(ctx)
		if err == nil {
			if cur <= target {
				_, err = runner.UpTo(ctx, target)
			} else {
				_, err = runner.DownTo(ctx, target)
			}
		}
		runner.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

func vendorURL(b *testing.B, e *testenv.Env, v *platform.Vendor) string {
	b.Helper()
	u, err := e.Prov.VendorDatabaseURL(context.Background(), v)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

func buildProvisioner(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "provisioner")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/storefleet/storefleet/provisioner").CombinedOutput(); err != nil {
		b.Fatalf("build provisioner: %v\n%s", err, out)
	}
	return bin
}

// provisionerRSS runs `provisioner migrate-all --verify` and returns its
// peak resident set size in KiB.
func provisionerRSS(b *testing.B, e *testenv.Env, bin string) int64 {
	b.Helper()
	cmd := exec.Command(bin, "migrate-all", "--verify", "--parallel", "4", "--json")
	cmd.Dir = b.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range e.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("provisioner migrate-all: %v\n%s", err, out)
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}
