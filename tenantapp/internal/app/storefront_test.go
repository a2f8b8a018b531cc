package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/platform"
)

// shopProduct is a product a storefront test puts straight into a shop.
type shopProduct struct {
	sku, title, handle, brand, state, desc string
	price                                  int64
	sale                                   *int64
	onHand, reserved                       int
	featured                               bool
	ageMinutes                             int // created that long ago
}

// addShopProducts inserts products into a shop and returns their ids by SKU.
func addShopProducts(t *testing.T, pool *pgxpool.Pool, ps ...shopProduct) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	for _, p := range ps {
		state := p.state
		if state == "" {
			state = "active"
		}
		var handle *string
		if p.handle != "" {
			handle = &p.handle
		}
		var id int64
		err := pool.QueryRow(context.Background(), `INSERT INTO products (sku, title, description, handle, brand, price_minor,
				sale_price_minor, state, stock_on_hand, stock_reserved, featured, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() - $12 * interval '1 minute') RETURNING id`,
			p.sku, p.title, p.desc, handle, p.brand, p.price, p.sale, state, p.onHand, p.reserved, p.featured, p.ageMinutes).Scan(&id)
		if err != nil {
			t.Fatalf("add product %s: %v", p.sku, err)
		}
		ids[p.sku] = id
	}
	return ids
}

func i64(v int64) *int64 { return &v }

// getNoRedirect fetches a path on a host without following redirects.
func (s *shopEnv) getNoRedirect(t *testing.T, host, path string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// getJSON fetches a path and decodes its JSON body.
func (s *shopEnv) getJSON(t *testing.T, host, path string) (int, map[string]any) {
	t.Helper()
	code, body := s.get(t, host, path, "Accept", "application/json")
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%s: not JSON (%d): %s", path, code, body)
	}
	return code, out
}

var cardTitle = regexp.MustCompile(`<h3>([^<]*)</h3>`)

// cardTitles are the titles of the product cards of a page, in order.
func cardTitles(body string) []string {
	var out []string
	for _, m := range cardTitle.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// catalogFixture is a shop with 30 active widgets (prices 1.00 to 30.00,
// every third on sale, brands Acme and Bolt, every fifth out of stock,
// the first ten in the category Tools), a draft and an archived product.
func catalogFixture(t *testing.T, s *shopEnv, slug string) (*platform.Vendor, *pgxpool.Pool, int64) {
	t.Helper()
	v := s.e.CreateVendor(t, slug, "Catalog Shop")
	pool := s.e.VendorPool(t, v)
	var ps []shopProduct
	for i := 1; i <= 30; i++ {
		p := shopProduct{sku: fmt.Sprintf("W-%02d", i), title: fmt.Sprintf("Widget %02d", i), handle: fmt.Sprintf("widget-%02d", i),
			brand: []string{"Acme", "Bolt"}[i%2], price: int64(i) * 100, onHand: 10, ageMinutes: i}
		if i%3 == 0 {
			p.sale = i64(int64(i)*100 - 50)
		}
		if i%5 == 0 {
			p.onHand, p.reserved = 4, 4
		}
		ps = append(ps, p)
	}
	ps = append(ps, shopProduct{sku: "DRAFT-1", title: "Secret draft widget", handle: "secret-draft", state: "draft", price: 100, onHand: 5},
		shopProduct{sku: "ARCH-1", title: "Old archived widget", handle: "old-archived", state: "archived", price: 100, onHand: 5})
	ids := addShopProducts(t, pool, ps...)
	var cat int64
	if err := pool.QueryRow(context.Background(), `INSERT INTO categories (name) VALUES ('Tools') RETURNING id`).Scan(&cat); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if _, err := pool.Exec(context.Background(), `INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)`,
			ids[fmt.Sprintf("W-%02d", i)], cat); err != nil {
			t.Fatal(err)
		}
	}
	// A draft in the category: never shown, even there.
	if _, err := pool.Exec(context.Background(), `INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)`, ids["DRAFT-1"], cat); err != nil {
		t.Fatal(err)
	}
	return v, pool, cat
}

func TestStorefrontCatalogFiltersSortsAndPages(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	_, _, cat := catalogFixture(t, s, "acme")
	host := "acme.localhost"
	widgets := func(nums ...int) []string {
		var out []string
		for _, n := range nums {
			out = append(out, fmt.Sprintf("Widget %02d", n))
		}
		return out
	}
	seq := func(from, to int) []int {
		var out []int
		for i := from; from <= to && i <= to || from > to && i >= to; {
			out = append(out, i)
			if from <= to {
				i++
			} else {
				i--
			}
		}
		return out
	}

	code, body, hdr := s.getNoRedirect(t, host, "/products")
	if code != 200 || !slices.Equal(cardTitles(body), widgets(seq(1, 24)...)) {
		t.Fatalf("page 1 (newest first): %d %v", code, cardTitles(body))
	}
	if !strings.Contains(hdr.Get("Cache-Control"), "public") || !strings.Contains(body, `href="/products?page=2" rel="next"`) {
		t.Errorf("page 1: cache %q, or no link to page 2", hdr.Get("Cache-Control"))
	}
	if strings.Contains(body, "Secret draft") || strings.Contains(body, "Old archived") {
		t.Fatal("a draft or archived product is listed")
	}
	// Sale prices: the price paid, the regular one struck through.
	if !strings.Contains(body, `<span class="now">€2.50</span> <s class="was"><span class="visually-hidden">was </span>€3.00</s>`) {
		t.Errorf("Widget 03's sale price: %s", body)
	}
	if !strings.Contains(body, `<div class="stock out_of_stock">Out of stock</div>`) || !strings.Contains(body, `<div class="stock in_stock">In stock</div>`) {
		t.Errorf("stock states are not shown")
	}
	if _, body, _ = s.getNoRedirect(t, host, "/products?page=2"); !slices.Equal(cardTitles(body), widgets(seq(25, 30)...)) ||
		strings.Contains(body, `rel="next"`) {
		t.Fatalf("page 2: %v", cardTitles(body))
	}

	// Silly page numbers are clamped, and the address says so.
	for path, want := range map[string]string{
		"/products?page=0":                    "/products",
		"/products?page=-3":                   "/products",
		"/products?page=abc":                  "/products",
		"/products?page=99999999999999999999": "/products?page=2", // page 100, past the end
		"/products?page=100":                  "/products?page=2", // past the end: the last page
		"/products?page=7&brand=acme":         "/products?brand=acme",
	} {
		code, _, hdr := s.getNoRedirect(t, host, path)
		if code != 302 || hdr.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 302 to %q", path, code, hdr.Get("Location"), want)
		}
	}

	// Sorting.
	for sortKey, want := range map[string][]string{
		"price_asc":  widgets(1, 2, 3, 4, 5),
		"price_desc": widgets(30, 29, 28, 27, 26),
		"title":      widgets(1, 2, 3, 4, 5),
		"newest":     widgets(1, 2, 3, 4, 5),
	} {
		_, body := s.get(t, host, "/products?sort="+sortKey)
		if got := cardTitles(body); len(got) < 5 || !slices.Equal(got[:5], want) {
			t.Errorf("sort %s: %v", sortKey, got)
		}
	}
	// Price sorts use the price paid: Widget 30 on sale at 29.50 is still
	// dearer than Widget 29 at 29.00.
	_, body = s.get(t, host, "/products?sort=price_desc&max_price=29.40")
	if got := cardTitles(body); len(got) < 2 || !slices.Equal(got[:2], widgets(29, 28)) {
		t.Errorf("price_desc up to 29.40: %v", got)
	}

	// Filters, alone and together.
	cases := []struct {
		query string
		want  []string
	}{
		{"brand=acme", widgets(2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)},
		{"brand=BOLT&min_price=20&max_price=25,00", widgets(21, 23, 25)},
		{"min_price=2.50&max_price=4", widgets(3, 4)}, // 3 is on sale at 2.50
		{"in_stock=1&max_price=10", widgets(1, 2, 3, 4, 6, 7, 8, 9)},
		{"brand=Nobody", nil},
	}
	for _, c := range cases {
		_, body := s.get(t, host, "/products?sort=price_asc&"+c.query)
		if got := cardTitles(body); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.query, got, c.want)
		}
	}
	// A price that cannot be read is said so next to the field, and
	// left out.
	code, body = s.get(t, host, "/products?min_price=abc")
	if code != 200 || !strings.Contains(body, `class="field-error">Lowest price: Enter an amount`) || len(cardTitles(body)) != 24 {
		t.Errorf("a bad price: %d %s", code, body)
	}
	if _, body = s.get(t, host, "/products?min_price=9&max_price=3"); !strings.Contains(body, "The highest price is below the lowest.") {
		t.Errorf("crossed prices are not reported")
	}

	// Categories: by path and by parameter; the draft in it stays hidden.
	catPath := fmt.Sprintf("/categories/%d", cat)
	code, body = s.get(t, host, catPath+"?sort=title")
	if code != 200 || !slices.Equal(cardTitles(body), widgets(seq(1, 10)...)) || !strings.Contains(body, "<h1>Tools</h1>") {
		t.Fatalf("category page: %d %v", code, cardTitles(body))
	}
	if _, body = s.get(t, host, fmt.Sprintf("/products?category=%d&brand=acme&sort=title", cat)); !slices.Equal(cardTitles(body), widgets(2, 4, 6, 8, 10)) {
		t.Errorf("?category= with a brand: %v", cardTitles(body))
	}
	for _, path := range []string{"/categories/999999", "/products?category=999999", "/products?category=abc", "/categories/0"} {
		code, body := s.get(t, host, path)
		if code != 404 || !strings.Contains(body, "This category does not exist") || !strings.Contains(body, `<header class="shop">`) {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	// The filter lists: the category, the brands.
	if _, body = s.get(t, host, "/products"); !strings.Contains(body, `href="`+catPath+`"`) ||
		!strings.Contains(body, `<option value="Acme">Acme</option>`) || !strings.Contains(body, `<option value="Bolt">Bolt</option>`) {
		t.Errorf("the filters do not list the category and brands: %s", body)
	}
}

func TestStorefrontHomeShowsFeaturedAndNew(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, v)
	addShopProducts(t, pool,
		shopProduct{sku: "OLD-STAR", title: "Old star", featured: true, price: 900, onHand: 3, ageMinutes: 500},
		shopProduct{sku: "NEW-1", title: "Brand new thing", price: 500, onHand: 3},
		shopProduct{sku: "HIDDEN", title: "Hidden featured draft", featured: true, state: "draft", price: 500})
	code, body, hdr := s.getNoRedirect(t, "acme.localhost", "/")
	if code != 200 || !strings.Contains(body, "Featured") || !strings.Contains(body, "New arrivals") || strings.Contains(body, "Hidden featured") {
		t.Fatalf("home: %d %s", code, body)
	}
	titles := cardTitles(body)
	if !slices.Equal(titles, []string{"Old star", "Brand new thing", "Old star"}) {
		t.Errorf("home cards: %v", titles)
	}
	if !strings.Contains(body, `href="/products/new-1"`) {
		t.Errorf("cards do not link to the products (handles from SKUs): %s", body)
	}
	if hdr.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("home Cache-Control %q", hdr.Get("Cache-Control"))
	}
	// The header: search box, catalog, account and cart.
	for _, want := range []string{`action="/search"`, `name="q"`, `href="/products"`, `href="/account"`, `href="/cart"`, `data-suggest="/search/suggest"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the header lacks %s", want)
		}
	}
}

func TestStorefrontProductPage(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, v)
	ids := addShopProducts(t, pool,
		shopProduct{sku: "HAM-1", title: "Claw hammer", handle: "claw-hammer", brand: "Forge & Co", price: 2490, sale: i64(1990),
			onHand: 5, reserved: 2, desc: "Forged steel.\n\nA <b>lifetime</b> warranty."},
		shopProduct{sku: "SAW.2/X", title: "Hand saw", price: 1500, onHand: 40}, // no handle of its own
		shopProduct{sku: "GONE-1", title: "Sold out drill", handle: "sold-out-drill", price: 9900, onHand: 0},
		shopProduct{sku: "DRAFT-1", title: "Draft thing", handle: "draft-thing", state: "draft", price: 100, onHand: 5},
		shopProduct{sku: "ARCH-1", title: "Archived thing", handle: "archived-thing", state: "archived", price: 100, onHand: 5})
	var cat int64
	if err := pool.QueryRow(context.Background(), `INSERT INTO categories (name) VALUES ('Hand tools') RETURNING id`).Scan(&cat); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(context.Background(), `INSERT INTO product_categories VALUES ($1, $2)`, ids["HAM-1"], cat); err != nil {
		t.Fatal(err)
	}

	code, body, hdr := s.getNoRedirect(t, "acme.localhost", "/products/claw-hammer")
	if code != 200 {
		t.Fatalf("product page: %d %s", code, body)
	}
	for _, want := range []string{
		"<h1>Claw hammer</h1>", `<p class="brand">Forge &amp; Co</p>`,
		`<span class="now">€19.90</span> <s class="was"><span class="visually-hidden">Regular price </span>€24.90</s>`,
		`<div class="stock low_stock">Only 3 left</div>`,
		"<p>Forged steel.</p>", "<p>A &lt;b&gt;lifetime&lt;/b&gt; warranty.</p>",
		fmt.Sprintf(`<a href="/categories/%d">Hand tools</a>`, cat),
		`<form method="post" action="/cart/lines" class="add-to-cart">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("product page lacks %s", want)
		}
	}
	// the form needs no token, so the page is the same for everyone
	if hdr.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("product page: Cache-Control %q", hdr.Get("Cache-Control"))
	}
	// A product without a handle answers at its SKU's handle; the SKU
	// itself, and other spellings, are sent there.
	if code, body, _ := s.getNoRedirect(t, "acme.localhost", "/products/saw-2-x"); code != 200 || !strings.Contains(body, "<h1>Hand saw</h1>") ||
		!strings.Contains(body, `<div class="stock in_stock">In stock</div>`) {
		t.Fatalf("SKU handle: %d %s", code, body)
	}
	for path, want := range map[string]string{
		"/products/HAM-1":   "/products/claw-hammer",
		"/products/ham-1":   "/products/claw-hammer",
		"/products/Saw.2-X": "/products/saw-2-x",
	} {
		if code, _, hdr := s.getNoRedirect(t, "acme.localhost", path); code != 301 || hdr.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 301 to %s", path, code, hdr.Get("Location"), want)
		}
	}
	// Out of stock: the state shows.
	if _, body, _ := s.getNoRedirect(t, "acme.localhost", "/products/sold-out-drill"); !strings.Contains(body, `<div class="stock out_of_stock">Out of stock</div>`) {
		t.Errorf("sold out: %s", body)
	}
	// Drafts, archived and unknown products are a friendly 404.
	for _, path := range []string{"/products/draft-thing", "/products/archived-thing", "/products/nothing-here", "/products/%00", "/products/" + strings.Repeat("x", 300)} {
		code, body, _ := s.getNoRedirect(t, "acme.localhost", path)
		if code != 404 || !strings.Contains(body, "Product not found") || !strings.Contains(body, `<header class="shop">`) ||
			strings.Contains(body, "Draft thing") || strings.Contains(body, "Archived thing") {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	if _, body, _ := s.getNoRedirect(t, "acme.localhost", "/products/nothing-here"); !strings.Contains(body, `value="nothing here"`) {
		t.Errorf("the 404 does not offer a search for the address's words")
	}
}

func TestStorefrontSearch(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Sports")
	pool := s.e.VendorPool(t, v)
	addShopProducts(t, pool,
		shopProduct{sku: "RS-1", title: "Running shoes", brand: "Swift", desc: "Light shoes for the road.", price: 8900, onHand: 4},
		shopProduct{sku: "RS-2", title: "Trail running shoes, red", brand: "Swift", desc: "Grip for the trails.", price: 9900, onHand: 4},
		shopProduct{sku: "LB-1", title: "Leather boots", brand: "Oakridge", desc: "Waterproof leather.", price: 15900, onHand: 4},
		shopProduct{sku: "WS-1", title: "Wool socks", desc: "Warm socks for running in winter.", price: 1200, onHand: 4},
		shopProduct{sku: "HID-1", title: "Running shoes prototype", state: "draft", price: 100, onHand: 1})
	search := func(q string) (int, []string, []string) {
		t.Helper()
		code, out := s.getJSON(t, "acme.localhost", "/api/v1/shop/search?q="+urlQuery(q))
		titles := func(key string) []string {
			var ts []string
			for _, p := range out[key].([]any) {
				ts = append(ts, p.(map[string]any)["title"].(string))
			}
			return ts
		}
		if code != 200 {
			t.Fatalf("search %q: %d %v", q, code, out)
		}
		return code, titles("products"), titles("similar")
	}
	cases := []struct {
		q             string
		want, similar []string
	}{
		// Stemming: "shoe" finds shoes; the title weighs more than the
		// description.
		{"shoe", []string{"Running shoes", "Trail running shoes, red"}, nil},
		{"run", []string{"Running shoes", "Trail running shoes, red", "Wool socks"}, nil},
		{"boot", []string{"Leather boots"}, nil},
		// Web search syntax: a phrase, and a word left out.
		{`"running shoes" -red`, []string{"Running shoes"}, nil},
		{`socks or boots`, []string{"Leather boots", "Wool socks"}, nil},
		{"swift trail", []string{"Trail running shoes, red"}, nil},
		{"RS-2", []string{"Trail running shoes, red"}, nil},
		// Typos: nothing matches, titles that look like it do.
		{"runing shoos", nil, []string{"Running shoes"}},
		{"lether bots", nil, []string{"Leather boots"}},
		{"xyzzy", nil, nil},
		{"the", nil, nil}, // only a stop word
	}
	for _, c := range cases {
		_, got, similar := search(c.q)
		sort.Strings(got)
		want := slices.Clone(c.want)
		sort.Strings(want)
		if !slices.Equal(got, want) || len(c.similar) > 0 && (len(similar) == 0 || similar[0] != c.similar[0]) || len(c.similar) == 0 && len(got) == 0 && len(similar) > 0 {
			t.Errorf("search %q: %v similar %v; want %v similar %v", c.q, got, similar, c.want, c.similar)
		}
	}
	if _, got, _ := search("running"); len(got) == 0 || got[0] != "Running shoes" {
		t.Errorf("ranking: %v", got)
	}

	// The page: results, typo suggestions.
	code, body := s.get(t, "acme.localhost", "/search?q=runing+shoos")
	if code != 200 || !strings.Contains(body, "Nothing found for “runing shoos”") || !strings.Contains(body, "Perhaps you meant") ||
		!slices.Contains(cardTitles(body), "Running shoes") || !strings.Contains(body, `value="runing shoos"`) {
		t.Fatalf("typo page: %d %s", code, body)
	}
	if _, body = s.get(t, "acme.localhost", "/search?q=shoes"); !strings.Contains(body, "Results for “shoes”") || len(cardTitles(body)) != 2 {
		t.Errorf("results page: %v", cardTitles(body))
	}
	if code, body = s.get(t, "acme.localhost", "/search"); code != 200 || !strings.Contains(body, "Search Acme Sports") {
		t.Errorf("empty search: %d", code)
	}

	// Bad input is a 400, never a 500: on the page and in the API.
	for _, q := range []string{"%00", "ab%00cd", "%ff%fe", strings.Repeat("a", 201), "%C3%28"} {
		for _, path := range []string{"/search?q=", "/search/suggest?q=", "/api/v1/shop/search?q=", "/api/v1/shop/suggest?q="} {
			if code, body := s.get(t, "acme.localhost", path+q); code != 400 {
				t.Errorf("%s%.20s: %d %.200s", path, q, code, body)
			}
		}
	}
	if code, body := s.get(t, "acme.localhost", "/search?q=%00"); !strings.Contains(body, `<header class="shop">`) || !strings.Contains(body, "cannot be searched") {
		t.Errorf("bad query page: %d %s", code, body)
	}
	if code, _ := s.get(t, "acme.localhost", "/search?q="+strings.Repeat("é", 200)); code != 200 {
		t.Errorf("200 characters (400 bytes): %d", code)
	}

	// Suggestions as one types: prefixes first, then look-alikes, as JSON.
	code, out := s.getJSON(t, "acme.localhost", "/search/suggest?q=Run")
	sugg := func(out map[string]any) []string {
		var ts []string
		for _, x := range out["suggestions"].([]any) {
			m := x.(map[string]any)
			ts = append(ts, m["title"].(string))
			if !strings.HasPrefix(m["url"].(string), "/products/") || m["handle"] == "" {
				t.Errorf("suggestion %v", m)
			}
		}
		return ts
	}
	if got := sugg(out); code != 200 || len(got) < 2 || got[0] != "Running shoes" || !slices.Contains(got, "Trail running shoes, red") || slices.Contains(got, "Running shoes prototype") {
		t.Errorf("suggest Run: %d %v", code, got)
	}
	if _, out = s.getJSON(t, "acme.localhost", "/search/suggest?q=lether"); !slices.Equal(sugg(out), []string{"Leather boots"}) {
		t.Errorf("suggest lether: %v", sugg(out))
	}
	if _, out = s.getJSON(t, "acme.localhost", "/search/suggest?q=r"); len(sugg(out)) != 0 {
		t.Errorf("one letter suggests: %v", out)
	}
	if _, out = s.getJSON(t, "acme.localhost", "/search/suggest?q=100%25_"); len(sugg(out)) != 0 {
		t.Errorf("wildcards are not escaped: %v", out)
	}
	// Never more than 8.
	var many []shopProduct
	for i := range 20 {
		many = append(many, shopProduct{sku: fmt.Sprintf("RB-%d", i), title: fmt.Sprintf("Running belt %d", i), price: 100, onHand: 1})
	}
	addShopProducts(t, pool, many...)
	if _, out = s.getJSON(t, "acme.localhost", "/api/v1/shop/suggest?q=running"); len(sugg(out)) != 8 {
		t.Errorf("suggestions: %d", len(sugg(out)))
	}
	// Paged search results ("belt": a text not searched yet, so not in the
	// search cache; see TestStorefrontSearchCache).
	_, out = s.getJSON(t, "acme.localhost", "/api/v1/shop/search?q=belt&page=1")
	if len(out["products"].([]any)) != 20 || out["has_more"] != false {
		t.Errorf("page 1 of belt: %d %v", len(out["products"].([]any)), out["has_more"])
	}
	for i := range 10 {
		addShopProducts(t, pool, shopProduct{sku: fmt.Sprintf("RB-X%d", i), title: fmt.Sprintf("Running belt, large %d", i), price: 100, onHand: 1})
	}
	_, out = s.getJSON(t, "acme.localhost", "/api/v1/shop/search?q=belts")
	_, out2 := s.getJSON(t, "acme.localhost", "/api/v1/shop/search?q=belts&page=2")
	_, out3 := s.getJSON(t, "acme.localhost", "/api/v1/shop/search?q=belts&page=3")
	if len(out["products"].([]any)) != 24 || out["has_more"] != true || len(out2["products"].([]any)) != 6 || out2["has_more"] != false ||
		len(out3["products"].([]any)) != 0 || out3["has_more"] != false {
		t.Errorf("pages of belts: %d %v, %d %v, %d", len(out["products"].([]any)), out["has_more"], len(out2["products"].([]any)), out2["has_more"],
			len(out3["products"].([]any)))
	}
	seen := map[string]bool{}
	for _, o := range []map[string]any{out, out2} {
		for _, p := range o["products"].([]any) {
			sku := p.(map[string]any)["sku"].(string)
			if seen[sku] {
				t.Errorf("%s is on both pages", sku)
			}
			seen[sku] = true
		}
	}
}

// urlQuery escapes a query parameter's value.
func urlQuery(s string) string {
	r := strings.NewReplacer("%", "%25", " ", "+", `"`, "%22", "&", "%26", "#", "%23", "+", "%2B")
	return r.Replace(s)
}

// The search is in the shop's language: German stems German words.
func TestStorefrontSearchInTheShopsLanguage(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "laden", "Der Laden")
	pool := s.e.VendorPool(t, v)
	if _, err := pool.Exec(context.Background(), `UPDATE shop_profile SET language = 'de'`); err != nil {
		t.Fatal(err)
	}
	addShopProducts(t, pool,
		shopProduct{sku: "WS-1", title: "Wanderschuhe aus Leder", price: 12900, onHand: 3},
		shopProduct{sku: "KB-1", title: "Kinderbücher", price: 990, onHand: 3})
	for q, want := range map[string]string{"Wanderschuh": "Wanderschuhe aus Leder", "kinderbuch": "", "Kinderbüchern": "Kinderbücher"} {
		_, out := s.getJSON(t, "laden.localhost", "/api/v1/shop/search?q="+q)
		ps := out["products"].([]any)
		if want == "" {
			continue // whatever German stemming makes of it
		}
		if len(ps) != 1 || ps[0].(map[string]any)["title"] != want {
			t.Errorf("%s: %v", q, out)
		}
	}
	if _, body := s.get(t, "laden.localhost", "/search?q=Wanderschuh"); !strings.Contains(body, `<html lang="de">`) {
		t.Errorf("the page is not in German")
	}
}

// Two shops with the same SKUs and handles: each shows its own.
func TestStorefrontVendorsSeeOnlyTheirOwn(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	for _, slug := range []string{"acme", "bravo"} {
		v := s.e.CreateVendor(t, slug, strings.ToUpper(slug[:1])+slug[1:]+" Shop")
		addShopProducts(t, s.e.VendorPool(t, v),
			shopProduct{sku: "SAME-1", title: slug + " widget", handle: "same-1", brand: slug + "brand", price: 1000, onHand: 2},
			shopProduct{sku: "SKU-ONLY", title: slug + " gadget", price: 1000, onHand: 2})
	}
	for _, slug := range []string{"acme", "bravo"} {
		other := map[string]string{"acme": "bravo", "bravo": "acme"}[slug]
		host := slug + ".localhost"
		for _, path := range []string{"/", "/products", "/products/same-1", "/products/sku-only", "/search?q=widget", "/search?q=gadgte",
			"/search/suggest?q=" + slug[:3], "/api/v1/shop/products", "/api/v1/shop/products/same-1", "/api/v1/shop/search?q=same-1",
			"/api/v1/shop/suggest?q=wid"} {
			code, body := s.get(t, host, path)
			if code != 200 || strings.Contains(body, other) {
				t.Errorf("%s%s: %d, shows %s's data:\n%.300s", host, path, code, other, body)
			}
		}
		if _, body := s.get(t, host, "/products/same-1"); !strings.Contains(body, "<h1>"+slug+" widget</h1>") {
			t.Errorf("%s's product page", slug)
		}
		if _, body := s.get(t, "localhost", "/vendor/"+slug+"/products/same-1"); !strings.Contains(body, "<h1>"+slug+" widget</h1>") ||
			!strings.Contains(body, `action="/vendor/`+slug+`/search"`) {
			t.Errorf("%s's product page on the shared host", slug)
		}
	}
}

func TestShopAPICatalog(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	_, pool, cat := catalogFixture(t, s, "acme")
	host := "acme.localhost"
	code, out := s.getJSON(t, host, "/api/v1/shop/products?brand=acme&sort=price_desc&min_price_minor=1000&max_price_minor=2000&in_stock=true")
	if code != 200 || out["page"] != 1.0 || out["page_size"] != 24.0 || out["has_more"] != false {
		t.Fatalf("list: %d %v", code, out)
	}
	var titles []string
	for _, p := range out["products"].([]any) {
		titles = append(titles, p.(map[string]any)["title"].(string))
	}
	if !slices.Equal(titles, []string{"Widget 18", "Widget 16", "Widget 14", "Widget 12"}) { // 20 and 10 are out of stock
		t.Errorf("list: %v", titles)
	}
	first := out["products"].([]any)[0].(map[string]any)
	keys := slices.Sorted(mapKeys(first))
	if !slices.Equal(keys, []string{"availability", "brand", "handle", "id", "image", "price", "quantity_left", "regular_price", "sku", "title", "url"}) {
		t.Errorf("product summary keys: %v", keys)
	}
	if p := first["price"].(map[string]any); p["amount_minor"] != 1750.0 || p["currency"] != "EUR" || p["formatted"] != "€17.50" {
		t.Errorf("price: %v", p)
	}
	if p := first["regular_price"].(map[string]any); p["amount_minor"] != 1800.0 {
		t.Errorf("regular price: %v", p)
	}
	if first["availability"] != "in_stock" || first["quantity_left"] != nil || first["url"] != "/products/widget-18" {
		t.Errorf("summary: %v", first)
	}
	_, out = s.getJSON(t, host, "/api/v1/shop/products?page=2")
	if len(out["products"].([]any)) != 6 || out["page"] != 2.0 {
		t.Errorf("page 2: %v", out)
	}
	_, out = s.getJSON(t, host, "/api/v1/shop/products?page=500")
	if len(out["products"].([]any)) != 0 || out["page"] != 100.0 {
		t.Errorf("page 500: %v", out)
	}
	code, out = s.getJSON(t, host, "/api/v1/shop/products?min_price_minor=12.50&sort=cheap")
	if e := out["error"].(map[string]any); code != 422 || e["fields"].(map[string]any)["min_price_minor"] == nil || e["fields"].(map[string]any)["sort"] == nil {
		t.Errorf("bad parameters: %d %v", code, out)
	}
	if code, out = s.getJSON(t, host, "/api/v1/shop/products?category=424242"); code != 404 {
		t.Errorf("unknown category: %d %v", code, out)
	}

	// One product in full.
	if _, err := pool.Exec(context.Background(), `UPDATE products SET gtin = '4006381333931', description = 'Fine.' WHERE sku = 'W-03'`); err != nil {
		t.Fatal(err)
	}
	code, out = s.getJSON(t, host, "/api/v1/shop/products/widget-03")
	if code != 200 || out["title"] != "Widget 03" || out["gtin"] != "4006381333931" || out["description"] != "Fine." ||
		len(out["images"].([]any)) != 0 || len(out["categories"].([]any)) != 1 {
		t.Fatalf("product: %d %v", code, out)
	}
	if c := out["categories"].([]any)[0].(map[string]any); c["id"] != float64(cat) || c["name"] != "Tools" || c["url"] != fmt.Sprintf("/categories/%d", cat) {
		t.Errorf("product category: %v", c)
	}
	if _, out = s.getJSON(t, host, "/api/v1/shop/products/W-05"); out["handle"] != "widget-05" || out["availability"] != "out_of_stock" {
		t.Errorf("by SKU: %v", out)
	}
	for _, h := range []string{"secret-draft", "old-archived", "nope"} {
		if code, out := s.getJSON(t, host, "/api/v1/shop/products/"+h); code != 404 || out["error"] == nil {
			t.Errorf("%s: %d %v", h, code, out)
		}
	}
	// Categories.
	_, out = s.getJSON(t, host, "/api/v1/shop/categories")
	if cs := out["categories"].([]any); len(cs) != 1 || cs[0].(map[string]any)["name"] != "Tools" {
		t.Errorf("categories: %v", out)
	}
	// Low stock.
	if _, err := pool.Exec(context.Background(), `UPDATE products SET stock_on_hand = 2, stock_reserved = 0 WHERE sku = 'W-01'`); err != nil {
		t.Fatal(err)
	}
	if _, out = s.getJSON(t, host, "/api/v1/shop/products/widget-01"); out["availability"] != "low_stock" || out["quantity_left"] != 2.0 {
		t.Errorf("low stock: %v", out)
	}
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Every /api/v1/shop route the tenant app serves is in the OpenAPI
// document, and every operation of the document is served (the cart's
// and the account's too, as they arrive).
func TestShopAPIMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	s.e.CreateVendor(t, "acme", "Acme Tools")
	code, doc := s.getJSON(t, "acme.localhost", "/api/v1/shop/openapi.json")
	if code != 200 || doc["openapi"] != "3.1.0" {
		t.Fatalf("document: %d %v", code, doc["openapi"])
	}
	if servers := doc["servers"].([]any); servers[0].(map[string]any)["url"] != "/api/v1/shop" {
		t.Errorf("servers: %v", servers)
	}
	if _, other := s.getJSON(t, "localhost", "/vendor/acme/api/v1/shop/openapi.json"); other["servers"].([]any)[0].(map[string]any)["url"] != "/vendor/acme/api/v1/shop" {
		t.Errorf("servers on the shared host: %v", other["servers"])
	}
	documented := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			if method != "parameters" && method != "summary" && method != "description" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	param := regexp.MustCompile(`\{(\w+):[^}]*\}`)
	served := map[string]bool{}
	err := s.a.ShopRouter().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err1 := route.GetPathTemplate()
		methods, err2 := route.GetMethods()
		if err1 != nil || err2 != nil || !strings.HasPrefix(tpl, "/api/v1/shop/") {
			return nil
		}
		for _, m := range methods {
			if m == http.MethodHead || m == http.MethodOptions {
				continue
			}
			served[m+" "+strings.TrimPrefix(param.ReplaceAllString(tpl, "{$1}"), "/api/v1/shop")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(served) < 6 {
		t.Fatalf("only %d shop API routes found: %v", len(served), served)
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("%s is served but not in the OpenAPI document", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("%s is in the OpenAPI document but not served", op)
		}
	}
}
