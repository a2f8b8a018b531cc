package app_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/marketplace"
)

// The images a publish queued are fetched by the job system once the
// publishes job has run, as the vendor's own role into its own bucket,
// and the request is closed when none is left.
func TestMarketplaceImagesJob(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	if err := jobs.Migrate(ctx, c.CP); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.Start(ctx, c.Main.Platform, slog.New(slog.DiscardHandler),
		jobs.Options{NoSchedules: true, Marketplace: marketplace.Config{AllowPrivateURLs: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = r.Stop(sctx)
	}()
	var pic bytes.Buffer
	_ = png.Encode(&pic, image.NewGray(image.Rect(0, 0, 1000, 400)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(pic.Bytes()) }))
	defer srv.Close()

	v := c.CreateVendor(t, "pictured", "Pictured")
	pool := c.VendorPool(t, v)
	var product int64
	if err := pool.QueryRow(ctx, `INSERT INTO products (sku, title, handle, price_minor) VALUES ('P', 'P', 'p', 100) RETURNING id`).Scan(&product); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO image_fetches (product_id, url) VALUES ($1, $2)`, product, srv.URL+"/photo.png"); err != nil {
		t.Fatal(err)
	}
	// The tenant app asks for the publish to be run; the fetches it left
	// are asked for by the job.
	router, err := pgx.Connect(ctx, c.RouterURL)
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close(ctx)
	if _, err := router.Exec(ctx, `SELECT request_vendor_work($1, 'publishes')`, v.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		fs, err := marketplace.ImageFetches(ctx, pool, product)
		return err == nil && len(fs) == 1 && fs[0].State == marketplace.FetchDone
	})
	waitUntil(t, func() bool {
		var n int
		_ = c.CP.QueryRow(ctx, `SELECT count(*) FROM vendor_work WHERE vendor_id = $1`, v.ID).Scan(&n)
		return n == 0
	})
	objects, err := c.Objects.VendorClient(v.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT object_key FROM media UNION ALL SELECT object_key FROM media_variants`)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(keys) != 3 {
		t.Fatalf("objects recorded: %v %v", keys, err)
	}
	for _, k := range keys {
		if _, err := objects.StatObject(ctx, v.Bucket, k, minio.StatObjectOptions{}); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	var linked int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM product_media WHERE product_id = $1`, product).Scan(&linked); err != nil || linked != 1 {
		t.Errorf("%d images linked, %v", linked, err)
	}
}
