package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/benchtable"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
)

// BenchmarkStorefrontAcrossVendors serves the storefront home page round
// robin across 200 vendors and compares the throughput with serving one
// vendor, measured in the same run, while watching that PostgreSQL
// connections never exceed the configured cap.
func BenchmarkStorefrontAcrossVendors(b *testing.B) {
	const vendors = 200
	const clients = 16
	const window = 5 * time.Second
	e := testenv.New(b)
	ctx := context.Background()
	slugs := make([]string, vendors)
	for i := range vendors {
		slugs[i] = fmt.Sprintf("shop-%03d", i)
		v := e.CreateVendor(b, slugs[i], fmt.Sprintf("Shop %d", i))
		seedProducts(b, e, v, 8)
	}
	cfg := *e.Cfg
	cfg.PoolMaxConns = 250
	cfg.PoolConnsPerVend = 4
	cfg.PoolMaxOpen = 500
	a, err := app.New(ctx, &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}

	admin, err := database.Open(ctx, e.Vars["STOREFLEET_DB_SERVER_URL"])
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	var maxConns atomic.Int64
	stopWatch := make(chan struct{})
	var watchWG sync.WaitGroup
	watchWG.Add(1)
	go func() { // sample the vendor roles' live backends
		defer watchWG.Done()
		for {
			var n int64
			_ = admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE starts_with(usename, $1)`, e.Cfg.Prefix+"_v").Scan(&n)
			if n > maxConns.Load() {
				maxConns.Store(n)
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	get := func(slug string) error {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		req.Host = slug + ".localhost"
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: status %d", slug, resp.StatusCode)
		}
		return nil
	}
	// drive runs clients for the window and returns requests per second.
	drive := func(pick func(i int64) string) float64 {
		var n, errs atomic.Int64
		deadline := time.Now().Add(window)
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					i := n.Add(1)
					if err := get(pick(i)); err != nil {
						errs.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		if errs.Load() > 0 {
			b.Fatalf("%d of %d requests failed", errs.Load(), n.Load())
		}
		return float64(n.Load()) / window.Seconds()
	}
	for b.Loop() {
		for _, s := range slugs { // warm every vendor's pool and routing entry
			if err := get(s); err != nil {
				b.Fatal(err)
			}
		}
		one := drive(func(int64) string { return slugs[0] })
		many := drive(func(i int64) string { return slugs[i%vendors] })
		ratio := many / one
		// The connection count is watched during the tenant app's runs only.
		close(stopWatch)
		watchWG.Wait()
		// The same query straight through pgx, one pool per vendor, without
		// the tenant app: what PostgreSQL itself does with many databases.
		a.Close()
		var rawPools []*pgxpool.Pool
		for _, slug := range slugs {
			v, err := e.Store.VendorBySlug(ctx, slug)
			if err != nil {
				b.Fatal(err)
			}
			u, err := e.Prov.VendorDatabaseURL(ctx, v)
			if err != nil {
				b.Fatal(err)
			}
			p, err := database.Open(ctx, u, func(c *pgxpool.Config) { c.MaxConns = 2 })
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			rawPools = append(rawPools, p)
		}
		rawOne := driveRaw(b, rawPools[:1], clients, window)
		rawMany := driveRaw(b, rawPools, clients, window)
		_ = benchtable.Record(benchtable.Row{Issue: "#2", What: fmt.Sprintf("(reference) the page's query straight through pgx, %d vendors vs one", vendors),
			Ours: fmt.Sprintf("%.0f q/s", rawMany), Baseline: fmt.Sprintf("one vendor %.0f q/s", rawOne),
			Ratio: rawMany / rawOne, Target: "(informative)", Pass: true})
		b.ReportMetric(one, "req/s-one-vendor")
		b.ReportMetric(many, "req/s-200-vendors")
		b.ReportMetric(ratio, "x-one-vendor")
		b.ReportMetric(float64(maxConns.Load()), "max-pg-conns")
		_ = benchtable.Record(benchtable.Row{Issue: "#2", What: fmt.Sprintf("storefront page round robin over %d vendors (%d clients)", vendors, clients),
			Ours: fmt.Sprintf("%.0f req/s", many), Baseline: fmt.Sprintf("one vendor %.0f req/s", one),
			Ratio: ratio, Target: "≥ 0.8x", Pass: ratio >= 0.8})
		_ = benchtable.Record(benchtable.Row{Issue: "#2", What: "most PostgreSQL connections seen during that run",
			Ours: fmt.Sprint(maxConns.Load()), Baseline: fmt.Sprintf("configured cap %d", cfg.PoolMaxConns),
			Ratio: float64(maxConns.Load()) / float64(cfg.PoolMaxConns), Target: "≤ 1.0x", Pass: maxConns.Load() <= int64(cfg.PoolMaxConns)})
	}
}

const pageQuery = `SELECT sku, title, description, price_minor, currency FROM products
	WHERE state = 'active' ORDER BY created_at DESC, id DESC LIMIT 24`

// driveRaw runs the storefront's query round robin over pools for the
// window and returns queries per second.
func driveRaw(b *testing.B, pools []*pgxpool.Pool, clients int, window time.Duration) float64 {
	var n atomic.Int64
	deadline := time.Now().Add(window)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := n.Add(1)
				rows, err := pools[int(i)%len(pools)].Query(context.Background(), pageQuery)
				if err != nil {
					b.Error(err)
					return
				}
				for rows.Next() {
				}
				rows.Close()
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / window.Seconds()
}
