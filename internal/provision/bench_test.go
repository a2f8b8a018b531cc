package provision_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/benchtable"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/testenv"
)

// BenchmarkProvisionVendor compares provisioning a vendor end to end
// (control-plane rows, role, database from the template, bucket, schema
// check, active) with a raw CREATE DATABASE ... TEMPLATE of the same
// template, measured in the same run, and the 200th vendor with the 10th.
func BenchmarkProvisionVendor(b *testing.B) {
	e := testenv.New(b)
	ctx := context.Background()
	admin, err := database.Open(ctx, e.Vars["STOREFLEET_DB_SERVER_URL"])
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	const rounds = 15
	const vendors = 210
	for b.Loop() {
		// Baseline: raw clones of the same template, interleaved with our
		// creates so both see the same machine.
		var raw, ours []time.Duration
		durations := make([]time.Duration, 0, vendors)
		for i := range vendors {
			if i < rounds {
				name := fmt.Sprintf("%s_raw_%d", e.Cfg.Prefix, i)
				start := time.Now()
				if _, err := admin.Exec(ctx, `CREATE DATABASE `+database.Ident(name)+` TEMPLATE `+database.Ident(testenv.TenantTemplate())); err != nil {
					b.Fatal(err)
				}
				raw = append(raw, time.Since(start))
			}
			start := time.Now()
			_, err := e.Prov.CreateVendor(ctx, actor, provision.CreateRequest{
				Slug: fmt.Sprintf("bench-%d", i), Name: "Bench", OwnerEmail: "o@bench.example"})
			if err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			durations = append(durations, d)
			if i < rounds {
				ours = append(ours, d)
			}
		}
		rawMed, ourMed := benchtable.Median(raw), benchtable.Median(ours)
		ratio := float64(ourMed) / float64(rawMed)
		b.ReportMetric(float64(ourMed.Microseconds())/1000, "ms/vendor")
		b.ReportMetric(float64(rawMed.Microseconds())/1000, "ms/raw-clone")
		b.ReportMetric(ratio, "x-raw")
		_ = benchtable.Record(benchtable.Row{Issue: "#2", What: "provision one vendor end to end (median)",
			Ours: benchtable.Ms(ourMed), Baseline: "raw CREATE DATABASE TEMPLATE " + benchtable.Ms(rawMed),
			Ratio: ratio, Target: "≤ 2.0x", Pass: ratio <= 2.0})
		// 10th vs 200th: medians of the 11 vendors around each.
		tenth := benchtable.Median(durations[4:15])
		twoHundredth := benchtable.Median(durations[194:205])
		growth := float64(twoHundredth) / float64(tenth)
		b.ReportMetric(growth, "x-200th/10th")
		_ = benchtable.Record(benchtable.Row{Issue: "#2", What: "200th vendor vs 10th (median of 11 around each)",
			Ours: benchtable.Ms(twoHundredth), Baseline: "10th vendor " + benchtable.Ms(tenth),
			Ratio: growth, Target: "≤ 1.5x", Pass: growth <= 1.5})
	}
}
