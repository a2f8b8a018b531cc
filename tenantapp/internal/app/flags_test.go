package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
)

// TestSearchSuggestionsFlag switches the storefront.search_suggestions
// flag for one vendor and for every vendor, and sees /search/suggest
// follow within a second (NOTIFY), while the other vendor is untouched.
func TestSearchSuggestionsFlag(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	ctx := context.Background()
	a := s.e.CreateVendor(t, "sugg-a", "Alpha")
	b := s.e.CreateVendor(t, "sugg-b", "Bravo")
	seedProducts(t, s.e, a, 3)
	seedProducts(t, s.e, b, 3)
	actor := platform.Actor{Kind: "system", Name: "test"}
	count := func(v *platform.Vendor) int {
		code, out := s.getJSON(t, v.Slug+".localhost", "/search/suggest?q="+v.Name[:3])
		if code != 200 {
			t.Fatalf("suggest at %s: %d %v", v.Slug, code, out)
		}
		return len(out["suggestions"].([]any))
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > time.Second {
				t.Fatalf("%s: not within a second", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if count(a) == 0 || count(b) == 0 {
		t.Fatal("no suggestions with the flag on")
	}
	if _, err := s.e.Store.SetFlagOverride(ctx, actor, "storefront.search_suggestions", "sugg-a", false); err != nil {
		t.Fatal(err)
	}
	wait("override off for a", func() bool { return count(a) == 0 })
	if count(b) == 0 {
		t.Error("b lost its suggestions to a's override")
	}
	if _, _, err := s.e.Store.SetFlag(ctx, actor, "storefront.search_suggestions", false, nil); err != nil {
		t.Fatal(err)
	}
	wait("global off", func() bool { return count(b) == 0 })
	if _, err := s.e.Store.SetFlagOverride(ctx, actor, "storefront.search_suggestions", "sugg-a", true); err != nil {
		t.Fatal(err)
	}
	wait("override on for a", func() bool { return count(a) > 0 })
	if count(b) != 0 {
		t.Error("b got suggestions back from a's override")
	}
}
