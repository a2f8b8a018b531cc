package marketplace_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/gtin"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/staff"
)

// stage imports a TSV feed and fails the test unless every row went in.
func (s *shop) stage(t *testing.T, tsv string) *marketplace.Import {
	t.Helper()
	imp := s.run(t, s.upload(t, "feed.tsv", []byte(tsv), "").ID)
	if imp.State != marketplace.StateFinished || imp.RowsRejected != 0 {
		rej, _ := marketplace.Rejections(context.Background(), s.v.Pool, imp.ID, 0, 10)
		t.Fatalf("staging import: %+v %+v", imp, rej)
	}
	return imp
}

// publish makes a publish, runs it, and returns it as it ended.
func (s *shop) publish(t *testing.T, sel marketplace.Selection, opts marketplace.PublishOptions) *marketplace.Publish {
	t.Helper()
	ctx := context.Background()
	p, err := marketplace.CreatePublish(ctx, s.v.Pool, sel, opts, staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatalf("create publish: %v", err)
	}
	if p.State != marketplace.StateQueued || p.ItemsTotal == 0 {
		t.Fatalf("new publish: %+v", p)
	}
	next, err := s.r.Drain(ctx, marketplace.WorkPublishes, s.v)
	if err != nil || !next.IsZero() {
		t.Fatalf("drain publishes: next %v, %v", next, err)
	}
	if p, err = marketplace.GetPublish(ctx, s.v.Pool, p.ID); err != nil {
		t.Fatal(err)
	}
	if p.State != marketplace.StateFinished {
		t.Fatalf("publish ended %s: %s", p.State, p.Error)
	}
	return p
}

var all = marketplace.SelectMatching(marketplace.StagedFilter{})

// validGTIN completes body with its check digit.
func validGTIN(body string) string { return body + string(gtin.CheckDigit(body)) }

// staged is a row written straight into staging, for what the feed reader
// would refuse (no price, a sale price above the price).
type staged struct {
	id, title           string
	price, sale         *int64
	gtin, availability  string
	brand, description  string
	imageLink           string
	additionalImageLink []string
}

func (s *shop) insertStaged(t *testing.T, rows ...staged) {
	t.Helper()
	for _, r := range rows {
		var g, cur *string
		if r.gtin != "" {
			g = &r.gtin
		}
		if r.price != nil {
			eur := "EUR"
			cur = &eur
		}
		links := r.additionalImageLink
		if links == nil {
			links = []string{}
		}
		hash := sha256.Sum256(fmt.Appendf(nil, "%+v", r))
		_, err := s.v.Pool.Exec(context.Background(), `INSERT INTO marketplace_products (external_id, title, description, price_minor,
				sale_price_minor, currency, gtin, availability, brand, image_link, additional_image_links, content_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			r.id, r.title, r.description, r.price, r.sale, cur, g, r.availability, r.brand, r.imageLink, links, hash[:])
		if err != nil {
			t.Fatalf("stage %s: %v", r.id, err)
		}
	}
}

func ptr(v int64) *int64 { return &v }

func (s *shop) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := s.v.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// product is a catalog product as the tests look at it.
type product struct {
	ID                   int64
	Title, Description   string
	Handle, GTIN, Brand  string
	Price                int64
	Sale                 *int64
	State                string
	OnHand, Reserved     int64
	ImageURLs            []string
	StagedLinked         bool
	StagedChangedSincePb bool
}

func getProduct(t *testing.T, pool *pgxpool.Pool, sku string) *product {
	t.Helper()
	var p product
	err := pool.QueryRow(context.Background(), `SELECT p.id, p.title, p.description, p.handle, coalesce(p.gtin, ''), p.brand,
			p.price_minor, p.sale_price_minor, p.state, p.stock_on_hand, p.stock_reserved,
			coalesce((SELECT array_agg(url ORDER BY position) FROM image_fetches WHERE product_id = p.id), '{}'),
			EXISTS (SELECT FROM marketplace_products m WHERE m.product_id = p.id),
			EXISTS (SELECT FROM marketplace_products m WHERE m.product_id = p.id AND m.content_hash <> m.published_hash)
		FROM products p WHERE p.sku = $1`, sku).Scan(&p.ID, &p.Title, &p.Description, &p.Handle, &p.GTIN, &p.Brand,
		&p.Price, &p.Sale, &p.State, &p.OnHand, &p.Reserved, &p.ImageURLs, &p.StagedLinked, &p.StagedChangedSincePb)
	if err != nil {
		t.Fatalf("product %s: %v", sku, err)
	}
	return &p
}

func TestPublishCreatesThenUpdates(t *testing.T) {
	t.Parallel()
	s := newShop(t, "publisher")
	ctx := context.Background()
	g1 := validGTIN("400638133393")
	feed := "id\ttitle\tdescription\tprice\tsale_price\tbrand\tgtin\tavailability\timage_link\tadditional_image_link\n" +
		"P-1\tBlue mug\tA blue mug\t9.90 EUR\t\tAcme\t" + g1 + "\tin stock\thttps://img.example/p1.jpg\thttps://img.example/p1-2.jpg,https://img.example/p1-3.jpg\n" +
		"P-2\tRed mug\tA red mug\t10.50 EUR\t8.00 EUR\tAcme\t\tout of stock\thttps://img.example/p2.jpg\t\n" +
		"P_3\tGreen mug\t\t12.00 EUR\t\tOther\t\tpreorder\t\t\n"
	s.stage(t, feed)
	// The handle P_3 would get belongs to another product.
	s.exec(t, `INSERT INTO products (sku, title, handle, price_minor) VALUES ('OTHER', 'Other', 'p-3', 100)`)

	first := s.publish(t, all, marketplace.PublishOptions{NewState: "active"})
	if first.ItemsTotal != 3 || first.ItemsDone != 3 || first.Created != 3 || first.Updated+first.Unchanged+first.Skipped != 0 {
		t.Fatalf("first publish: %+v", first)
	}
	if !strings.Contains(first.Description, "3 items") {
		t.Errorf("description: %q", first.Description)
	}
	p1 := getProduct(t, s.v.Pool, "P-1")
	if p1.Title != "Blue mug" || p1.Description != "A blue mug" || p1.Price != 990 || p1.Sale != nil || p1.GTIN != g1 ||
		p1.Brand != "Acme" || p1.State != "active" || p1.Handle != "p-1" || !p1.StagedLinked || p1.OnHand != 0 {
		t.Errorf("P-1: %+v", p1)
	}
	if want := []string{"https://img.example/p1.jpg", "https://img.example/p1-2.jpg", "https://img.example/p1-3.jpg"}; !slices.Equal(p1.ImageURLs, want) {
		t.Errorf("P-1 images: %v", p1.ImageURLs)
	}
	if p2 := getProduct(t, s.v.Pool, "P-2"); p2.Sale == nil || *p2.Sale != 800 || len(p2.ImageURLs) != 1 {
		t.Errorf("P-2: %+v", p2)
	}
	if p3 := getProduct(t, s.v.Pool, "P_3"); p3.Handle != "p-3-2" || len(p3.ImageURLs) != 0 {
		t.Errorf("P_3 handle next to a taken one: %+v", p3)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM inventory_movements`); n != 0 {
		t.Errorf("%d stock movements without stock from availability", n)
	}
	page, err := marketplace.ListStaged(ctx, s.v.Pool, marketplace.StagedFilter{Unpublished: true})
	if err != nil || page.Total != 0 {
		t.Fatalf("unpublished after publishing all: %+v %v", page, err)
	}

	// The feed changes: a price and a title. A re-import marks them.
	changed := strings.Replace(strings.Replace(feed, "9.90 EUR", "8.90 EUR", 1), "Red mug", "Crimson mug", 1)
	if imp := s.stage(t, changed); imp.RowsChanged != 2 {
		t.Fatalf("re-import: %+v", imp)
	}
	page, err = marketplace.ListStaged(ctx, s.v.Pool, marketplace.StagedFilter{Changed: true, Sort: "id"})
	if err != nil || page.Total != 2 || len(page.Rows) != 2 || !page.Rows[0].ChangedSincePublish || page.Rows[0].ExternalID != "P-1" ||
		page.Rows[0].ProductSKU != "P-1" {
		t.Fatalf("changed since publish: %+v %v", page, err)
	}
	pv, err := marketplace.PreviewPublish(ctx, s.v.Pool, all, marketplace.PublishOptions{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Selected != 3 || pv.Update != 2 || pv.Unchanged != 1 || pv.Create != 0 || pv.Skip != 0 || len(pv.Changes) != 2 {
		t.Fatalf("preview: %+v", pv)
	}
	c := pv.Changes[0]
	if c.ExternalID != "P-1" || c.MatchedBy != "published" || !slices.Equal(c.Fields, []string{"price"}) ||
		c.Before.PriceMinor != 990 || c.After.PriceMinor != 890 || c.Before.Title != "Blue mug" {
		t.Errorf("preview of P-1: %+v", c)
	}
	if c := pv.Changes[1]; !slices.Equal(c.Fields, []string{"title"}) || c.After.Title != "Crimson mug" {
		t.Errorf("preview of P-2: %+v", c)
	}
	// Only the changed ones, chosen by filter.
	sel := marketplace.SelectMatching(marketplace.StagedFilter{Changed: true})
	second := s.publish(t, sel, marketplace.PublishOptions{})
	if second.ItemsTotal != 2 || second.Updated != 2 || second.Created != 0 || !strings.Contains(second.Description, "changed since last published") {
		t.Fatalf("second publish: %+v", second)
	}
	if p1 := getProduct(t, s.v.Pool, "P-1"); p1.Price != 890 || p1.StagedChangedSincePb || p1.State != "active" {
		t.Errorf("P-1 after the second publish: %+v", p1)
	}
	if p2 := getProduct(t, s.v.Pool, "P-2"); p2.Title != "Crimson mug" {
		t.Errorf("P-2 after the second publish: %+v", p2)
	}
	// All again: nothing to do.
	third := s.publish(t, all, marketplace.PublishOptions{})
	if third.Unchanged != 3 || third.Updated+third.Created+third.Skipped != 0 {
		t.Errorf("third publish: %+v", third)
	}
	items, err := marketplace.PublishItems(ctx, s.v.Pool, second.ID, "", 1)
	if err != nil || len(items.Items) != 2 || items.HasNext {
		t.Fatalf("items of the second publish: %+v %v", items, err)
	}
	if it := items.Items[0]; it.Outcome != "updated" || it.Before == nil || it.Before.PriceMinor != 990 || it.ProductSKU != "P-1" {
		t.Errorf("item P-1: %+v", it)
	}
	hist, err := marketplace.ListPublishes(ctx, s.v.Pool, 0, 10)
	if err != nil || len(hist) != 3 || hist[0].ID != third.ID {
		t.Errorf("history: %v %v", hist, err)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM audit_log WHERE action IN ('publish.create', 'publish.finished')`); n != 6 {
		t.Errorf("%d audit entries, want 6", n)
	}
}

func TestPublishMatchesAndSkips(t *testing.T) {
	t.Parallel()
	s := newShop(t, "matcher")
	ctx := context.Background()
	g1, g2, g3, g4 := validGTIN("400000000001"), validGTIN("400000000002"), validGTIN("400000000003"), validGTIN("400000000004")
	s.exec(t, `INSERT INTO products (sku, title, handle, price_minor, gtin, description, brand) VALUES
		('SHOP-1', 'Shop mug', 'shop-1', 500, $1, 'Kept description', 'Kept brand'),
		('TWIN-A', 'Twin A', 'twin-a', 500, $2, '', ''), ('TWIN-B', 'Twin B', 'twin-b', 500, $2, '', ''),
		('SHOP-3', 'Has G3', 'shop-3', 500, $3, '', ''),
		('M-5', 'Has no GTIN', 'm-5', 500, NULL, '', '')`, g1, g2, g3)
	s.insertStaged(t,
		staged{id: "M-1", title: "Mug by GTIN", price: ptr(700), gtin: g1},            // matched by GTIN
		staged{id: "M-2", title: "Twin", price: ptr(700), gtin: g2},                   // GTIN on two products
		staged{id: "M-3", title: "  ", price: ptr(700)},                               // no title
		staged{id: "M-3b", title: "No price"},                                         // no price
		staged{id: "M-4", title: "Sale too high", price: ptr(700), sale: ptr(700)},    // created, sale left out
		staged{id: "bad id", title: "Space in id", price: ptr(700)},                   // cannot be a SKU
		staged{id: "M-5", title: "GTIN of another", price: ptr(700), gtin: g3},        // matched by SKU, GTIN taken
		staged{id: "M-6", title: "First with G4", price: ptr(700), gtin: g4},          // created
		staged{id: "M-7", title: "Second with G4", price: ptr(700), gtin: g4},         // same GTIN as M-6
		staged{id: "M-8", title: "Would take SHOP-1", price: ptr(700), gtin: g1 + ""}, // GTIN matches SHOP-1 too
	)
	pv, err := marketplace.PreviewPublish(ctx, s.v.Pool, all, marketplace.PublishOptions{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	p := s.publish(t, all, marketplace.PublishOptions{})
	if p.Created != 2 || p.Updated != 1 || p.Unchanged != 0 || p.Skipped != 7 {
		t.Fatalf("publish: %+v", p)
	}
	if pv.Create != p.Created || pv.Update != p.Updated || pv.Skip != p.Skipped || len(pv.SkipReasons) == 0 {
		t.Errorf("preview %+v, publish %+v", pv, p)
	}
	notes := map[string]string{}
	outcomes := map[string]string{}
	items, err := marketplace.PublishItems(ctx, s.v.Pool, p.ID, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items.Items {
		notes[it.ExternalID], outcomes[it.ExternalID] = it.Note, it.Outcome
	}
	want := map[string][2]string{
		"M-1":    {"updated", "Matched by GTIN to the product with SKU SHOP-1"},
		"M-2":    {"skipped", "is on 2 products"},
		"M-3":    {"skipped", "No title"},
		"M-3b":   {"skipped", "No price"},
		"M-4":    {"created", "sale price is not below the price"},
		"bad id": {"skipped", "cannot be a SKU"},
		"M-5":    {"skipped", "already used by the product with SKU SHOP-3"},
		"M-6":    {"created", ""},
		"M-7":    {"skipped", "Item M-6, also selected, has the same GTIN"},
		"M-8":    {"skipped", ""},
	}
	for id, w := range want {
		if outcomes[id] != w[0] || !strings.Contains(notes[id], w[1]) {
			t.Errorf("%s: %s %q, want %s %q", id, outcomes[id], notes[id], w[0], w[1])
		}
	}
	// M-1 and M-8 both matched SHOP-1 by GTIN: the first one has it.
	if !strings.Contains(notes["M-8"], "Item M-1, also selected") {
		t.Errorf("M-8: %q", notes["M-8"])
	}
	shop1 := getProduct(t, s.v.Pool, "SHOP-1")
	if shop1.Title != "Mug by GTIN" || shop1.Price != 700 || shop1.Description != "Kept description" || shop1.Brand != "Kept brand" || !shop1.StagedLinked {
		t.Errorf("SHOP-1 after the match: %+v", shop1)
	}
	if m4 := getProduct(t, s.v.Pool, "M-4"); m4.Sale != nil || m4.State != "draft" {
		t.Errorf("M-4: %+v", m4)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM products WHERE sku IN ('bad id', 'M-7', 'M-8', 'M-2')`); n != 0 {
		t.Errorf("%d skipped items made products", n)
	}
	// Now M-8 alone: SHOP-1 is published from M-1.
	var m8 int64
	if err := s.v.Pool.QueryRow(ctx, `SELECT id FROM marketplace_products WHERE external_id = 'M-8'`).Scan(&m8); err != nil {
		t.Fatal(err)
	}
	again := s.publish(t, marketplace.SelectIDs(m8), marketplace.PublishOptions{})
	items, _ = marketplace.PublishItems(ctx, s.v.Pool, again.ID, "skipped", 1)
	if again.Skipped != 1 || len(items.Items) != 1 || !strings.Contains(items.Items[0].Note, "published from item M-1") {
		t.Errorf("M-8 alone: %+v %+v", again, items)
	}
}

func TestPublishStockFromAvailability(t *testing.T) {
	t.Parallel()
	s := newShop(t, "stocker")
	ctx := context.Background()
	s.exec(t, `INSERT INTO products (sku, title, handle, price_minor, stock_on_hand, stock_reserved) VALUES
		('S-1', 'In stock, some reserved', 's-1', 100, 10, 3),
		('S-2', 'Out of stock', 's-2', 100, 4, 1),
		('S-3', 'Preorder', 's-3', 100, 7, 0),
		('S-6', 'Reserved above the quantity', 's-6', 100, 9, 8)`)
	s.insertStaged(t,
		staged{id: "S-1", title: "In stock, some reserved", price: ptr(100), availability: "in_stock"},
		staged{id: "S-2", title: "Out of stock", price: ptr(100), availability: "out_of_stock"},
		staged{id: "S-3", title: "Preorder", price: ptr(100), availability: "preorder"},
		staged{id: "S-4", title: "New in stock", price: ptr(100), availability: "in_stock"},
		staged{id: "S-5", title: "New out of stock", price: ptr(100), availability: "out_of_stock"},
		staged{id: "S-6", title: "Reserved above the quantity", price: ptr(100), availability: "in_stock"},
	)
	opts := marketplace.PublishOptions{StockFromAvailability: true, StockQuantity: 5}
	pv, err := marketplace.PreviewPublish(ctx, s.v.Pool, all, opts, 10)
	if err != nil || pv.Update != 3 || pv.Unchanged != 1 || pv.Create != 2 {
		t.Fatalf("preview: %+v %v", pv, err)
	}
	if c := pv.Changes[0]; c.ExternalID != "S-1" || !slices.Equal(c.Fields, []string{"stock"}) || c.Before.StockOnHand != 10 || c.After.StockOnHand != 5 {
		t.Errorf("preview of S-1: %+v", c)
	}
	p := s.publish(t, all, opts)
	if p.Updated != 3 || p.Unchanged != 1 || p.Created != 2 {
		t.Fatalf("publish: %+v", p)
	}
	for sku, w := range map[string][2]int64{"S-1": {5, 3}, "S-2": {1, 1}, "S-3": {7, 0}, "S-4": {5, 0}, "S-5": {0, 0}, "S-6": {8, 8}} {
		if got := getProduct(t, s.v.Pool, sku); got.OnHand != w[0] || got.Reserved != w[1] {
			t.Errorf("%s: on hand %d reserved %d, want %v", sku, got.OnHand, got.Reserved, w)
		}
	}
	rows, err := s.v.Pool.Query(ctx, `SELECT p.sku, m.kind, m.quantity, m.on_hand_after, m.reserved_after, m.reason, m.reference
		FROM inventory_movements m JOIN products p ON p.id = m.product_id ORDER BY p.sku`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var sku, kind, reason, ref string
		var q, on, res int64
		if err := rows.Scan(&sku, &kind, &q, &on, &res, &reason, &ref); err != nil {
			t.Fatal(err)
		}
		if kind != "adjustment" || reason != fmt.Sprintf("marketplace publish #%d", p.ID) || ref != fmt.Sprintf("publish:%d", p.ID) {
			t.Errorf("movement of %s: %s %q %q", sku, kind, reason, ref)
		}
		got = append(got, fmt.Sprintf("%s %+d -> %d/%d", sku, q, on, res))
	}
	rows.Close()
	if want := []string{"S-1 -5 -> 5/3", "S-2 -3 -> 1/1", "S-4 +5 -> 5/0", "S-6 -1 -> 8/8"}; !slices.Equal(got, want) {
		t.Errorf("movements %q, want %q", got, want)
	}
	// The same publish again moves nothing.
	if again := s.publish(t, all, opts); again.Unchanged != 6 {
		t.Errorf("again: %+v", again)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM inventory_movements`); n != 4 {
		t.Errorf("%d movements after publishing the same again", n)
	}
}

func TestPublishResumesAfterCrash(t *testing.T) {
	t.Parallel()
	s := newShop(t, "crasher")
	s.r = marketplace.NewRunner(marketplace.Config{AllowPrivateURLs: true, PublishChunk: 2})
	var rows []staged
	for i := 1; i <= 5; i++ {
		rows = append(rows, staged{id: fmt.Sprintf("C-%d", i), title: fmt.Sprintf("Crash %d", i), price: ptr(int64(100 * i)),
			availability: "in_stock", imageLink: fmt.Sprintf("https://img.example/c%d.jpg", i)})
	}
	s.insertStaged(t, rows...)
	p, err := marketplace.CreatePublish(context.Background(), s.v.Pool, all,
		marketplace.PublishOptions{StockFromAvailability: true, StockQuantity: 3}, staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// The worker stops right after the first chunk is committed.
	ctx, cancel := context.WithCancel(context.Background())
	marketplace.SetAfterChunk(s.r, func(int64) { cancel() })
	if _, err := s.r.Drain(ctx, marketplace.WorkPublishes, s.v); !errors.Is(err, context.Canceled) {
		t.Fatalf("drain that stops: %v", err)
	}
	mid, _ := marketplace.GetPublish(context.Background(), s.v.Pool, p.ID)
	if mid.State != marketplace.StateRunning || mid.ItemsDone != 2 || mid.Created != 2 {
		t.Fatalf("after the first chunk: %+v", mid)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM products`); n != 2 {
		t.Fatalf("%d products after the first chunk", n)
	}
	// The next worker goes on from the third item.
	marketplace.SetAfterChunk(s.r, nil)
	next, err := s.r.Drain(context.Background(), marketplace.WorkPublishes, s.v)
	if err != nil || !next.IsZero() {
		t.Fatalf("drain again: %v %v", next, err)
	}
	end, _ := marketplace.GetPublish(context.Background(), s.v.Pool, p.ID)
	if end.State != marketplace.StateFinished || end.ItemsDone != 5 || end.Created != 5 || end.Attempts != 2 {
		t.Fatalf("after the restart: %+v", end)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM products`:                                  5,
		`SELECT count(*) FROM products WHERE stock_on_hand = 3`:          5,
		`SELECT count(*) FROM inventory_movements`:                       5,
		`SELECT count(*) FROM image_fetches`:                             5,
		`SELECT count(*) FROM marketplace_products WHERE product_id > 0`: 5,
		`SELECT count(*) FROM publish_items WHERE outcome = 'created'`:   5,
	} {
		if n := count(t, s.v.Pool, q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
}

func TestCreatePublishRefuses(t *testing.T) {
	t.Parallel()
	s := newShop(t, "refuser")
	ctx := context.Background()
	many := make([]int64, marketplace.MaxSelectedIDs+1)
	for i := range many {
		many[i] = int64(i + 1)
	}
	for name, c := range map[string]struct {
		sel   marketplace.Selection
		opts  marketplace.PublishOptions
		field string
	}{
		"nothing":        {marketplace.Selection{}, marketplace.PublishOptions{}, "selection"},
		"too many":       {marketplace.SelectIDs(many...), marketplace.PublishOptions{}, "selection"},
		"missing ids":    {marketplace.SelectIDs(12345), marketplace.PublishOptions{}, "selection"},
		"bad state":      {all, marketplace.PublishOptions{NewState: "archived"}, "new_state"},
		"bad quantity":   {all, marketplace.PublishOptions{StockFromAvailability: true, StockQuantity: -1}, "stock_quantity"},
		"bad filter":     {marketplace.SelectMatching(marketplace.StagedFilter{Availability: "sometimes"}), marketplace.PublishOptions{}, "availability"},
		"empty staging":  {all, marketplace.PublishOptions{}, "selection"},
		"ids and filter": {marketplace.Selection{IDs: []int64{1}, Filter: &marketplace.StagedFilter{}}, marketplace.PublishOptions{}, "selection"},
	} {
		_, err := marketplace.CreatePublish(ctx, s.v.Pool, c.sel, c.opts, staff.Entry{Actor: "test"})
		var fe marketplace.FieldErrors
		if !errors.As(err, &fe) || fe[c.field] == "" {
			t.Errorf("%s: %v, want a field error on %s", name, err, c.field)
		}
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM publishes`); n != 0 {
		t.Errorf("%d publishes recorded from refused requests", n)
	}
}

// jsonRows reads a query's rows as JSON text, to compare tables before and
// after.
func jsonRows(t *testing.T, pool *pgxpool.Pool, sql string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v json.RawMessage
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(v))
	}
	return out
}

// An import writing some of the items at the moment holds their rows: the
// publish writes the others and takes those up once they are free.
func TestPublishWaitsForItemsAnImportHolds(t *testing.T) {
	t.Parallel()
	s := newShop(t, "waiter")
	s.r = marketplace.NewRunner(marketplace.Config{AllowPrivateURLs: true, PublishChunk: 2})
	s.insertStaged(t, staged{id: "W-1", title: "One", price: ptr(100)}, staged{id: "W-2", title: "Two", price: ptr(200)},
		staged{id: "W-3", title: "Three", price: ptr(300)})
	ctx := context.Background()
	p, err := marketplace.CreatePublish(ctx, s.v.Pool, all, marketplace.PublishOptions{}, staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := s.v.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT FROM marketplace_products WHERE external_id = 'W-2' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.r.Drain(ctx, marketplace.WorkPublishes, s.v)
		done <- err
	}()
	// The others are written meanwhile.
	deadline := time.Now().Add(10 * time.Second)
	for count(t, s.v.Pool, `SELECT count(*) FROM products`) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the free items were not published while one was held")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM products WHERE sku = 'W-2'`); n != 0 {
		t.Fatal("a held item was published")
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := marketplace.GetPublish(ctx, s.v.Pool, p.ID); got.State != marketplace.StateFinished || got.Created != 3 {
		t.Errorf("publish: %+v", got)
	}
}
