package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/staff"
)

// An import asked for by a vendor runs in the control plane's job system
// and shows on the console's marketplace page and in the admin API.
func TestMarketplacePage(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	if err := jobs.Migrate(ctx, c.CP); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.Start(ctx, c.Main.Platform, slog.New(slog.DiscardHandler), jobs.Options{NoSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = r.Stop(sctx)
	}()
	v := c.CreateVendor(t, "feeder", "Feeder")
	objects, err := c.Objects.VendorClient(v.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	pool := c.VendorPool(t, v)
	for _, body := range []string{"id\ttitle\tprice\nA\tOne\t1.00 EUR\nB\tTwo\tabc\n", "not a feed at all\x00\x01"} {
		if _, err := marketplace.CreateImport(ctx, pool, objects, v.Bucket, marketplace.NewImport{FileName: "f.tsv",
			Body: bytes.NewReader([]byte(body)), Size: int64(len(body))}, staff.Entry{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	// As the tenant app asks: through the router role's one function.
	router, err := pgx.Connect(ctx, c.RouterURL)
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close(ctx)
	if _, err := router.Exec(ctx, `SELECT request_vendor_work($1, 'imports')`, v.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := c.Store.MarketplaceImports(ctx, platform.MarketplaceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, i := range list {
			if i.State == "finished" || i.State == "failed" {
				done++
			}
		}
		if done == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("imports not done: %+v", list)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The request is closed once the vendor's queue is empty.
	waitUntil(t, func() bool {
		var n int
		_ = c.CP.QueryRow(ctx, `SELECT count(*) FROM vendor_work`).Scan(&n)
		return n == 0
	})

	b := c.browser()
	b.mustLogin()
	p := b.get("/admin/marketplace")
	wantStatus(t, "marketplace page", p, http.StatusOK)
	wantContains(t, "marketplace page", p.Body, "feeder", "finished", "failed", "not a product feed")
	wantContains(t, "failed filter", b.get("/admin/marketplace?state=failed").Body, "not a product feed")

	api := c.api(c.newToken())
	out := decode[struct {
		Imports []platform.MarketplaceImport
		Vendors []platform.MarketplaceVendor
	}](t, api.do(http.MethodGet, "/api/v1/marketplace/imports?vendor=feeder", nil))
	if len(out.Imports) != 2 || len(out.Vendors) != 1 || out.Vendors[0].Finished != 1 || out.Vendors[0].Failed != 1 || out.Vendors[0].Rows != 1 {
		t.Errorf("API: %+v", out)
	}
	wantAPIError(t, "bad state", api.do(http.MethodGet, "/api/v1/marketplace/imports?state=nope", nil), http.StatusUnprocessableEntity, "state")

	// The router role may ask for work, for active vendors and known kinds
	// only, and may not write anything else.
	for _, sql := range []string{
		`SELECT request_vendor_work(` + strconv.FormatInt(v.ID, 10) + `, 'rm -rf')`,
		`SELECT request_vendor_work(999999, 'imports')`,
		`INSERT INTO vendor_work (vendor_id, kind) VALUES (` + strconv.FormatInt(v.ID, 10) + `, 'imports')`,
		`DELETE FROM marketplace_imports`,
		`SELECT count(*) FROM vendors`,
	} {
		if _, err := router.Exec(ctx, sql); err == nil {
			t.Errorf("the router role may run %s", sql)
		}
	}
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
