package marketplace_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/staff"
)

func TestUndoPublish(t *testing.T) {
	t.Parallel()
	s := newShop(t, "undoer")
	ctx := context.Background()
	var owner int64
	if err := s.v.Pool.QueryRow(ctx, `SELECT id FROM staff WHERE is_owner`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	who := staff.Entry{StaffID: owner, Actor: "staff:owner@undoer.example"}
	gOld := validGTIN("400000000011")
	s.exec(t, `INSERT INTO products (sku, title, description, handle, price_minor, sale_price_minor, gtin, brand, state,
			stock_on_hand, stock_reserved, updated_at, updated_by, low_stock_threshold) VALUES
		('U-1', 'Old title', 'Old description', 'u-1', 1000, 900, $1, 'Old brand', 'active', 10, 2, '2020-01-02 03:04:05.678901+00', $2, 1),
		('U-4', 'Stock only', '', 'u-4', 500, NULL, NULL, '', 'draft', 2, 0, '2021-01-01', NULL, NULL),
		('KEEP', 'Not in the feed', '', 'keep', 100, NULL, NULL, '', 'active', 0, 0, '2021-01-01', NULL, NULL)`, gOld, owner)
	s.insertStaged(t,
		staged{id: "U-1", title: "New title", description: "New description", price: ptr(1200), brand: "New brand",
			availability: "in_stock", imageLink: "https://img.example/u1.jpg"},
		staged{id: "U-2", title: "Brand new", price: ptr(300), availability: "in_stock", imageLink: "https://img.example/u2.jpg",
			additionalImageLink: []string{"https://img.example/u2-b.jpg"}},
		staged{id: "U-3", title: "Brand new too", price: ptr(400), availability: "out_of_stock"},
		staged{id: "U-4", title: "Stock only", price: ptr(500), availability: "in_stock"},
	)
	const products = `SELECT to_jsonb(p) FROM products p ORDER BY id`
	const staging = `SELECT to_jsonb(m) FROM marketplace_products m ORDER BY id`
	productsBefore, stagingBefore := jsonRows(t, s.v.Pool, products), jsonRows(t, s.v.Pool, staging)
	opts := marketplace.PublishOptions{StockFromAvailability: true, StockQuantity: 4, NewState: "active"}

	// 1. Undo restores exactly what there was.
	p1 := s.publish(t, all, opts)
	if p1.Created != 2 || p1.Updated != 2 {
		t.Fatalf("publish: %+v", p1)
	}
	if u1 := getProduct(t, s.v.Pool, "U-1"); u1.Title != "New title" || u1.OnHand != 4 || u1.Sale != nil || u1.GTIN != gOld {
		t.Fatalf("U-1 after the publish: %+v", u1)
	}
	res, err := marketplace.UndoPublish(ctx, s.v.Pool, p1.ID, who)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Restored) != 2 || len(res.Deleted) != 2 || len(res.Archived)+len(res.Skipped)+len(res.StockSkipped) != 0 ||
		res.StockReversed != 2 || res.StagedRestored != 4 {
		t.Fatalf("undo: %+v", res)
	}
	if got := jsonRows(t, s.v.Pool, products); !slices.Equal(got, productsBefore) {
		t.Errorf("products after undo:\n%s\nbefore:\n%s", strings.Join(got, "\n"), strings.Join(productsBefore, "\n"))
	}
	if got := jsonRows(t, s.v.Pool, staging); !slices.Equal(got, stagingBefore) {
		t.Errorf("staging after undo:\n%s\nbefore:\n%s", strings.Join(got, "\n"), strings.Join(stagingBefore, "\n"))
	}
	// The ledger keeps the publish's adjustment of U-1 and its reversal;
	// the new products' movements went with them.
	if got := jsonRows(t, s.v.Pool, `SELECT to_jsonb(ARRAY[p.sku, m.quantity::text, m.reference]) FROM inventory_movements m
			JOIN products p ON p.id = m.product_id ORDER BY m.id`); len(got) != 4 || !strings.Contains(got[2], `"U-1", "6", "publish:`) {
		t.Errorf("ledger after undo: %v", got)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM image_fetches f JOIN products p ON p.id = f.product_id WHERE p.sku IN ('U-2', 'U-3')`); n != 0 {
		t.Errorf("%d image fetches of deleted products", n)
	}
	if got, _ := marketplace.GetPublish(ctx, s.v.Pool, p1.ID); got.State != marketplace.StateUndone || got.UndoneBy == nil || *got.UndoneBy != owner ||
		got.UndoneAt == nil || got.UndoneByEmail == "" {
		t.Errorf("undone publish: %+v", got)
	}
	if _, err := marketplace.UndoPublish(ctx, s.v.Pool, p1.ID, who); !errors.Is(err, marketplace.ErrNotUndoable) {
		t.Errorf("undo twice: %v", err)
	}
	if _, err := marketplace.UndoPublish(ctx, s.v.Pool, 999999, who); !errors.Is(err, marketplace.ErrNotFound) {
		t.Errorf("undo of no publish: %v", err)
	}

	// 2. A later publish of the same products must be undone first.
	p2 := s.publish(t, all, opts)
	var u1Staged int64
	if err := s.v.Pool.QueryRow(ctx, `UPDATE marketplace_products SET price_minor = 1300, content_hash = sha256('changed')
		WHERE external_id = 'U-1' RETURNING id`).Scan(&u1Staged); err != nil {
		t.Fatal(err)
	}
	p3 := s.publish(t, marketplace.SelectIDs(u1Staged), opts)
	if p3.Updated != 1 {
		t.Fatalf("third publish: %+v", p3)
	}
	_, err = marketplace.UndoPublish(ctx, s.v.Pool, p2.ID, who)
	var conflict *marketplace.UndoConflictError
	if !errors.As(err, &conflict) || !slices.Equal(conflict.Later, []int64{p3.ID}) || !strings.Contains(err.Error(), "Undo the later ones first") {
		t.Fatalf("undo under a later publish: %v", err)
	}
	if res, err := marketplace.UndoPublish(ctx, s.v.Pool, p3.ID, who); err != nil || !slices.Equal(res.Restored, []int64{getProduct(t, s.v.Pool, "U-1").ID}) {
		t.Fatalf("undo of the later one: %+v %v", res, err)
	}
	if u1 := getProduct(t, s.v.Pool, "U-1"); u1.Price != 1200 {
		t.Errorf("U-1 after undoing the later publish: %+v", u1)
	}
	if _, err := marketplace.UndoPublish(ctx, s.v.Pool, p2.ID, who); err != nil {
		t.Fatalf("undo once the later one is undone: %v", err)
	}
	if u1 := getProduct(t, s.v.Pool, "U-1"); u1.Title != "Old title" || u1.Price != 1000 || u1.OnHand != 10 {
		t.Errorf("U-1 after undoing both: %+v", u1)
	}

	// 3. What changed after the publish is not undone.
	p4 := s.publish(t, all, opts)
	s.exec(t, `UPDATE products SET title = 'Vendor edit', updated_at = now() WHERE sku = 'U-1'`)
	s.exec(t, `WITH p AS (UPDATE products SET stock_on_hand = stock_on_hand + 2 WHERE sku = 'U-2' RETURNING id, stock_on_hand, stock_reserved)
		INSERT INTO inventory_movements (product_id, kind, quantity, on_hand_after, reserved_after) SELECT id, 'receipt', 2, stock_on_hand, stock_reserved FROM p`)
	s.exec(t, `UPDATE products SET stock_reserved = 3 WHERE sku = 'U-4'`) // U-4 went from 2 to 4: back to 2 would be below 3
	res, err = marketplace.UndoPublish(ctx, s.v.Pool, p4.ID, who)
	if err != nil {
		t.Fatal(err)
	}
	u1, u2, u4 := getProduct(t, s.v.Pool, "U-1"), getProduct(t, s.v.Pool, "U-2"), getProduct(t, s.v.Pool, "U-4")
	if len(res.Skipped) != 1 || res.Skipped[0].SKU != "U-1" || !strings.Contains(res.Skipped[0].Reason, "changed after the publish") {
		t.Errorf("skipped: %+v", res.Skipped)
	}
	if len(res.Archived) != 1 || res.Archived[0].SKU != "U-2" || !strings.Contains(res.Archived[0].Reason, "stock movements") {
		t.Errorf("archived: %+v", res.Archived)
	}
	if len(res.Deleted) != 1 || len(res.Restored) != 1 || res.Restored[0] != u4.ID {
		t.Errorf("deleted %v, restored %v", res.Deleted, res.Restored)
	}
	if len(res.StockSkipped) != 1 || res.StockSkipped[0].SKU != "U-4" || res.StockReversed != 0 {
		t.Errorf("stock: %+v reversed %d", res.StockSkipped, res.StockReversed)
	}
	if u1.Title != "Vendor edit" || u1.Price != 1300 || !u1.StagedLinked {
		t.Errorf("U-1, edited after the publish: %+v", u1)
	}
	if u2.State != "archived" || !u2.StagedLinked || u2.OnHand != 6 || len(u2.ImageURLs) != 0 {
		t.Errorf("U-2, with stock history: %+v", u2)
	}
	if u4.OnHand != 4 || u4.Reserved != 3 {
		t.Errorf("U-4: %+v", u4)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM products WHERE sku = 'U-3'`); n != 0 {
		t.Errorf("U-3 not deleted")
	}
	// U-3's product is gone and U-4 was not linked before the publish
	// (the earlier undos unlinked it): both are back to unlinked.
	if n := count(t, s.v.Pool, `SELECT count(*) FROM marketplace_products WHERE external_id IN ('U-3', 'U-4') AND product_id IS NULL`); n != 2 {
		t.Errorf("staged U-3 and U-4: %d unlinked, want both", n)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM audit_log WHERE action = 'publish.undo' AND staff_id = $1`, owner); n != 4 {
		t.Errorf("%d undo audit entries", n)
	}
}

func TestUndoRefusesOpenPublish(t *testing.T) {
	t.Parallel()
	s := newShop(t, "undoopen")
	s.insertStaged(t, staged{id: "O-1", title: "Open", price: ptr(100)})
	p, err := marketplace.CreatePublish(context.Background(), s.v.Pool, all, marketplace.PublishOptions{}, staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := marketplace.UndoPublish(context.Background(), s.v.Pool, p.ID, staff.Entry{Actor: "test"}); !errors.Is(err, marketplace.ErrNotUndoable) {
		t.Errorf("undo of a queued publish: %v", err)
	}
}
