package backup_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/benchtable"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
)

// fill gives a vendor n products with realistic text.
func fill(b *testing.B, e *testenv.Env, v *platform.Vendor, n int) {
	b.Helper()
	_, err := e.VendorPool(b, v).Exec(context.Background(), `INSERT INTO products (sku, title, description, price_minor, state, handle)
		SELECT 'SKU-' || g, 'Product number ' || g || ' in a long and descriptive catalogue',
		       repeat('A sturdy, well-made thing that people like to buy. ', 3), 100 + g % 10000, 'active', 'sku-' || g
		FROM generate_series(1, $1) g`, n)
	if err != nil {
		b.Fatal(err)
	}
}

func rawDump(b *testing.B, e *testenv.Env, v *platform.Vendor) time.Duration {
	b.Helper()
	u, err := e.Prov.VendorDatabaseURL(context.Background(), v)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("pg_dump", "--format=custom", "--no-owner", "--no-acl", "--no-sync", "--file=/dev/null", u)
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// BenchmarkBackup compares backing up a vendor with 100,000 products with
// a raw `pg_dump -Fc` of the same database to /dev/null, and backing up 50
// vendors with two workers with one after another, in the same run; and
// reports how long writes are refused while a 100,000-product vendor moves
// to another server.
func BenchmarkBackup(b *testing.B) {
	ctx := context.Background()
	e := testenv.New(b)
	big := e.CreateVendor(b, "big", "Big shop")
	fill(b, e, big, 100_000)
	var small []*platform.Vendor
	for i := range 50 {
		v := e.CreateVendor(b, fmt.Sprintf("small-%02d", i), "Small")
		fill(b, e, v, 2_000)
		small = append(small, v)
	}
	second := e.AddSecondServer(b)
	_ = second
	for b.Loop() {
		// Interleave baseline and ours, three rounds each; take medians.
		var raw, ours []time.Duration
		for range 3 {
			raw = append(raw, rawDump(b, e, big))
			t0 := time.Now()
			if _, err := e.Backups.Run(ctx, actor, "big", "manual"); err != nil {
				b.Fatal(err)
			}
			ours = append(ours, time.Since(t0))
		}
		r, o := benchtable.Median(raw), benchtable.Median(ours)
		ratio := float64(o) / float64(r)
		_ = benchtable.Record(benchtable.Row{Issue: "#4", What: "backup of a vendor with 100,000 products (dump + upload + manifest, median of 3)",
			Ours: benchtable.Ms(o), Baseline: "raw pg_dump -Fc to /dev/null " + benchtable.Ms(r), Ratio: ratio, Target: "≤ 1.5x", Pass: ratio <= 1.5})
		b.ReportMetric(ratio, "x-pg_dump")

		seq := timeIt(func() {
			for _, v := range small {
				if _, err := e.Backups.Run(ctx, actor, v.Slug, "manual"); err != nil {
					b.Fatal(err)
				}
			}
		})
		par := timeIt(func() {
			res, err := e.Backups.BackupAll(ctx, actor, "manual", 2)
			if err != nil {
				b.Fatal(err)
			}
			for _, x := range res {
				if x.Error != "" {
					b.Fatal(x.Error)
				}
			}
		})
		// BackupAll also backs up "big": count it out using its median.
		par -= o
		pratio := float64(seq) / float64(par)
		_ = benchtable.Record(benchtable.Row{Issue: "#4", What: "back up 50 vendors (2,000 products each) with --parallel 2",
			Ours: benchtable.Ms(par), Baseline: "one after another " + benchtable.Ms(seq), Ratio: pratio, Target: "≥ 1.6x faster", Pass: pratio >= 1.6})
		b.ReportMetric(pratio, "x-parallel")

		res, err := e.Backups.Move(ctx, actor, "big", "second")
		if err != nil {
			b.Fatal(err)
		}
		secs := res.WritesRefused.Seconds()
		_ = benchtable.Record(benchtable.Row{Issue: "#4", What: "move a vendor with 100,000 products to another server: writes refused",
			Ours: fmt.Sprintf("%.2f s", secs), Baseline: "aim: 10 s", Ratio: secs / 10, Target: "< 10 s", Pass: secs < 10})
		b.ReportMetric(secs, "s-refused")
	}
}

func timeIt(f func()) time.Duration {
	t0 := time.Now()
	f()
	return time.Since(t0)
}
