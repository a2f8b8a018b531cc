package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
)

// stagingFeed is a small feed of four items; price1 is MP-1's price, so a
// second import can change it.
func stagingFeed(price1 string) []byte {
	return []byte("id\ttitle\tdescription\tavailability\tprice\tsale_price\tbrand\tgtin\n" +
		"MP-1\tRiesling 2021\tA dry white wine.\tin stock\t" + price1 + "\t\tAcme\t5908301661317\n" +
		"MP-2\tCrémant brut\tSparkling.\tout of stock\t19.50 EUR\t17.00 EUR\tAcme\t\n" +
		"MP-3\tMustard\tSharp.\tpreorder\t4.20 EUR\t\tOberweis\t\n" +
		"MP-4\tBoard game\tFor four players.\tin stock\t29.00 EUR\t\tNordlys\t9603082462813\n")
}

// importFeed uploads a feed through the imports page and waits for the
// import to finish.
func importFeed(t *testing.T, b *browser, feed []byte) marketplace.Import {
	t.Helper()
	code, body, h := postFile(b, "/admin/imports", "file", "feed.tsv", feed, url.Values{"language": {""}})
	if code != 303 {
		t.Fatalf("upload: %d %s", code, body)
	}
	imp := waitImport(t, b, h.Get("Location"))
	if imp.State != marketplace.StateFinished {
		t.Fatalf("import: %+v", imp)
	}
	return imp
}

// waitPublish polls a publish's progress until it ends.
func waitPublish(t *testing.T, b *browser, path string) marketplace.Publish {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _ := b.do("GET", path+"/progress", nil)
		var p marketplace.Publish
		if code != 200 || json.Unmarshal([]byte(body), &p) != nil {
			t.Fatalf("progress: %d %s", code, body)
		}
		if !p.Open() {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the publish is still %s after 30 s: %+v", p.State, p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var publishAction = regexp.MustCompile(`<form method="post" action="[^"]*/admin/publishes"`)

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// publishButtonForm is what the preview's "Publish" form would post.
func publishButtonForm(t *testing.T, page string) url.Values {
	t.Helper()
	loc := publishAction.FindStringIndex(page)
	if loc == nil {
		t.Fatalf("the preview has no publish form: %s", page)
	}
	form := page[loc[0]:]
	form = form[:strings.Index(form, "</form>")]
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(form, -1) {
		if m[1] != "csrf_token" {
			v.Add(m[1], html.UnescapeString(m[2]))
		}
	}
	return v
}

// stagedIDs maps the staged items' feed ids to their ids.
func stagedIDs(t *testing.T, s *shopEnv, v *platform.Vendor) map[string]int64 {
	t.Helper()
	rows, err := s.e.VendorPool(t, v).Query(context.Background(), `SELECT external_id, id FROM marketplace_products`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var ext string
		var id int64
		if err := rows.Scan(&ext, &id); err != nil {
			t.Fatal(err)
		}
		out[ext] = id
	}
	return out
}

type catalogRow struct {
	Title       string
	Price       int64
	State       string
	OnHand      int64
	Exists      bool
	Description string
}

func catalogProduct(t *testing.T, s *shopEnv, v *platform.Vendor, sku string) catalogRow {
	t.Helper()
	var r catalogRow
	err := s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT title, price_minor, state, stock_on_hand, description
		FROM products WHERE sku = $1`, sku).Scan(&r.Title, &r.Price, &r.State, &r.OnHand, &r.Description)
	if err == nil {
		r.Exists = true
	}
	return r
}

// listed reports which of the feed ids the staging page lists.
func listed(body string, ids ...string) map[string]bool {
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = strings.Contains(body, `<td class="mono">`+id+`</td>`)
	}
	return out
}

func TestStagingAndPublishThroughTheBackOffice(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	startJobs(t, s)
	v, owner := signedInOwner(t, s, "pubs", "Pubs & Co")
	all := []string{"MP-1", "MP-2", "MP-3", "MP-4"}

	// An empty staging area says what to do.
	if code, body, _ := owner.do("GET", "/admin/staging", nil); code != 200 || !strings.Contains(body, "Import a feed") {
		t.Fatalf("empty staging: %d", code)
	}
	// A product that is in the catalog already: the feed's MP-3 matches it
	// by SKU.
	newProduct(t, owner, productForm("MP-3", "Old mustard", "3.00"))
	// One that has MP-4's GTIN under another SKU: matched by GTIN.
	gtinForm := productForm("GAME-OLD", "Old board game", "25.00")
	gtinForm.Set("gtin", "9603082462813")
	newProduct(t, owner, gtinForm)

	importFeed(t, owner, stagingFeed("12.90 EUR"))
	ids := stagedIDs(t, s, v)

	// The list and its filters.
	code, body, _ := owner.do("GET", "/admin/staging", nil)
	if code != 200 || !strings.Contains(body, "<strong>4</strong> items that match") {
		t.Fatalf("staging: %d %s", code, body)
	}
	for id, ok := range listed(body, all...) {
		if !ok {
			t.Errorf("staging does not list %s", id)
		}
	}
	if !strings.Contains(body, catalog.Display(1700, "EUR")) || !strings.Contains(body, "out of stock") {
		t.Error("staging lacks the sale price or the availability")
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"brand=acme", []string{"MP-1", "MP-2"}},
		{"availability=in_stock", []string{"MP-1", "MP-4"}},
		{"min_price=10&max_price=20", []string{"MP-1", "MP-2"}},
		{"min_price=4,20&max_price=4,20", []string{"MP-3"}},
		{"gtin=5908301661317", []string{"MP-1"}},
		{"q=mustard", []string{"MP-3"}},
		{"unpublished=1&sort=-price", all},
		{"changed=1", nil},
	} {
		code, body, _ := owner.do("GET", "/admin/staging?"+tc.query, nil)
		if code != 200 {
			t.Errorf("%s: %d", tc.query, code)
			continue
		}
		got := listed(body, all...)
		for _, id := range all {
			want := false
			for _, w := range tc.want {
				want = want || w == id
			}
			if got[id] != want {
				t.Errorf("%s: %s listed %v, want %v", tc.query, id, got[id], want)
			}
		}
	}
	// Filter errors: next to their fields, no list.
	for field, query := range map[string]string{"min_price": "min_price=abc", "max_price": "min_price=20&max_price=10",
		"gtin": "gtin=12", "availability": "availability=soon", "unpublished": "changed=1&unpublished=1"} {
		code, body, _ := owner.do("GET", "/admin/staging?"+query, nil)
		if code != 422 || shownError(body, field) == "" || strings.Contains(body, `<td class="mono">MP-1</td>`) {
			t.Errorf("%s: %d, error %q", query, code, shownError(body, field))
		}
	}
	// One staged item in full.
	code, body, _ = owner.do("GET", fmt.Sprintf("/admin/staging/%d", ids["MP-1"]), nil)
	if code != 200 || !strings.Contains(body, "A dry white wine.") || !strings.Contains(body, "import #") || !strings.Contains(body, "Not published") {
		t.Errorf("staged item: %d", code)
	}

	// Bad input: no selection, a bad quantity, a filter error; the page
	// again with the errors next to their fields, nothing written.
	products := vendorCount(t, s, v, `SELECT count(*) FROM products`)
	for _, path := range []string{"/admin/staging/preview", "/admin/publishes"} {
		for _, tc := range []struct {
			form  url.Values
			field string
		}{
			{url.Values{"new_state": {"draft"}}, "all"},
			{url.Values{"all": {"1"}, "stock_from_availability": {"1"}, "stock_quantity": {"lots"}}, "stock_quantity"},
			{url.Values{"all": {"1"}, "stock_from_availability": {"1"}, "stock_quantity": {"-4"}}, "stock_quantity"},
			{url.Values{"ids": {strconv.FormatInt(ids["MP-1"], 10)}, "new_state": {"gone"}}, "new_state"},
			{url.Values{"all": {"1"}, "min_price": {"abc"}}, "min_price"},
		} {
			owner.do("GET", "/admin/staging", nil)
			code, body, _ := owner.do("POST", path, tc.form)
			if code != 422 || shownError(body, tc.field) == "" || !strings.Contains(body, "Nothing was published") && tc.field != "min_price" {
				t.Errorf("%s %v: %d, error next to %s: %q", path, tc.form, code, tc.field, shownError(body, tc.field))
			}
		}
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM publishes`); n != 0 {
		t.Fatalf("bad forms made %d publishes", n)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products`); n != products {
		t.Fatalf("bad forms changed the catalog: %d products, was %d", n, products)
	}

	// Preview all four: MP-3 updates the product with its SKU, MP-4 the
	// one with its GTIN, two are new.
	owner.do("GET", "/admin/staging", nil)
	code, body, _ = owner.do("POST", "/admin/staging/preview", url.Values{"all": {"1"}, "stock_from_availability": {"1"},
		"stock_quantity": {"5"}, "new_state": {"active"}})
	if code != 200 || !strings.Contains(body, "Publish 4 items") {
		t.Fatalf("preview: %d %s", code, body)
	}
	for _, want := range []string{"<b>2</b>new products", "<b>2</b>products updated", "Old mustard", catalog.Display(300, "EUR"),
		catalog.Display(420, "EUR"), "matched by SKU", "matched by GTIN", "GAME-OLD", "Stock on hand"} {
		if !strings.Contains(body, want) {
			t.Errorf("the preview lacks %q", want)
		}
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products WHERE sku LIKE 'MP-%'`); n != 1 {
		t.Fatalf("the preview wrote products: %d", n)
	}
	form := publishButtonForm(t, body)
	if form.Get("all") != "1" || form.Get("stock_quantity") != "5" || form.Get("new_state") != "active" {
		t.Fatalf("the publish button posts %v", form)
	}
	code, _, h := owner.do("POST", "/admin/publishes", form)
	if code != 303 {
		t.Fatalf("publish: %d", code)
	}
	first := h.Get("Location")
	p1 := waitPublish(t, owner, first)
	if p1.State != marketplace.StateFinished || p1.Created != 2 || p1.Updated != 2 || p1.Skipped != 0 {
		t.Fatalf("publish 1: %+v", p1)
	}
	if p := catalogProduct(t, s, v, "MP-1"); p.Title != "Riesling 2021" || p.Price != 1290 || p.State != "active" || p.OnHand != 5 {
		t.Errorf("MP-1 in the catalog: %+v", p)
	}
	if p := catalogProduct(t, s, v, "MP-2"); !p.Exists || p.OnHand != 0 {
		t.Errorf("MP-2 in the catalog: %+v", p)
	}
	if p := catalogProduct(t, s, v, "MP-3"); p.Title != "Mustard" || p.Price != 420 || p.OnHand != 0 {
		t.Errorf("MP-3 in the catalog: %+v", p)
	}
	if p := catalogProduct(t, s, v, "GAME-OLD"); p.Title != "Board game" || p.Price != 2900 || p.OnHand != 5 {
		t.Errorf("the product MP-4 matched by GTIN: %+v", p)
	}
	code, body, _ = owner.do("GET", first, nil)
	if code != 200 || !strings.Contains(body, "Undo this publish") || !strings.Contains(body, "Created (2)") {
		t.Errorf("publish page: %d", code)
	}
	if _, body, _ = owner.do("GET", first+"?outcome=updated", nil); !strings.Contains(body, "GAME-OLD") || strings.Contains(body, ">MP-1<") {
		t.Error("the publish page's updated items")
	}
	if _, body, _ = owner.do("GET", "/admin/publishes", nil); !strings.Contains(body, fmt.Sprintf("#%d", p1.ID)) || !strings.Contains(body, "finished") {
		t.Error("the publishes page does not list the publish")
	}
	if _, body, _ = owner.do("GET", "/admin/staging?unpublished=1", nil); strings.Contains(body, `<td class="mono">MP-1</td>`) {
		t.Error("a published item is listed as not published")
	}

	// A re-import that changes MP-1's price: "changed since last
	// published" finds it, the preview shows the price before and after.
	if imp := importFeed(t, owner, stagingFeed("11.50 EUR")); imp.RowsChanged != 1 {
		t.Fatalf("re-import: %+v", imp)
	}
	_, body, _ = owner.do("GET", "/admin/staging?changed=1", nil)
	if got := listed(body, all...); !got["MP-1"] || got["MP-2"] || got["MP-3"] || got["MP-4"] || !strings.Contains(body, ">changed</span>") {
		t.Fatalf("changed since last published: %v", got)
	}
	code, body, _ = owner.do("POST", "/admin/staging/preview", url.Values{"ids": {strconv.FormatInt(ids["MP-1"], 10)}, "new_state": {"draft"}})
	if code != 200 || !strings.Contains(body, "<s>"+catalog.Display(1290, "EUR")+"</s> → <strong>"+catalog.Display(1150, "EUR")+"</strong>") ||
		!strings.Contains(body, "Publish 1 item<") {
		t.Fatalf("preview of the change: %d %s", code, body)
	}
	code, _, h = owner.do("POST", "/admin/publishes", publishButtonForm(t, body))
	if code != 303 {
		t.Fatalf("publish 2: %d", code)
	}
	second := h.Get("Location")
	if p2 := waitPublish(t, owner, second); p2.State != marketplace.StateFinished || p2.Updated != 1 {
		t.Fatalf("publish 2: %+v", p2)
	}
	if p := catalogProduct(t, s, v, "MP-1"); p.Price != 1150 || p.OnHand != 5 {
		t.Errorf("MP-1 after publish 2: %+v", p)
	}

	// Undo the first while the second is not undone: refused, naming it.
	code, body, _ = owner.do("POST", first+"/undo", url.Values{})
	secondID := second[strings.LastIndex(second, "/")+1:]
	if code != 409 || !strings.Contains(body, "publish #"+secondID) || !strings.Contains(body, "Undo the later ones first") {
		t.Fatalf("undo of the first: %d %s", code, body)
	}
	if p := catalogProduct(t, s, v, "MP-1"); p.Price != 1150 {
		t.Fatalf("a refused undo changed MP-1: %+v", p)
	}
	// Undo the second: MP-1 gets its price back.
	code, _, _ = owner.do("POST", second+"/undo", url.Values{})
	if code != 303 {
		t.Fatalf("undo of the second: %d", code)
	}
	_, body, _ = owner.do("GET", second, nil)
	if !strings.Contains(body, "What the undo did") || !strings.Contains(body, "<b>1</b>products restored") || !strings.Contains(body, "undone") {
		t.Errorf("the undo summary: %s", body)
	}
	if p := catalogProduct(t, s, v, "MP-1"); p.Price != 1290 {
		t.Errorf("MP-1 after undoing publish 2: %+v", p)
	}
	// Now the first: the products it made go, the ones it changed come back.
	if code, body, _ = owner.do("POST", first+"/undo", url.Values{}); code != 303 {
		t.Fatalf("undo of the first after the second: %d %s", code, body)
	}
	_, body, _ = owner.do("GET", first, nil)
	if !strings.Contains(body, "<b>2</b>new products deleted") || !strings.Contains(body, "<b>2</b>products restored") {
		t.Errorf("the undo summary of the first: %s", body)
	}
	for sku, want := range map[string]catalogRow{"MP-1": {}, "MP-2": {}, "MP-3": {Exists: true, Title: "Old mustard", Price: 300, State: "active"},
		"GAME-OLD": {Exists: true, Title: "Old board game", Price: 2500, State: "active"}} {
		got := catalogProduct(t, s, v, sku)
		got.Description = ""
		if got != want {
			t.Errorf("%s after both undos: %+v, want %+v", sku, got, want)
		}
	}
	_, body, _ = owner.do("GET", "/admin/staging?unpublished=1", nil)
	for id, ok := range listed(body, all...) {
		if !ok {
			t.Errorf("after the undos %s is not back to unpublished", id)
		}
	}
	// Undone already: a clear 409, not a 500.
	if code, body, _ = owner.do("POST", first+"/undo", url.Values{}); code != 409 || !strings.Contains(body, "undone already") {
		t.Errorf("undo twice: %d", code)
	}
	if code, _, _ = owner.do("POST", "/admin/publishes/999999/undo", url.Values{}); code != 404 {
		t.Errorf("undo of no publish: %d", code)
	}

	// An order clerk may look but is offered neither publish nor undo.
	clerk, _ := catalogMember(t, s, v, "Order clerk")
	for _, p := range []string{"/admin/staging", first, "/admin/publishes", fmt.Sprintf("/admin/staging/%d", ids["MP-2"])} {
		if code, body, _ := clerk.do("GET", p, nil); code != 200 || strings.Contains(body, "Preview</button>") ||
			strings.Contains(body, "Undo this publish") || strings.Contains(body, "Publish…") {
			t.Errorf("order clerk GET %s: %d, or offered what they may not do", p, code)
		}
	}
	if code, _, _ := clerk.do("POST", "/admin/publishes", url.Values{"all": {"1"}}); code != 403 {
		t.Errorf("order clerk publishes: %d", code)
	}
}

// A publish left queued with no worker is asked for again when its page is
// looked at.
func TestPublishStalledAsksForWorkAgain(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := signedInOwner(t, s, "stall", "Stall")
	pool := s.e.VendorPool(t, v)
	ctx := context.Background()
	var id int64
	if err := pool.QueryRow(ctx, `INSERT INTO publishes (description, items_total, created_at)
		VALUES ('1 item chosen one by one', 1, now() - interval '5 minutes') RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.e.CP.Exec(ctx, `DELETE FROM vendor_work WHERE vendor_id = $1`, v.ID); err != nil {
		t.Fatal(err)
	}
	code, body, _ := owner.do("GET", fmt.Sprintf("/admin/publishes/%d", id), nil)
	if code != 200 || !strings.Contains(body, `http-equiv="refresh"`) || !strings.Contains(body, "/progress") {
		t.Fatalf("a queued publish's page: %d", code)
	}
	var n int
	if err := s.e.CP.QueryRow(ctx, `SELECT count(*) FROM vendor_work WHERE vendor_id = $1 AND kind = 'publishes'`, v.ID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("no work asked for the stalled publish")
	}
}

// Two shops whose staged items and publishes have the same ids: each sees
// and publishes only its own.
func TestStagingAndPublishesStayInTheirShop(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	startJobs(t, s)
	a, aOwner := signedInOwner(t, s, "alpha", "Alpha")
	b, bOwner := signedInOwner(t, s, "beta", "Beta")
	importFeed(t, aOwner, stagingFeed("12.90 EUR"))
	importFeed(t, bOwner, []byte("id\ttitle\tprice\nB-1\tBeta's own\t1.00 EUR\n"))
	aIDs, bIDs := stagedIDs(t, s, a), stagedIDs(t, s, b)
	if aIDs["MP-1"] != bIDs["B-1"] {
		t.Fatalf("the shops' first items have different ids (%d, %d): the test needs them to collide", aIDs["MP-1"], bIDs["B-1"])
	}
	// The same id names each shop's own item.
	_, body, _ := bOwner.do("GET", fmt.Sprintf("/admin/staging/%d", bIDs["B-1"]), nil)
	if !strings.Contains(body, "Beta&#39;s own") || strings.Contains(body, "Riesling") {
		t.Error("beta's item page shows something else")
	}
	if code, _, _ := bOwner.do("GET", fmt.Sprintf("/admin/staging/%d", aIDs["MP-4"]), nil); code != 404 {
		t.Errorf("beta asks for an id only alpha has: %d", code)
	}
	// Beta publishing alpha's ids: none is in beta's staging.
	bOwner.do("GET", "/admin/staging", nil)
	code, body, _ := bOwner.do("POST", "/admin/publishes", url.Values{"ids": {strconv.FormatInt(aIDs["MP-3"], 10), strconv.FormatInt(aIDs["MP-4"], 10)}})
	if code != 422 || !strings.Contains(shownError(body, "all"), "staging area") {
		t.Errorf("beta publishes alpha's ids: %d %q", code, shownError(body, "all"))
	}
	if n := vendorCount(t, s, b, `SELECT count(*) FROM publishes`); n != 0 {
		t.Errorf("beta has %d publishes", n)
	}
	// Alpha publishes twice, beta once: an id of alpha's that beta does
	// not have is a 404 on beta's host, one that beta has too names beta's.
	var alphaPaths []string
	for range 2 {
		aOwner.do("GET", "/admin/staging", nil)
		code, _, h := aOwner.do("POST", "/admin/publishes", url.Values{"all": {"1"}, "new_state": {"draft"}})
		if code != 303 {
			t.Fatalf("alpha publishes: %d", code)
		}
		alphaPaths = append(alphaPaths, h.Get("Location"))
		waitPublish(t, aOwner, h.Get("Location"))
	}
	bOwner.do("GET", "/admin/staging", nil)
	code, _, h := bOwner.do("POST", "/admin/publishes", url.Values{"all": {"1"}})
	if code != 303 {
		t.Fatalf("beta publishes its own: %d", code)
	}
	betaPath := h.Get("Location")
	waitPublish(t, bOwner, betaPath)
	missing := 0
	for _, p := range alphaPaths {
		if p == betaPath {
			if _, body, _ := bOwner.do("GET", p, nil); !strings.Contains(body, "B-1") || strings.Contains(body, "MP-1") {
				t.Errorf("beta's %s shows something else", p)
			}
			continue
		}
		missing++
		for _, q := range []string{p, p + "/progress"} {
			if code, _, _ := bOwner.do("GET", q, nil); code != 404 {
				t.Errorf("beta GET %s: %d", q, code)
			}
		}
		if code, _, _ := bOwner.do("POST", p+"/undo", url.Values{}); code != 404 {
			t.Errorf("beta undoes alpha's %s: %d", p, code)
		}
	}
	if missing == 0 {
		t.Fatal("every publish id of alpha's is beta's too")
	}
	if n := vendorCount(t, s, a, `SELECT count(*) FROM publishes WHERE state = 'finished'`); n != 2 {
		t.Errorf("alpha's publishes: %d finished", n)
	}
	if n := vendorCount(t, s, b, `SELECT count(*) FROM products WHERE sku LIKE 'MP-%'`); n != 0 {
		t.Errorf("alpha's items reached beta's catalog: %d", n)
	}
}
