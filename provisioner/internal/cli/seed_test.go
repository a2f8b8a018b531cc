package cli_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/storefleet/storefleet/internal/testenv"
)

// seed-demo makes the demo admin and vendors, queues the demo feed's
// import once, and can be run again without changing anything.
func TestSeedDemo(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	feed, err := filepath.Abs("../../../internal/feed/testdata/letzshop-sample.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if r := run(t, e, nil, "seed-demo", "--demo-feed", feed); r.code != 0 {
			t.Fatalf("seed-demo: %+v", r)
		}
	}
	ctx := context.Background()
	for slug, products := range map[string]int{"acme-tools": 5, "green-leaf": 4, "letz-market": 0} {
		v, err := e.Store.VendorBySlug(ctx, slug)
		if err != nil || v.State != "active" {
			t.Fatalf("%s: %+v %v", slug, v, err)
		}
		pool := e.VendorPool(t, v)
		var n, imports int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM products`).Scan(&n)
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM imports`).Scan(&imports)
		if n != products {
			t.Errorf("%s has %d products, want %d", slug, n, products)
		}
		if want := map[bool]int{true: 1, false: 0}[slug == "letz-market"]; imports != want {
			t.Errorf("%s has %d imports, want %d", slug, imports, want)
		}
	}
	var requests int
	if err := e.CP.QueryRow(ctx, `SELECT count(*) FROM vendor_work WHERE kind = 'imports'`).Scan(&requests); err != nil || requests != 1 {
		t.Errorf("%d requests to run the demo import (%v)", requests, err)
	}
	if r := run(t, e, nil, "seed-demo", "--demo-feed", "/no/such/file.tsv"); r.code != 0 {
		t.Errorf("a second seed with a missing feed (the import exists already): %+v", r)
	}
}
