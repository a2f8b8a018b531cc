package sku_test

import (
	"context"
	"slices"
	"testing"

	"github.com/storefleet/storefleet/internal/sku"
	"github.com/storefleet/storefleet/internal/testenv"
)

func TestValidAndHandleBase(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"A-1": true, "a.b/c_d-9": true, "": false, "-A": false, "A 1": false,
		"Ä1": false, "12345678901234567890123456789012345678901234567890123456789012345": false} {
		if got := sku.Valid(s); got != want {
			t.Errorf("Valid(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]string{"HAM-1": "ham-1", "a__b..C": "a-b-c", "--x--": "x", "///": "product"} {
		if got := sku.HandleBase(s); got != want {
			t.Errorf("HandleBase(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestFreeHandles(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	_, pool := e.TenantDB(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO products (sku, title, handle, price_minor) SELECT 'X' || i, 'X', h, 100
		FROM unnest(ARRAY['ham-1', 'ham-1-2', 'ham-1-3', 'ham-1-4', 'ham-1-5', 'ham-1-6', 'ham-1-7', 'ham-1-8', 'ham-1-9', 'mug'])
			WITH ORDINALITY AS t(h, i)`); err != nil {
		t.Fatal(err)
	}
	got, err := sku.FreeHandles(ctx, pool, []string{"HAM-1", "ham_1", "MUG", "new", "NEW", "mug"})
	if err != nil {
		t.Fatal(err)
	}
	// ham-1 up to -9 are taken (past the first round of suffixes); two
	// SKUs of the list that make the same handle get their own.
	if want := []string{"ham-1-10", "ham-1-11", "mug-2", "new", "new-2", "mug-3"}; !slices.Equal(got, want) {
		t.Errorf("FreeHandles = %q, want %q", got, want)
	}
	if h, err := sku.FreeHandle(ctx, pool, "Fresh"); err != nil || h != "fresh" {
		t.Errorf("FreeHandle = %q %v", h, err)
	}
}
