package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
)

// seedProducts gives a vendor n active products.
func seedProducts(t testing.TB, e *testenv.Env, v *platform.Vendor, n int) {
	t.Helper()
	// A pool of its own, closed at once: benchmarks count the vendor
	// roles' connections and must see the tenant app's only.
	u, err := e.Prov.VendorDatabaseURL(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := database.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for i := range n {
		_, err := pool.Exec(context.Background(), `INSERT INTO products (sku, title, description, price_minor, state)
			VALUES ($1, $2, $3, $4, 'active')`, fmt.Sprintf("%s-%d", v.Slug, i), fmt.Sprintf("%s product %d", v.Name, i),
			"A fine product.", 1000+i*50)
		if err != nil {
			t.Fatal(err)
		}
	}
}
