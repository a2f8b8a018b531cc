package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// apiPostFile posts a multipart form with one file field to the vendor API.
func apiPostFile(c apiClient, path, name string, data []byte, fields map[string]string) (int, map[string]any, http.Header) {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = part.Write(data)
	_ = mw.Close()
	req, err := http.NewRequest("POST", c.srv.URL+"/api/v1/vendor"+path, &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Host = c.host
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("POST %s: %d, not JSON: %s", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out, resp.Header
}

// apiWait polls an import or publish until it has ended, and returns it.
func apiWait(c apiClient, path string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out := c.call("GET", path, nil)
		if code != 200 {
			c.t.Fatalf("GET %s: %d %v", path, code, out)
		}
		if st := out["state"]; st != "queued" && st != "running" {
			return out
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s is still %v after 30 s", path, out["state"])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// apiPath is the API path of a Location header.
func apiPath(t *testing.T, loc string) string {
	t.Helper()
	_, p, ok := strings.Cut(loc, "/api/v1/vendor")
	if !ok {
		t.Fatalf("Location %q", loc)
	}
	return p
}

// feedServer serves feeds by path, as a vendor's marketplace would.
func feedServer(t *testing.T, feeds map[string]*[]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := feeds[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/tab-separated-values")
		_, _ = w.Write(*f)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func TestVendorAPIMarketplace(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	startJobs(t, s)
	v, owner := catalogShop(t, s, "apimp", "API Marketplace")
	c := apiClient{t: t, srv: s.srv, host: "apimp.localhost", token: makeToken(t, owner, "feeds")}

	feed := stagingFeed("12.90 EUR")
	// A row with a bad price is rejected with its line.
	withBad := append(append([]byte{}, feed...), []byte("MP-9\tBad\t\tin stock\tabc\t\t\t\n")...)
	feeds := map[string]*[]byte{"/feed.tsv": &withBad}
	fsrv := feedServer(t, feeds)

	// Import by URL: 202 with the import and where to follow it.
	code, out := c.call("POST", "/imports", map[string]any{"url": fsrv.URL + "/feed.tsv", "language": ""})
	if code != 202 || out["state"] != "queued" || out["source"] != "url" {
		t.Fatalf("import by URL: %d %v", code, out)
	}
	importPath := fmt.Sprintf("/imports/%d", num(out["id"]))
	imp := apiWait(c, importPath)
	if imp["state"] != "finished" || num(imp["rows_imported"]) != 4 || num(imp["rows_rejected"]) != 1 {
		t.Fatalf("import: %v", imp)
	}
	code, out = c.call("GET", importPath+"/rejections", nil)
	rej, _ := out["rejections"].([]any)
	if code != 200 || len(rej) != 1 || num(rej[0].(map[string]any)["line"]) != 6 || out["next_after"] != nil {
		t.Errorf("rejections: %d %v", code, out)
	}
	if code, out = c.call("GET", "/imports?limit=1", nil); code != 200 || len(out["imports"].([]any)) != 1 || out["next_before"] != nil {
		t.Errorf("imports: %d %v", code, out)
	}
	if code, out = c.call("POST", importPath+"/cancel", nil); code != 409 {
		t.Errorf("cancel a finished import: %d %v", code, out)
	}
	// Upload through the API: multipart, like the media library.
	// (a feed in another language: the same items, their text in French)
	fr := strings.Replace(string(feed), "Riesling 2021\tA dry white wine.", "Riesling 2021 (fr)\tUn vin blanc sec.", 1)
	code, out, h := apiPostFile(c, "/imports", "fr.tsv", []byte(fr), map[string]string{"language": "fr"})
	if code != 202 || out["language"] != "fr" || out["file_name"] != "fr.tsv" {
		t.Fatalf("upload: %d %v", code, out)
	}
	if imp := apiWait(c, apiPath(t, h.Get("Location"))); imp["state"] != "finished" {
		t.Fatalf("translation import: %v", imp)
	}
	// A feed may be bigger than an image (limitBody lets the API's feed
	// uploads through as the imports page's): 12 MiB of something that is
	// not a feed is taken, and its import fails with one clear error.
	code, out, h = apiPostFile(c, "/imports", "big.tsv", bytes.Repeat([]byte{0}, 12<<20), nil)
	if code != 202 {
		t.Fatalf("a 12 MiB upload: %d %v", code, out)
	}
	if imp := apiWait(c, apiPath(t, h.Get("Location"))); imp["state"] != "failed" || !strings.Contains(fmt.Sprint(imp["error"]), "not a product feed") {
		t.Errorf("a 12 MiB file that is not a feed: %v", imp)
	}
	// Bad imports: 422 naming the field, 415 for another body.
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, "file"},
		{map[string]any{"url": "ftp://example.com/f.tsv"}, "url"},
		{map[string]any{"url": "https://example.com/f.tsv", "language": "xx"}, "language"},
	} {
		code, out := c.call("POST", "/imports", tc.body)
		if f, _ := errField(out); code != 422 || f != tc.field {
			t.Errorf("import %v: %d %v", tc.body, code, out)
		}
	}
	if code, _ := c.call("POST", "/imports", `url=x`); code != 400 {
		t.Errorf("import with a form body: %d", code)
	}

	// Staging: filters as parameters, prices in minor units.
	code, out = c.call("GET", "/staging?brand=acme&sort=title", nil)
	items, _ := out["items"].([]any)
	if code != 200 || num(out["total"]) != 2 || len(items) != 2 || items[0].(map[string]any)["external_id"] != "MP-2" {
		t.Fatalf("staging: %d %v", code, out)
	}
	if code, out = c.call("GET", "/staging?min_price_minor=1000&max_price_minor=2000", nil); code != 200 || num(out["total"]) != 2 {
		t.Errorf("staging by price: %d %v", code, out)
	}
	for q, field := range map[string]string{"min_price_minor=abc": "min_price_minor", "changed=yes": "changed",
		"min_price_minor=9&max_price_minor=1": "max_price_minor", "sort=cost": "sort", "page_size=500": "page_size"} {
		if code, out := c.call("GET", "/staging?"+q, nil); code != 422 {
			t.Errorf("staging?%s: %d", q, code)
		} else if f, fields := errField(out); fields[field] == nil {
			t.Errorf("staging?%s: fields %v (field %s)", q, fields, f)
		}
	}
	ids := stagedIDs(t, s, v)
	code, out = c.call("GET", fmt.Sprintf("/staging/%d", ids["MP-1"]), nil)
	tr, _ := out["translations"].(map[string]any)
	if fr, _ := tr["fr"].(map[string]any); code != 200 || out["description"] != "A dry white wine." || fr["description"] != "Un vin blanc sec." ||
		num(out["price_minor"]) != 1290 {
		t.Errorf("staged item: %d %v", code, out)
	}
	if code, _ = c.call("GET", "/staging/999999", nil); code != 404 {
		t.Errorf("no such staged item: %d", code)
	}

	// Preview and publish: errors first, nothing written.
	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, "ids"},
		{map[string]any{"ids": []int64{ids["MP-1"]}, "filter": map[string]any{}}, "ids"},
		{map[string]any{"ids": []int64{ids["MP-1"]}, "options": map[string]any{"stock_from_availability": true, "stock_quantity": -1}}, "options.stock_quantity"},
		{map[string]any{"ids": []int64{ids["MP-1"]}, "options": map[string]any{"new_state": "archived"}}, "options.new_state"},
		{map[string]any{"filter": map[string]any{"min_price_minor": 500, "max_price_minor": 100}}, "filter.max_price_minor"},
		{map[string]any{"filter": map[string]any{"gtin": "12"}}, "filter.gtin"},
	} {
		for _, path := range []string{"/publishes/preview", "/publishes"} {
			code, out := c.call("POST", path, tc.body)
			if f, fields := errField(out); code != 422 || fields[tc.field] == nil {
				t.Errorf("POST %s %v: %d, field %s, fields %v", path, tc.body, code, f, fields)
			}
		}
	}
	if code, _ := c.call("POST", "/publishes", `{"ids": [1], "colour": "red"}`); code != 400 {
		t.Errorf("an unknown property: %d", code)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM publishes`); n != 0 {
		t.Fatalf("bad requests made %d publishes", n)
	}

	everything := map[string]any{"filter": map[string]any{}, "options": map[string]any{"new_state": "active",
		"stock_from_availability": true, "stock_quantity": 7}}
	code, out = c.call("POST", "/publishes/preview", everything)
	if code != 200 || num(out["selected"]) != 4 || num(out["create"]) != 4 || len(out["changes"].([]any)) != 0 {
		t.Fatalf("preview: %d %v", code, out)
	}
	code, out = c.call("POST", "/publishes", everything)
	if code != 202 || out["state"] != "queued" || num(out["items_total"]) != 4 {
		t.Fatalf("publish: %d %v", code, out)
	}
	first := fmt.Sprintf("/publishes/%d", num(out["id"]))
	if p := apiWait(c, first); p["state"] != "finished" || num(p["created"]) != 4 {
		t.Fatalf("publish 1: %v", p)
	}
	code, out = c.call("GET", first+"/items?outcome=created", nil)
	if list, _ := out["items"].([]any); code != 200 || len(list) != 4 || list[0].(map[string]any)["product_sku"] != "MP-1" {
		t.Errorf("items: %d %v", code, out)
	}
	if code, _ = c.call("GET", first+"/items?outcome=lost", nil); code != 422 {
		t.Errorf("items by a bad outcome: %d", code)
	}
	if p := catalogProduct(t, s, v, "MP-1"); p.Price != 1290 || p.State != "active" || p.OnHand != 7 {
		t.Errorf("MP-1: %+v", p)
	}

	// A re-import changes MP-1's price; the preview shows it; publish it.
	*feeds["/feed.tsv"] = stagingFeed("11.50 EUR")
	_, out = c.call("POST", "/imports", map[string]any{"url": fsrv.URL + "/feed.tsv"})
	if imp := apiWait(c, fmt.Sprintf("/imports/%d", num(out["id"]))); num(imp["rows_changed"]) != 1 {
		t.Fatalf("re-import: %v", imp)
	}
	code, out = c.call("GET", "/staging?changed=true", nil)
	if items, _ := out["items"].([]any); code != 200 || len(items) != 1 || items[0].(map[string]any)["changed_since_publish"] != true {
		t.Fatalf("changed since last publish: %d %v", code, out)
	}
	changed := map[string]any{"filter": map[string]any{"changed": true}}
	code, out = c.call("POST", "/publishes/preview", changed)
	changes, _ := out["changes"].([]any)
	if code != 200 || num(out["update"]) != 1 || len(changes) != 1 {
		t.Fatalf("preview of the change: %d %v", code, out)
	}
	ch := changes[0].(map[string]any)
	if num(ch["before"].(map[string]any)["price_minor"]) != 1290 || num(ch["after"].(map[string]any)["price_minor"]) != 1150 ||
		fmt.Sprint(ch["fields"]) != "[price]" || ch["matched_by"] != "published" {
		t.Errorf("the change: %v", ch)
	}
	code, out = c.call("POST", "/publishes", changed)
	second := fmt.Sprintf("/publishes/%d", num(out["id"]))
	if p := apiWait(c, second); code != 202 || p["state"] != "finished" || num(p["updated"]) != 1 {
		t.Fatalf("publish 2: %d %v", code, p)
	}
	if code, out = c.call("GET", "/publishes", nil); code != 200 || len(out["publishes"].([]any)) != 2 {
		t.Errorf("publishes: %d %v", code, out)
	}

	// Undo: the first is refused while the second stands (409 naming it).
	code, out = c.call("POST", first+"/undo", nil)
	e, _ := out["error"].(map[string]any)
	if later, _ := e["later_publishes"].([]any); code != 409 || len(later) != 1 || fmt.Sprintf("/publishes/%d", num(later[0])) != second {
		t.Fatalf("undo of the first: %d %v", code, out)
	}
	code, out = c.call("POST", second+"/undo", nil)
	res, _ := out["result"].(map[string]any)
	if code != 200 || len(res["restored"].([]any)) != 1 || out["publish"].(map[string]any)["state"] != "undone" {
		t.Fatalf("undo of the second: %d %v", code, out)
	}
	if p := catalogProduct(t, s, v, "MP-1"); p.Price != 1290 {
		t.Errorf("MP-1 after undoing the second: %+v", p)
	}
	code, out = c.call("POST", first+"/undo", nil)
	res, _ = out["result"].(map[string]any)
	if code != 200 || len(res["deleted"].([]any)) != 4 || num(res["stock_reversed"]) != 0 {
		t.Fatalf("undo of the first: %d %v", code, out)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products WHERE sku LIKE 'MP-%'`); n != 0 {
		t.Errorf("%d products left after undoing both", n)
	}
	if code, out = c.call("POST", first+"/undo", nil); code != 409 || out["error"].(map[string]any)["state"] != "undone" {
		t.Errorf("undo twice: %d %v", code, out)
	}
	if code, _ = c.call("POST", "/publishes/999999/undo", nil); code != 404 {
		t.Errorf("undo of no publish: %d", code)
	}

	// A member who may only look.
	clerk, _ := catalogMember(t, s, v, "Order clerk")
	cc := apiClient{t: t, srv: s.srv, host: "apimp.localhost", token: makeToken(t, clerk, "look")}
	if code, _ := cc.call("GET", "/staging", nil); code != 200 {
		t.Errorf("clerk lists staging: %d", code)
	}
	if code, _ := cc.call("POST", "/publishes", everything); code != 403 {
		t.Errorf("clerk publishes: %d", code)
	}
}

// Shop B cannot see or publish shop A's imports, staged items or
// publishes by id, though the ids collide.
func TestVendorAPIMarketplaceIsolation(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	startJobs(t, s)
	a, aOwner := catalogShop(t, s, "mpa", "Alpha")
	b, bOwner := catalogShop(t, s, "mpb", "Beta")
	ca := apiClient{t: t, srv: s.srv, host: "mpa.localhost", token: makeToken(t, aOwner, "a")}
	cb := apiClient{t: t, srv: s.srv, host: "mpb.localhost", token: makeToken(t, bOwner, "b")}
	code, out, h := apiPostFile(ca, "/imports", "a.tsv", stagingFeed("12.90 EUR"), nil)
	if code != 202 {
		t.Fatalf("alpha imports: %d %v", code, out)
	}
	apiWait(ca, apiPath(t, h.Get("Location")))
	_, _, h = apiPostFile(cb, "/imports", "b.tsv", []byte("id\ttitle\tprice\nB-1\tBeta's own\t1.00 EUR\n"), nil)
	apiWait(cb, apiPath(t, h.Get("Location")))
	aIDs, bIDs := stagedIDs(t, s, a), stagedIDs(t, s, b)
	if aIDs["MP-1"] != bIDs["B-1"] {
		t.Fatalf("no colliding ids: %v %v", aIDs, bIDs)
	}
	// The same id is each shop's own item; an id only alpha has is a 404.
	if _, out := cb.call("GET", fmt.Sprintf("/staging/%d", bIDs["B-1"]), nil); out["external_id"] != "B-1" {
		t.Errorf("beta's item: %v", out)
	}
	if code, _ := cb.call("GET", fmt.Sprintf("/staging/%d", aIDs["MP-4"]), nil); code != 404 {
		t.Errorf("beta reads alpha's item: %d", code)
	}
	if code, out := cb.call("GET", "/staging", nil); code != 200 || num(out["total"]) != 1 {
		t.Errorf("beta's staging: %d %v", code, out)
	}
	// Publishing alpha's ids from beta: none is in beta's staging.
	code, out = cb.call("POST", "/publishes", map[string]any{"ids": []int64{aIDs["MP-3"], aIDs["MP-4"]}})
	if f, _ := errField(out); code != 422 || f != "ids" {
		t.Errorf("beta publishes alpha's ids: %d %v", code, out)
	}
	// Alpha publishes twice, beta once.
	var alpha []int64
	for range 2 {
		_, out := ca.call("POST", "/publishes", map[string]any{"filter": map[string]any{}})
		alpha = append(alpha, num(out["id"]))
		apiWait(ca, fmt.Sprintf("/publishes/%d", num(out["id"])))
	}
	_, out = cb.call("POST", "/publishes", map[string]any{"filter": map[string]any{}})
	beta := num(out["id"])
	apiWait(cb, fmt.Sprintf("/publishes/%d", beta))
	missing := 0
	for _, id := range alpha {
		p := fmt.Sprintf("/publishes/%d", id)
		if id == beta {
			if _, out := cb.call("GET", p+"/items", nil); fmt.Sprint(out["items"]) == "" || strings.Contains(fmt.Sprint(out["items"]), "MP-") {
				t.Errorf("beta's %s shows alpha's items: %v", p, out)
			}
			continue
		}
		missing++
		for _, q := range []string{p, p + "/items"} {
			if code, _ := cb.call("GET", q, nil); code != 404 {
				t.Errorf("beta GET %s: %d", q, code)
			}
		}
		if code, _ := cb.call("POST", p+"/undo", nil); code != 404 {
			t.Errorf("beta undoes alpha's %s: %d", p, code)
		}
	}
	if missing == 0 {
		t.Fatal("every publish id of alpha's is beta's too")
	}
	// Both shops' first import has the same id: each reads its own.
	if _, out := cb.call("GET", "/imports/1", nil); out["file_name"] != "b.tsv" {
		t.Errorf("beta's import 1: %v", out)
	}
	if code, _ := cb.call("GET", "/imports/2/rejections", nil); code != 404 {
		t.Errorf("beta reads rejections of an import it does not have: %d", code)
	}
	if n := vendorCount(t, s, b, `SELECT count(*) FROM products WHERE sku LIKE 'MP-%'`); n != 0 {
		t.Errorf("alpha's items reached beta's catalog: %d", n)
	}
}
