package app_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/config"
)

// What a search found is kept in the storefront's cache, per vendor and
// text (docs/storefront.md): two shops searching the same text each get
// their own; prices, stock and what is on sale are read afresh on every
// page; a product added behind the back office's back shows once the
// entry expires, and at once after any back-office write.
func TestStorefrontSearchCache(t *testing.T) {
	t.Parallel()
	rd := startPrivateRedis(t)
	s := newShopEnvWith(t, func(c *config.Config) { c.RedisURL = rd.url() })
	a, alice := signedInOwner(t, s, "alpha", "Alpha Shop")
	b, _ := signedInOwner(t, s, "beta", "Beta Shop")
	alphaDB, betaDB := s.e.VendorPool(t, a), s.e.VendorPool(t, b)
	ids := addShopProducts(t, alphaDB,
		shopProduct{sku: "A-1", title: "Copper kettle", price: 4000, onHand: 3},
		shopProduct{sku: "A-2", title: "Steel kettle", price: 3000, onHand: 3})
	// Beta's products with alpha's kettle ids are not kettles: were beta
	// served alpha's cached ids, its page would show them.
	addShopProducts(t, betaDB,
		shopProduct{sku: "B-0", title: "Teapot", price: 900, onHand: 3},
		shopProduct{sku: "B-00", title: "Teacup", price: 400, onHand: 3},
		shopProduct{sku: "B-1", title: "Kettle descaler", price: 500, onHand: 3})

	type hit struct {
		SKU   string
		Price string
	}
	search := func(host, q string) []hit {
		t.Helper()
		code, out := s.getJSON(t, host, "/api/v1/shop/search?q="+urlQuery(q))
		if code != 200 {
			t.Fatalf("search %q on %s: %d %v", q, host, code, out)
		}
		var hits []hit
		for _, p := range out["products"].([]any) {
			m := p.(map[string]any)
			hits = append(hits, hit{SKU: m["sku"].(string), Price: fmt.Sprint(m["price"])})
		}
		slices.SortFunc(hits, func(x, y hit) int { return strings.Compare(x.SKU, y.SKU) })
		return hits
	}
	skus := func(hs []hit) string {
		var out []string
		for _, h := range hs {
			out = append(out, h.SKU)
		}
		return strings.Join(out, ",")
	}

	// Each shop finds its own products for the same text, the first time
	// and from the cache.
	for round := range 2 {
		if got := skus(search("alpha.localhost", "kettle")); got != "A-1,A-2" {
			t.Fatalf("round %d: alpha finds %s", round, got)
		}
		if got := skus(search("beta.localhost", "Kettle")); got != "B-1" {
			t.Fatalf("round %d: beta finds %s", round, got)
		}
	}
	// The entries are in Redis, under each vendor's id.
	ctx := context.Background()
	rc := rd.client()
	for _, x := range []struct {
		id   int64
		want string
	}{{a.ID, "kettle"}, {b.ID, "kettle"}} {
		key := fmt.Sprintf("sf:%s:c:%d:s%d:search", s.e.Cfg.Prefix, x.id, schemaOf(t, s, x.id))
		for deadline := time.Now().Add(10 * time.Second); !rc.HExists(ctx, key, x.want).Val(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in %s (keys: %v)", x.want, key, rc.Keys(ctx, "sf:*").Val())
			}
		}
	}

	// Prices and what is on sale are read on every page, cache or not.
	if _, err := alphaDB.Exec(ctx, `UPDATE products SET price_minor = 4500 WHERE id = $1`, ids["A-1"]); err != nil {
		t.Fatal(err)
	}
	if _, err := alphaDB.Exec(ctx, `UPDATE products SET state = 'draft' WHERE id = $1`, ids["A-2"]); err != nil {
		t.Fatal(err)
	}
	got := search("alpha.localhost", "kettle")
	if len(got) != 1 || got[0].SKU != "A-1" || !strings.Contains(got[0].Price, "45") {
		t.Errorf("after a price change and a product hidden: %v", got)
	}

	// A product added behind the back office's back (as a marketplace
	// publish does) is not in a text's cached results yet...
	addShopProducts(t, alphaDB, shopProduct{sku: "A-3", title: "Enamel kettle", price: 2000, onHand: 3})
	if got := skus(search("alpha.localhost", "kettle")); got != "A-1" {
		t.Errorf("straight after an insert the cached text finds %s", got)
	}
	// ...but a text not searched yet finds it,
	if got := skus(search("alpha.localhost", "enamel kettle")); got != "A-3" {
		t.Errorf("a new text finds %s", got)
	}
	// and any write through the back office drops the shop's entries
	// (beta's stay).
	f := settingsForm()
	f.Set("display_name", "Alpha Renamed")
	if code, body, _ := alice.do("POST", "/admin/settings", f); code != 303 {
		t.Fatalf("save settings: %d %.300s", code, body)
	}
	if got := skus(search("alpha.localhost", "kettle")); got != "A-1,A-3" {
		t.Errorf("after a back-office write alpha finds %s", got)
	}
	if got := skus(search("beta.localhost", "kettle")); got != "B-1" {
		t.Errorf("beta finds %s", got)
	}
}
