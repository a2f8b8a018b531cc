package storefront

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/redisguard"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/routing"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// The search cache against the test Redis, with several caches standing
// for replicas of the tenant app: entries are per vendor, shared through
// Redis, bounded in age and number, and a search that read the catalog
// before a write and stores its results after it is never believed,
// here or on another replica.
func TestSearchCacheGenerations(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(testenv.Vars(t)["STOREFLEET_REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	prefix := "sf:cachetest" + rand.Text()[:8] + ":c:"
	replica := func(o CacheOptions) *Cache {
		o.Guard, o.Prefix = redisguard.New(rc, redisguard.Options{Name: "test"}), prefix
		return NewCache(o)
	}
	a, b, c := replica(CacheOptions{}), replica(CacheOptions{}), replica(CacheOptions{})
	alpha := &tenant.Tenant{Entry: &routing.Entry{VendorID: 1, Slug: "alpha", SchemaVersion: 16}}
	beta := &tenant.Tenant{Entry: &routing.Entry{VendorID: 2, Slug: "beta", SchemaVersion: 16}}
	ctx := context.Background()

	// stored waits until a text's entry is in the vendor's hash in Redis
	// (it is written in the background).
	stored := func(shop *tenant.Tenant, text string) {
		t.Helper()
		key := a.Key(shop, "search")
		for deadline := time.Now().Add(5 * time.Second); !rc.HExists(ctx, key, searchField(text)).Val(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%q is not in %s", text, key)
			}
		}
	}
	lookup := func(x *Cache, shop *tenant.Tenant, text string) ([]int64, bool) {
		t.Helper()
		h, ok, _ := x.searchHits(ctx, shop, text)
		return h.Matches, ok
	}
	search := func(x *Cache, shop *tenant.Tenant, text string, found ...int64) {
		t.Helper()
		_, ok, tk := x.searchHits(ctx, shop, text)
		if ok {
			t.Fatalf("%q in %s: found in the cache before it was searched", text, shop.Entry.Slug)
		}
		x.keepSearchHits(ctx, tk, searchHits{Matches: found})
		stored(shop, text)
	}

	// Kept per vendor; found by other replicas through Redis; the same
	// text in another case and spacing is the same entry.
	search(a, alpha, "Oak table", 1, 2, 3)
	for _, x := range []*Cache{a, b, c} {
		if ids, ok := lookup(x, alpha, "  oak   TABLE "); !ok || !slices.Equal(ids, []int64{1, 2, 3}) {
			t.Errorf("alpha's entry: %v %v", ids, ok)
		}
		if ids, ok := lookup(x, beta, "oak table"); ok {
			t.Errorf("beta finds alpha's entry: %v", ids)
		}
	}
	search(b, beta, "oak table", 7)
	if ids, _ := lookup(c, beta, "oak table"); !slices.Equal(ids, []int64{7}) {
		t.Errorf("beta's entry: %v", ids)
	}

	// A write on one replica: every replica's next look-up reads the
	// catalog again (the others' copies in the process excepted, which
	// live LocalTTL: c has none of alpha's "lamp" yet).
	search(a, alpha, "lamp", 4)
	a.Invalidate(ctx, alpha)
	if ids, ok := lookup(a, alpha, "lamp"); ok {
		t.Errorf("after a write, the writing replica still has %v", ids)
	}
	if ids, ok := lookup(c, alpha, "lamp"); ok {
		t.Errorf("after a write, another replica still finds %v in Redis", ids)
	}
	if _, ok := lookup(c, beta, "oak table"); !ok {
		t.Errorf("a write at alpha dropped beta's entries")
	}

	// A search that started before a write and stores after it: on the
	// writing replica...
	_, _, slow := a.searchHits(ctx, alpha, "vase")
	a.Invalidate(ctx, alpha)
	a.keepSearchHits(ctx, slow, searchHits{Matches: []int64{9}})
	stored(alpha, "vase") // before the next write drops the hash
	// ...and on another one.
	_, _, slow2 := b.searchHits(ctx, alpha, "mirror")
	a.Invalidate(ctx, alpha)
	b.keepSearchHits(ctx, slow2, searchHits{Matches: []int64{9}})
	stored(alpha, "mirror")
	for _, text := range []string{"vase", "mirror"} {
		for i, x := range []*Cache{a, c} {
			if ids, ok := lookup(x, alpha, text); ok {
				t.Errorf("replica %d believes %q's results from before the write: %v", i, text, ids)
			}
		}
	}

	// An entry is believed a list life from when its search started.
	short := replica(CacheOptions{ListTTL: time.Second, LocalTTL: -1})
	search(short, alpha, "old news", 5)
	if _, ok := lookup(short, alpha, "old news"); !ok {
		t.Fatalf("a fresh entry is not found")
	}
	time.Sleep(2100 * time.Millisecond)
	if ids, ok := lookup(short, alpha, "old news"); ok {
		t.Errorf("an entry older than its life is believed: %v", ids)
	}

	// A vendor's hash holds maxSearches texts at most: the one past it
	// starts it again.
	key := b.Key(beta, "search")
	for i := int(rc.HLen(ctx, key).Val()); i < maxSearches; i++ {
		search(b, beta, fmt.Sprint("text ", i), int64(i))
	}
	_, _, tk := b.searchHits(ctx, beta, "one too many")
	b.keepSearchHits(ctx, tk, searchHits{Matches: []int64{1}})
	for deadline := time.Now().Add(5 * time.Second); rc.Exists(ctx, key).Val() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("beta's hash holds %d texts (at most %d)", rc.HLen(ctx, key).Val(), maxSearches)
		}
	}
}
