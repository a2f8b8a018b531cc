package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/stats"
)

// paidOrder inserts an order paid at paidAt (nil: unpaid) for total minor
// units, refunded refunded of it.
func paidOrder(t *testing.T, pool *pgxpool.Pool, currency string, total, refunded int64, paidAt *time.Time) {
	t.Helper()
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	k := hex.EncodeToString(key)
	_, err := pool.Exec(context.Background(), `INSERT INTO orders (checkout_key, access_token, email, status, payment_status,
			reserved_until, currency, subtotal_minor, shipping_minor, tax_minor, total_minor, tax_rate_bp, prices_include_tax,
			shipping_method_name, shipping_address, refunded_minor, paid_at, created_at)
		VALUES ($1, $2, 'shopper@example.com', CASE WHEN $6::timestamptz IS NULL THEN 'pending' ELSE 'paid' END,
			CASE WHEN $6::timestamptz IS NULL THEN 'unpaid' WHEN $5 > 0 THEN 'partially_refunded' ELSE 'paid' END,
			now() + interval '1 hour', $3, $4, 0, 0, $4, 0, true, 'Standard delivery', '{"name": "A Shopper"}', $5, $6,
			COALESCE($6, now()))`, k, k+"-token-abcdefgh", currency, total, refunded, paidAt)
	if err != nil {
		t.Fatalf("insert order: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// figuresOf reads a vendor's rolled-up row of a day.
type dayRow struct {
	orders, refundedOrders, customers, products int
	dbSize, bucketBytes, bucketObjects          *int64
}

func figuresOf(t *testing.T, c *cp, vendorID int64, day time.Time) dayRow {
	t.Helper()
	var r dayRow
	err := c.CP.QueryRow(context.Background(), `SELECT orders_paid, orders_refunded, customers_total, products_total,
		db_size_bytes, bucket_bytes, bucket_objects FROM vendor_stats_daily WHERE vendor_id = $1 AND day = $2`, vendorID, day).
		Scan(&r.orders, &r.refundedOrders, &r.customers, &r.products, &r.dbSize, &r.bucketBytes, &r.bucketObjects)
	if err != nil {
		t.Fatalf("figures of vendor %d on %s: %v", vendorID, day.Format("2006-01-02"), err)
	}
	return r
}

// salesOf reads a vendor's sales rows of a day as "CUR orders/sales/refunded".
func salesOf(t *testing.T, c *cp, vendorID int64, day time.Time) string {
	t.Helper()
	rows, err := c.CP.Query(context.Background(), `SELECT currency, orders_paid, sales_minor, refunded_minor FROM vendor_sales_daily
		WHERE vendor_id = $1 AND day = $2 ORDER BY currency`, vendorID, day)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var cur string
		var n int
		var s, r int64
		if err := rows.Scan(&cur, &n, &s, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %d/%d/%d", cur, n, s, r))
	}
	return strings.Join(out, ", ")
}

func TestStatsRollupAndDashboard(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	va := c.CreateVendor(t, "stats-alpha", "Alpha Stats")
	vb := c.CreateVendor(t, "stats-bravo", "Bravo Stats")
	vc := c.CreateVendor(t, "stats-broken", "Broken Stats")
	pa, pb := c.VendorPool(t, va), c.VendorPool(t, vb)

	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	yesterday := today.AddDate(0, 0, -1)
	paidToday := today.Add(time.Minute)
	if now.Sub(paidToday) < 0 {
		paidToday = now
	}
	paidYesterday := yesterday.Add(12 * time.Hour)

	paidOrder(t, pa, "EUR", 1000, 0, &paidToday)
	paidOrder(t, pa, "EUR", 2500, 500, &paidToday)
	paidOrder(t, pa, "USD", 700, 0, &paidYesterday)
	paidOrder(t, pa, "EUR", 9900, 0, nil) // not paid: not counted
	paidOrder(t, pb, "EUR", 4000, 0, &paidToday)
	for i := range 2 {
		if _, err := pa.Exec(ctx, `INSERT INTO customers (email, password_hash) VALUES ($1, 'x')`, fmt.Sprintf("c%d@example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if _, err := pa.Exec(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ($1, 'P', 100)`, fmt.Sprintf("SKU-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Objects.Client().PutObject(ctx, va.Bucket, "media/a.bin", bytes.NewReader(make([]byte, 1234)), 1234,
		minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// The third vendor's role cannot log in: its roll-up fails, the
	// others' do not.
	if _, err := c.CP.Exec(ctx, `ALTER ROLE `+database.Ident(vc.RoleName)+` NOLOGIN`); err != nil {
		t.Fatal(err)
	}

	opts := stats.Options{Store: c.Store, Prov: c.Prov, Objects: c.Objects, Days: 3}
	run, err := stats.Rollup(ctx, opts, "test")
	if err != nil {
		t.Fatal(err)
	}
	if run.Vendors != 3 || run.Failed != 1 || len(run.Errors) != 1 || run.Errors[0].Slug != vc.Slug {
		t.Fatalf("run: %d vendors, %d failed, errors %+v; want 3, 1 (%s)", run.Vendors, run.Failed, run.Errors, vc.Slug)
	}

	check := func(when string) {
		t.Helper()
		a := figuresOf(t, c, va.ID, today)
		if a.orders != 2 || a.refundedOrders != 1 || a.customers != 2 || a.products != 3 {
			t.Errorf("%s: alpha today %+v, want 2 orders, 1 refunded, 2 customers, 3 products", when, a)
		}
		if a.dbSize == nil || *a.dbSize < 1_000_000 {
			t.Errorf("%s: alpha database size %v, want pg_database_size", when, a.dbSize)
		}
		if a.bucketBytes == nil || *a.bucketBytes != 1234 || a.bucketObjects == nil || *a.bucketObjects != 1 {
			t.Errorf("%s: alpha bucket %v bytes in %v objects, want 1234 in 1", when, a.bucketBytes, a.bucketObjects)
		}
		if got := salesOf(t, c, va.ID, today); got != "EUR 2/3500/500" {
			t.Errorf("%s: alpha sales today %q", when, got)
		}
		if got := salesOf(t, c, va.ID, yesterday); got != "USD 1/700/0" {
			t.Errorf("%s: alpha sales yesterday %q", when, got)
		}
		if y := figuresOf(t, c, va.ID, yesterday); y.orders != 1 || y.dbSize != nil {
			t.Errorf("%s: alpha yesterday %+v, want 1 order and no size (measured today only)", when, y)
		}
		if got := salesOf(t, c, vb.ID, today); got != "EUR 1/4000/0" {
			t.Errorf("%s: bravo sales today %q", when, got)
		}
	}
	check("first run")
	var rowsBefore int
	_ = c.CP.QueryRow(ctx, `SELECT (SELECT count(*) FROM vendor_stats_daily) + (SELECT count(*) FROM vendor_sales_daily)`).Scan(&rowsBefore)

	// Idempotent: a second run replaces the days, adding nothing.
	if _, err := stats.Rollup(ctx, opts, "test"); err != nil {
		t.Fatal(err)
	}
	check("second run")
	var rowsAfter int
	_ = c.CP.QueryRow(ctx, `SELECT (SELECT count(*) FROM vendor_stats_daily) + (SELECT count(*) FROM vendor_sales_daily)`).Scan(&rowsAfter)
	if rowsAfter != rowsBefore || rowsBefore != 3+3+3 {
		t.Errorf("rows: %d after the first run, %d after the second; want 9 both times (3 days of 2 vendors + 3 sales rows)", rowsBefore, rowsAfter)
	}
	// A later refund replaces the day's figure rather than adding to it.
	if _, err := pb.Exec(ctx, `UPDATE orders SET refunded_minor = 1000`); err != nil {
		t.Fatal(err)
	}
	if _, err := stats.Rollup(ctx, opts, "test"); err != nil {
		t.Fatal(err)
	}
	if got := salesOf(t, c, vb.ID, today); got != "EUR 1/4000/1000" {
		t.Errorf("bravo after a refund: %q", got)
	}

	// The pages read the roll-up only: with every vendor role unable to
	// log in, they still show the figures, and no connection to a vendor
	// database is made.
	pa.Close()
	pb.Close()
	for _, v := range []*platform.Vendor{va, vb} {
		if _, err := c.CP.Exec(ctx, `ALTER ROLE `+database.Ident(v.RoleName)+` NOLOGIN`); err != nil {
			t.Fatal(err)
		}
	}
	b := c.browser()
	b.mustLogin()
	p := b.get("/admin/")
	wantStatus(t, "dashboard", p, http.StatusOK)
	// EUR today: 3500 − 500 + 4000 − 1000 = 6000.
	wantContains(t, "dashboard", p.Body, "Orders and sales", "€60.00", "$7.00", "Alpha Stats", "Bravo Stats",
		"1 failed", "Provisioning", "Migrations", "Backups", "1.2 KiB")
	p = b.get("/admin/vendors/" + va.Slug)
	wantStatus(t, "vendor page", p, http.StatusOK)
	wantContains(t, "vendor page", p.Body, "Usage and sales", "€30.00 · $7.00", va.DBName, va.Host, "Starter", "View as vendor")
	var conns int
	if err := c.CP.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = ANY($1)`,
		[]string{va.DBName, vb.DBName, vc.DBName}).Scan(&conns); err != nil {
		t.Fatal(err)
	}
	if conns != 0 {
		t.Errorf("%d connections to vendor databases after the page views", conns)
	}
}

// The roll-up runs as a River job, registered with the job system.
func TestStatsRollupJob(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	v := c.CreateVendor(t, "stats-job", "Job Stats")
	paidOrder(t, c.VendorPool(t, v), "EUR", 1500, 0, ptr(time.Now()))
	r, err := jobs.Start(ctx, envPlatform(c.Env), logging.New(io.Discard, "text", "error"), jobs.Options{NoSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background()) //nolint:errcheck
	if _, err := r.Enqueue(ctx, jobs.StatsRollupArgs{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		_ = c.CP.QueryRow(ctx, `SELECT COALESCE(sum(orders_paid), 0) FROM vendor_stats_daily WHERE vendor_id = $1`, v.ID).Scan(&n)
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stats job did not roll up the vendor's order")
		}
		time.Sleep(100 * time.Millisecond)
	}
	run, err := stats.LatestRun(ctx, c.CP)
	if err != nil || run == nil || run.Actor != "system:scheduler" || run.Days() != 7 {
		t.Errorf("latest run %+v (%v), want the scheduler's, over stats.days = 7 days", run, err)
	}
}
