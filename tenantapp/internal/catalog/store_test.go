package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
)

var who = staff.Entry{Actor: "test"}

func newDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	_, pool := testenv.New(t).TenantDB(t)
	return pool
}

func fields(sku string, price int64) catalog.Fields {
	return catalog.Fields{SKU: sku, Title: "Product " + sku, PriceMinor: price, Currency: "EUR", State: catalog.StateActive}
}

func count(t *testing.T, db *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateUpdateDeleteAndAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	cat, err := catalog.CreateCategory(ctx, db, "Hand  tools ", who)
	if err != nil || cat.Name != "Hand tools" {
		t.Fatalf("category: %+v %v", cat, err)
	}
	if _, err := catalog.CreateCategory(ctx, db, "HAND TOOLS", who); err == nil {
		t.Fatal("a category name differing only in case was accepted")
	}
	f := fields("HAM-1", 1290)
	f.GTIN, f.CategoryIDs = "4006381333931", []int64{cat.ID}
	p, err := catalog.Create(ctx, db, f, who)
	if err != nil {
		t.Fatal(err)
	}
	if p.Handle != "ham-1" || p.GTIN != "4006381333931" || len(p.CategoryIDs) != 1 {
		t.Fatalf("created: %+v", p)
	}
	// A second product whose SKU makes the same handle gets its own.
	p2, err := catalog.Create(ctx, db, fields("ham.1", 500), who)
	if err != nil || p2.Handle != "ham-1-2" {
		t.Fatalf("second handle: %+v %v", p2, err)
	}
	// The editor's version must match.
	f.Title = "Claw hammer"
	if _, err := catalog.Update(ctx, db, p.ID, p.UpdatedAt.Add(-1), f, who); !errors.Is(err, catalog.ErrChanged) {
		t.Fatalf("stale update: %v", err)
	}
	up, err := catalog.Update(ctx, db, p.ID, p.UpdatedAt, f, who)
	if err != nil || up.Title != "Claw hammer" {
		t.Fatalf("update: %+v %v", up, err)
	}
	// Invalid input writes nothing.
	bad := f
	sale := int64(1290)
	bad.SalePrice = &sale
	if _, err := catalog.Update(ctx, db, p.ID, up.UpdatedAt, bad, who); err == nil {
		t.Fatal("a sale price equal to the price was saved")
	}
	if _, err := catalog.Archive(ctx, db, p.ID, who); err != nil {
		t.Fatal(err)
	}
	if err := catalog.Delete(ctx, db, p2.ID, who); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.Get(ctx, db, p2.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("deleted product: %v", err)
	}
	// Stock history keeps a product.
	if _, err := catalog.Move(ctx, db, catalog.Movement{ProductID: p.ID, Kind: catalog.MoveReceipt, Quantity: 3}, who); err != nil {
		t.Fatal(err)
	}
	var inUse *catalog.InUseError
	if err := catalog.Delete(ctx, db, p.ID, who); !errors.As(err, &inUse) {
		t.Fatalf("delete with history: %v", err)
	}
	if err := catalog.DeleteCategory(ctx, db, cat.ID, who); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"category.created": 1, "category.deleted": 1, "product.created": 2, "product.updated": 1,
		"product.archived": 1, "product.deleted": 1, "inventory.moved": 1}
	for action, n := range want {
		if got := count(t, db, `SELECT count(*) FROM audit_log WHERE action = $1`, action); got != n {
			t.Errorf("%s: %d audit entries, want %d", action, got, n)
		}
	}
}

func TestDuplicateSKU(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	if _, err := catalog.Create(ctx, db, fields("DUP-1", 100), who); err != nil {
		t.Fatal(err)
	}
	_, err := catalog.Create(ctx, db, fields("DUP-1", 200), who)
	fe, ok := catalog.AsFieldErrors(err)
	if !ok || fe["sku"] == "" {
		t.Fatalf("duplicate SKU: %v", err)
	}
	other, err := catalog.Create(ctx, db, fields("DUP-2", 100), who)
	if err != nil {
		t.Fatal(err)
	}
	_, err = catalog.Update(ctx, db, other.ID, other.UpdatedAt, fields("DUP-1", 100), who)
	if fe, ok := catalog.AsFieldErrors(err); !ok || fe["sku"] == "" {
		t.Fatalf("renaming to a taken SKU: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM products`); n != 2 {
		t.Fatalf("%d products", n)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_log`); n != 2 {
		t.Fatalf("%d audit entries; refused writes must leave none", n)
	}
}

func TestConcurrentSKUInserts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := fields("RACE-1", int64(100+i))
			_, errs[i] = catalog.Create(ctx, db, f, who)
		}()
	}
	wg.Wait()
	ok, dup := 0, 0
	for _, err := range errs {
		switch fe, isField := catalog.AsFieldErrors(err); {
		case err == nil:
			ok++
		case isField && fe["sku"] != "":
			dup++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || dup != n-1 {
		t.Fatalf("%d saved, %d refused as duplicates", ok, dup)
	}
	if c := count(t, db, `SELECT count(*) FROM products WHERE sku = 'RACE-1'`); c != 1 {
		t.Fatalf("%d rows", c)
	}
	if c := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'product.created'`); c != 1 {
		t.Fatalf("%d audit entries", c)
	}
}

func TestBulkEdit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	var ids []int64
	for i, price := range []int64{1000, 1999, 500} {
		f := fields(fmt.Sprintf("B-%d", i), price)
		if i == 1 {
			sale := int64(1500)
			f.SalePrice = &sale
		}
		p, err := catalog.Create(ctx, db, f, who)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	edit := catalog.BulkEdit{IDs: ids, Kind: catalog.BulkAdjustPrice, Percent: "-10"}
	plan, err := catalog.PreviewBulk(ctx, db, edit)
	if err != nil {
		t.Fatal(err)
	}
	after := map[int64][2]any{}
	for _, c := range plan.Changes {
		after[c.ID] = [2]any{c.PriceAfter, c.SaleAfter}
	}
	if after[ids[0]][0] != int64(900) || after[ids[1]][0] != int64(1799) || *(after[ids[1]][1].(*int64)) != 1350 || after[ids[2]][0] != int64(450) {
		t.Fatalf("preview: %+v", plan.Changes)
	}
	if n := count(t, db, `SELECT count(*) FROM products WHERE price_minor IN (900, 1799, 450)`); n != 0 {
		t.Fatal("the preview wrote")
	}
	// Someone changes a product after the preview: applying refuses, all of it.
	p0, _ := catalog.Get(ctx, db, ids[0])
	f0 := p0.Fields()
	f0.Title = "Changed meanwhile"
	if _, err := catalog.Update(ctx, db, ids[0], p0.UpdatedAt, f0, who); err != nil {
		t.Fatal(err)
	}
	fresh, err := catalog.ApplyBulk(ctx, db, edit, plan.Fingerprint, who)
	if !errors.Is(err, catalog.ErrBulkStale) || fresh == nil {
		t.Fatalf("stale apply: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM products WHERE price_minor IN (900, 1799, 450)`); n != 0 {
		t.Fatal("a stale bulk edit wrote")
	}
	if _, err := catalog.ApplyBulk(ctx, db, edit, fresh.Fingerprint, who); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM products WHERE price_minor IN (900, 1799, 450)`); n != 3 {
		t.Fatalf("%d products changed", n)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'product.bulk_updated'`); n != 3 {
		t.Fatalf("%d audit entries", n)
	}
	// Setting a price at or below a sale price removes the sale price, and
	// the preview says so.
	set := catalog.BulkEdit{IDs: ids[1:2], Kind: catalog.BulkSetPrice, Price: "10,00"}
	plan, err = catalog.PreviewBulk(ctx, db, set)
	if err != nil || plan.Changes[0].SaleAfter != nil || plan.Changes[0].Note == "" {
		t.Fatalf("set price: %+v %v", plan, err)
	}
	// A price with decimals cannot go onto a JPY product: nothing is written.
	yen := fields("YEN-1", 1500)
	yen.Currency = "JPY"
	py, err := catalog.Create(ctx, db, yen, who)
	if err != nil {
		t.Fatal(err)
	}
	set = catalog.BulkEdit{IDs: []int64{ids[0], py.ID}, Kind: catalog.BulkSetPrice, Price: "12.50"}
	plan, err = catalog.PreviewBulk(ctx, db, set)
	if err != nil || plan.Errors() != 1 {
		t.Fatalf("JPY preview: %+v %v", plan, err)
	}
	if _, err := catalog.ApplyBulk(ctx, db, set, plan.Fingerprint, who); err == nil {
		t.Fatal("a bulk edit with a refused row was applied")
	}
	if n := count(t, db, `SELECT count(*) FROM products WHERE price_minor = 1250`); n != 0 {
		t.Fatal("part of a refused bulk edit was written")
	}
	// State.
	st := catalog.BulkEdit{IDs: ids, Kind: catalog.BulkSetState, State: catalog.StateArchived}
	plan, _ = catalog.PreviewBulk(ctx, db, st)
	if _, err := catalog.ApplyBulk(ctx, db, st, plan.Fingerprint, who); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM products WHERE state = 'archived'`); n != 3 {
		t.Fatalf("%d archived", n)
	}
	// Nothing selected.
	if _, err := catalog.PreviewBulk(ctx, db, catalog.BulkEdit{Kind: catalog.BulkSetState, State: "active"}); err == nil {
		t.Fatal("an empty selection was accepted")
	}
}

func TestStockNeverNegativeUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	p, err := catalog.Create(ctx, db, fields("STOCK-1", 100), who)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.Move(ctx, db, catalog.Movement{ProductID: p.ID, Kind: catalog.MoveReceipt, Quantity: 10}, who); err != nil {
		t.Fatal(err)
	}
	// Watch the stock while the sales race.
	stop := make(chan struct{})
	var lowest int64 = 10
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var on, res int64
			if err := db.QueryRow(ctx, `SELECT stock_on_hand, stock_reserved FROM products WHERE id = $1`, p.ID).Scan(&on, &res); err == nil && on-res < lowest {
				lowest = on - res
			}
		}
	}()
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = catalog.Move(ctx, db, catalog.Movement{ProductID: p.ID, Kind: catalog.MoveSale, Quantity: 1, Reference: fmt.Sprint("order ", i)}, who)
		}()
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	sold, refused := 0, 0
	for _, err := range errs {
		var se *catalog.StockError
		switch {
		case err == nil:
			sold++
		case errors.As(err, &se):
			refused++
			if se.Stock.Available != 0 {
				t.Errorf("refused with %d available", se.Stock.Available)
			}
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if sold != 10 || refused != 40 {
		t.Fatalf("%d sold, %d refused; want 10 and 40", sold, refused)
	}
	got, _ := catalog.Get(ctx, db, p.ID)
	if got.Stock.OnHand != 0 || lowest < 0 {
		t.Fatalf("stock %d, lowest seen %d", got.Stock.OnHand, lowest)
	}
	if c := count(t, db, `SELECT count(*) FROM inventory_movements WHERE product_id = $1 AND kind = 'sale'`, p.ID); c != 10 {
		t.Fatalf("%d sales in the ledger", c)
	}
	if c := count(t, db, `SELECT count(*) FROM inventory_movements WHERE on_hand_after < 0 OR reserved_after < 0`); c != 0 {
		t.Fatal("the ledger went negative")
	}
}

func TestMovementsAndLowStock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	p, err := catalog.Create(ctx, db, fields("LOW-1", 100), who)
	if err != nil {
		t.Fatal(err)
	}
	q, err := catalog.Create(ctx, db, fields("LOW-2", 100), who)
	if err != nil {
		t.Fatal(err)
	}
	move := func(kind string, qty int64, reason string) error {
		_, err := catalog.Move(ctx, db, catalog.Movement{ProductID: p.ID, Kind: kind, Quantity: qty, Reason: reason}, who)
		return err
	}
	steps := []struct {
		kind      string
		qty       int64
		reason    string
		ok        bool
		available int64
	}{
		{catalog.MoveReceipt, 8, "", true, 8},
		{catalog.MoveReservation, 5, "", true, 3},
		{catalog.MoveSale, 4, "", false, 3}, // only 3 are not reserved
		{catalog.MoveAdjustment, -4, "broken", false, 3},
		{catalog.MoveRelease, 6, "", false, 3}, // only 5 reserved
		{catalog.MoveRelease, 2, "", true, 5},
		{catalog.MoveSale, 5, "", true, 0},
		{catalog.MoveReturn, 1, "", true, 1},
		{catalog.MoveAdjustment, 2, "stocktake", true, 3},
	}
	for i, s := range steps {
		err := move(s.kind, s.qty, s.reason)
		if s.ok != (err == nil) {
			t.Fatalf("step %d (%s %d): %v", i, s.kind, s.qty, err)
		}
		got, _ := catalog.Get(ctx, db, p.ID)
		if got.Stock.Available != s.available {
			t.Fatalf("step %d: %d available, want %d", i, got.Stock.Available, s.available)
		}
	}
	for _, bad := range []catalog.Movement{
		{ProductID: p.ID, Kind: catalog.MoveAdjustment, Quantity: 1},          // no reason
		{ProductID: p.ID, Kind: catalog.MoveSale, Quantity: 0},                // nothing
		{ProductID: p.ID, Kind: catalog.MoveReceipt, Quantity: -3},            // negative receipt
		{ProductID: p.ID, Kind: "theft", Quantity: 1},                         // unknown kind
		{ProductID: p.ID, Kind: catalog.MoveReceipt, Quantity: 2_000_000_000}, // too many
	} {
		if _, err := catalog.Move(ctx, db, bad, who); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
	if _, err := catalog.Move(ctx, db, catalog.Movement{ProductID: 999999, Kind: catalog.MoveReceipt, Quantity: 1}, who); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown product: %v", err)
	}
	moves, err := catalog.Movements(ctx, db, p.ID, 0, 100)
	if err != nil || len(moves) != 6 || moves[0].Kind != catalog.MoveAdjustment || moves[0].OnHandAfter != 6 || moves[0].ReservedAfter != 3 {
		t.Fatalf("ledger: %+v %v", moves, err)
	}
	// Low stock: at or below the threshold, furthest below first, archived left out.
	three, five := int64(3), int64(5)
	if err := catalog.SetThreshold(ctx, db, p.ID, &three, who); err != nil {
		t.Fatal(err)
	}
	if err := catalog.SetThreshold(ctx, db, q.ID, &five, who); err != nil {
		t.Fatal(err)
	}
	low, err := catalog.LowStock(ctx, db, 10)
	if err != nil || len(low) != 2 || low[0].ID != q.ID || low[1].ID != p.ID || low[1].Available != 3 {
		t.Fatalf("low stock: %+v %v", low, err)
	}
	if _, err := catalog.Archive(ctx, db, q.ID, who); err != nil {
		t.Fatal(err)
	}
	if low, _ := catalog.LowStock(ctx, db, 10); len(low) != 1 {
		t.Fatalf("archived products must not show: %+v", low)
	}
	neg := int64(-1)
	if err := catalog.SetThreshold(ctx, db, p.ID, &neg, who); err == nil {
		t.Fatal("a negative threshold was accepted")
	}
}

func TestListFiltersAndExport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	tools, _ := catalog.CreateCategory(ctx, db, "Tools", who)
	for i := range 30 {
		f := fields(fmt.Sprintf("L-%02d", i), int64(100*(i+1)))
		if i%3 == 0 {
			f.State = catalog.StateDraft
		}
		if i < 5 {
			f.CategoryIDs = []int64{tools.ID}
		}
		if i == 7 {
			f.Title, f.GTIN = "Special_50% widget", "96385074"
		}
		if _, err := catalog.Create(ctx, db, f, who); err != nil {
			t.Fatal(err)
		}
	}
	ptr := func(v int64) *int64 { return &v }
	cases := []struct {
		name string
		f    catalog.Filter
		want int
	}{
		{"all", catalog.Filter{PageSize: 100}, 30},
		{"drafts", catalog.Filter{State: "draft", PageSize: 100}, 10},
		{"price range", catalog.Filter{MinPrice: ptr(500), MaxPrice: ptr(1000), PageSize: 100}, 6},
		{"active in range", catalog.Filter{State: "active", MinPrice: ptr(500), MaxPrice: ptr(1000), PageSize: 100}, 4},
		{"category", catalog.Filter{CategoryID: tools.ID, PageSize: 100}, 5},
		{"sku search", catalog.Filter{Query: "l-1", PageSize: 100}, 10},
		{"wildcards are literal", catalog.Filter{Query: "_50%", PageSize: 100}, 1},
		{"percent alone matches nothing", catalog.Filter{Query: "%%", PageSize: 100}, 0},
		{"gtin", catalog.Filter{Query: "9638-5074", PageSize: 100}, 1},
	}
	for _, c := range cases {
		page, err := catalog.List(ctx, db, c.f)
		if err != nil || len(page.Rows) != c.want {
			t.Errorf("%s: %d rows, %v; want %d", c.name, len(page.Rows), err, c.want)
		}
	}
	// Pages follow each other without gaps or repeats.
	seen := map[int64]bool{}
	for pg := 1; ; pg++ {
		page, err := catalog.List(ctx, db, catalog.Filter{Sort: "price", Page: pg, PageSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Rows {
			if seen[r.ID] {
				t.Fatalf("product %d on two pages", r.ID)
			}
			seen[r.ID] = true
		}
		if !page.HasNext {
			break
		}
	}
	if len(seen) != 30 {
		t.Fatalf("%d products over the pages", len(seen))
	}
	if _, err := catalog.List(ctx, db, catalog.Filter{Sort: "price; DROP TABLE products"}); err == nil {
		t.Fatal("an unknown sort was accepted")
	}
	n := 0
	err := catalog.Export(ctx, db, catalog.Filter{CategoryID: tools.ID}, func(r *catalog.ExportRow) error {
		n++
		if len(r.Categories) != 1 || r.Categories[0] != "Tools" {
			t.Errorf("categories %v", r.Categories)
		}
		return nil
	})
	if err != nil || n != 5 {
		t.Fatalf("export: %d rows, %v", n, err)
	}
}
