package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/backoffice"
)

// catalogRoutesForMatrix are the back office routes of the catalog area
// (products, categories, bulk edits, CSV export, inventory) and the
// permission each needs. {product} and {category} stand for a product and
// a category of the shop, made anew for each role (an allowed role
// archives and deletes them). /admin/api-tokens is left out: every
// signed-in member manages their own tokens (TestAPITokensPage).
var catalogRoutesForMatrix = []struct{ method, path, perm string }{
	{"GET", "/admin/products", "catalog.read"},
	{"GET", "/admin/products?state=active&min_price=1&sort=-price&page=2", "catalog.read"},
	{"GET", "/admin/products/export.csv", "catalog.read"},
	{"GET", "/admin/products/new", "catalog.write"},
	{"POST", "/admin/products", "catalog.write"},
	{"POST", "/admin/products/bulk/preview", "catalog.write"},
	{"POST", "/admin/products/bulk/apply", "catalog.write"},
	{"GET", "/admin/products/{product}", "catalog.read"},
	{"POST", "/admin/products/{product}", "catalog.write"},
	{"GET", "/admin/categories", "catalog.read"},
	{"POST", "/admin/categories", "catalog.write"},
	{"POST", "/admin/categories/{category}", "catalog.write"},
	{"POST", "/admin/categories/{category}/delete", "catalog.write"},
	{"GET", "/admin/inventory", "inventory.read"},
	{"GET", "/admin/inventory?low=1", "inventory.read"},
	{"GET", "/admin/inventory/{product}", "inventory.read"},
	{"POST", "/admin/inventory/{product}/movements", "inventory.write"},
	{"POST", "/admin/inventory/{product}/threshold", "inventory.write"},
	{"POST", "/admin/products/{product}/images", "catalog.write"},
	{"POST", "/admin/products/{product}/images/1/move", "catalog.write"},
	{"POST", "/admin/products/{product}/images/1/remove", "catalog.write"},
	{"POST", "/admin/products/{product}/archive", "catalog.write"},
	{"POST", "/admin/products/{product}/delete", "catalog.write"},
}

// catalogRolePerms are the catalog permissions each built-in role holds
// (and a custom role with none).
var catalogRolePerms = map[string][]string{
	"Owner":          {"catalog.read", "catalog.write", "inventory.read", "inventory.write"},
	"Manager":        {"catalog.read", "catalog.write", "inventory.read", "inventory.write"},
	"Catalog editor": {"catalog.read", "catalog.write", "inventory.read", "inventory.write"},
	"Order clerk":    {"catalog.read", "inventory.read"},
	"Nothing":        nil,
}

// catalogShop makes a vendor and signs its owner in.
func catalogShop(t *testing.T, s *shopEnv, slug, name string) (*platform.Vendor, *browser) {
	t.Helper()
	v := s.e.CreateVendor(t, slug, name)
	b := &browser{t: t, s: s, host: slug + ".localhost"}
	acceptOwnerInvite(t, s, v, b, "correct horse battery")
	if code := b.login(v.OwnerEmail, "correct horse battery"); code != 303 {
		t.Fatalf("owner of %s signs in: %d", slug, code)
	}
	b.do("GET", "/admin/products", nil) // a form token
	return v, b
}

// catalogMember adds an active member with a role and signs them in.
func catalogMember(t *testing.T, s *shopEnv, v *platform.Vendor, role string) (*browser, int64) {
	t.Helper()
	email := strings.ReplaceAll(strings.ToLower(role), " ", "-") + "@" + v.Slug + ".example"
	hash, err := auth.Hash("a good long password")
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = s.e.VendorPool(t, v).QueryRow(context.Background(), `INSERT INTO staff (email, name, password_hash, role_id, status)
		VALUES ($1, $2, $3, (SELECT id FROM staff_roles WHERE name = $4), 'active') RETURNING id`, email, role, hash, role).Scan(&id)
	if err != nil {
		t.Fatalf("add a %s: %v", role, err)
	}
	b := &browser{t: t, s: s, host: v.Slug + ".localhost"}
	if code := b.login(email, "a good long password"); code != 303 {
		t.Fatalf("%s signs in: %d", role, code)
	}
	b.do("GET", "/admin/api-tokens", nil) // a form token
	return b, id
}

// shownError is the error shown right after a form field.
func shownError(body, field string) string {
	i := strings.Index(body, `name="`+field+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	if j := strings.Index(rest[1:], ` name="`); j >= 0 {
		rest = rest[:j+1]
	}
	if m := regexp.MustCompile(`class="field-error"[^>]*>([^<]*)<`).FindStringSubmatch(rest); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func vendorCount(t *testing.T, s *shopEnv, v *platform.Vendor, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.e.VendorPool(t, v).QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func productForm(sku, title, price string) url.Values {
	return url.Values{"sku": {sku}, "title": {title}, "price": {price}, "sale_price": {""}, "currency": {"EUR"},
		"state": {"active"}, "gtin": {""}, "description": {""}}
}

// newProduct adds a product through the back office and returns its id.
func newProduct(t *testing.T, b *browser, form url.Values) int64 {
	t.Helper()
	code, body, h := b.do("POST", "/admin/products", form)
	if code != 303 {
		t.Fatalf("create %s: %d %s", form.Get("sku"), code, body)
	}
	loc := h.Get("Location")
	id, err := strconv.ParseInt(loc[strings.LastIndex(loc, "/")+1:], 10, 64)
	if err != nil {
		t.Fatalf("location %q", loc)
	}
	return id
}

func TestCatalogProductForms(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")

	if code, body, _ := owner.do("GET", "/admin/products", nil); code != 200 || !strings.Contains(body, "There are no products yet") {
		t.Fatalf("empty list: %d %s", code, body)
	}
	code, body, _ := owner.do("POST", "/admin/categories", url.Values{"name": {"Hand tools"}})
	if code != 303 {
		t.Fatalf("category: %d %s", code, body)
	}
	var catID int64
	_ = s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT id FROM categories`).Scan(&catID)

	// Every bad field at once: 422, each message next to its field, nothing written.
	bad := url.Values{"sku": {"HAM 1"}, "title": {""}, "price": {"1e3"}, "sale_price": {"NaN"}, "currency": {"BTC"},
		"state": {"sold"}, "gtin": {"4006381333932"}, "categories": {"99999"}}
	code, body, _ = owner.do("POST", "/admin/products", bad)
	if code != 422 {
		t.Fatalf("bad product: %d", code)
	}
	for field, want := range map[string]string{"sku": "without spaces", "title": "Enter a title", "price": "digits",
		"sale_price": "digits", "currency": "not an ISO 4217", "state": "draft, active or archived", "gtin": "check digit"} {
		if got := shownError(body, field); !strings.Contains(got, want) {
			t.Errorf("%s: shown %q, want %q", field, got, want)
		}
	}
	if !strings.Contains(body, `value="HAM 1"`) {
		t.Error("the form lost what was typed")
	}
	// The sale price must be below the price; a comma works as the decimal mark.
	f := productForm("HAM-1", "Claw hammer", "12,90")
	f.Set("sale_price", "12.90")
	if code, body, _ = owner.do("POST", "/admin/products", f); code != 422 || !strings.Contains(shownError(body, "sale_price"), "below the price") {
		t.Fatalf("sale price: %d %q", code, shownError(body, "sale_price"))
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products`); n != 0 {
		t.Fatalf("%d products written by refused forms", n)
	}
	// A category that no longer exists: a field error, nothing written.
	f.Set("sale_price", "9.99")
	f.Set("gtin", "4006381333931")
	f["categories"] = []string{fmt.Sprint(catID + 1000)}
	if code, body, _ = owner.do("POST", "/admin/products", f); code != 422 || shownError(body, "categories") == "" {
		t.Fatalf("unknown category: %d %q", code, shownError(body, "categories"))
	}
	f["categories"] = []string{fmt.Sprint(catID)}
	id := newProduct(t, owner, f)
	code, body, _ = owner.do("GET", fmt.Sprintf("/admin/products/%d", id), nil)
	if code != 200 || !strings.Contains(body, "Claw hammer is saved.") || !strings.Contains(body, `value="12.90"`) || !strings.Contains(body, "€9.99") {
		t.Fatalf("saved product: %d %s", code, body)
	}
	var price, sale int64
	_ = s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT price_minor, sale_price_minor FROM products WHERE id = $1`, id).Scan(&price, &sale)
	if price != 1290 || sale != 999 {
		t.Fatalf("stored %d / %d", price, sale)
	}

	// A duplicate SKU: the message is next to the SKU field.
	dup := productForm("HAM-1", "Another hammer", "5")
	if code, body, _ = owner.do("POST", "/admin/products", dup); code != 422 || !strings.Contains(shownError(body, "sku"), "already has the SKU HAM-1") {
		t.Fatalf("duplicate SKU: %d %q", code, shownError(body, "sku"))
	}
	// The same SKU posted at the same moment from many tabs: exactly one saved.
	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := productForm("RACE-1", fmt.Sprint("Racer ", i), "3.00")
			form.Set("csrf_token", owner.csrf)
			req, _ := http.NewRequest("POST", s.srv.URL+"/admin/products", strings.NewReader(form.Encode()))
			req.Host = owner.host
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: "sf_staff", Value: owner.cookie})
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	sort.Ints(codes)
	if fmt.Sprint(codes) != "[303 422 422 422 422 422 422 422 422 422]" {
		t.Fatalf("concurrent SKU: %v", codes)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products WHERE sku = 'RACE-1'`); n != 1 {
		t.Fatalf("%d RACE-1 rows", n)
	}

	// Edit: the version the editor saw must still be the saved one.
	owner.do("GET", fmt.Sprintf("/admin/products/%d", id), nil)
	edit := productForm("HAM-1", "Claw hammer, 500 g", "13.50")
	edit["categories"] = []string{fmt.Sprint(catID)}
	edit.Set("version", "1")
	if code, body, _ = owner.do("POST", fmt.Sprintf("/admin/products/%d", id), edit); code != 409 || !strings.Contains(body, "Someone else saved this product") {
		t.Fatalf("stale edit: %d", code)
	}
	// The conflict page carries the current version: saving again wins.
	m := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(body)
	edit.Set("version", m[1])
	if code, body, _ = owner.do("POST", fmt.Sprintf("/admin/products/%d", id), edit); code != 303 {
		t.Fatalf("edit: %d %s", code, body)
	}
	// Search, filters and the list.
	code, body, _ = owner.do("GET", "/admin/products?q=claw&state=active&category="+fmt.Sprint(catID)+"&min_price=13&max_price=13,50", nil)
	if code != 200 || !strings.Contains(body, "Claw hammer, 500 g") || strings.Contains(body, "Racer") {
		t.Fatalf("filtered list: %d", code)
	}
	code, body, _ = owner.do("GET", "/admin/products?min_price=abc&state=gone", nil)
	if code != 422 || !strings.Contains(shownError(body, "min_price"), "digits") || shownError(body, "state") == "" {
		t.Fatalf("bad filter: %d %q", code, shownError(body, "min_price"))
	}
	// Archive; delete refuses a product with stock history.
	if code, _, _ = owner.do("POST", fmt.Sprintf("/admin/products/%d/archive", id), url.Values{}); code != 303 {
		t.Fatalf("archive: %d", code)
	}
	if code, _, _ = owner.do("POST", fmt.Sprintf("/admin/inventory/%d/movements", id), url.Values{"kind": {"receipt"}, "quantity": {"2"}}); code != 303 {
		t.Fatalf("receipt: %d", code)
	}
	if code, body, _ = owner.do("POST", fmt.Sprintf("/admin/products/%d/delete", id), url.Values{}); code != 409 || !strings.Contains(body, "Archive it instead") {
		t.Fatalf("delete with history: %d", code)
	}
	racer := vendorCount(t, s, v, `SELECT id FROM products WHERE sku = 'RACE-1'`)
	if code, _, _ = owner.do("POST", fmt.Sprintf("/admin/products/%d/delete", racer), url.Values{}); code != 303 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ = owner.do("GET", fmt.Sprintf("/admin/products/%d", racer), nil); code != 404 {
		t.Fatalf("deleted product: %d", code)
	}
	// Every write is in the vendor's audit log, with the member.
	for action, n := range map[string]int{"category.created": 1, "product.created": 2, "product.updated": 1, "product.archived": 1,
		"product.deleted": 1, "inventory.moved": 1} {
		if got := vendorCount(t, s, v, `SELECT count(*) FROM audit_log WHERE action = $1 AND actor = $2 AND staff_id IS NOT NULL`, action, "staff:"+v.OwnerEmail); got != n {
			t.Errorf("%s: %d audit entries, want %d", action, got, n)
		}
	}
}

func TestCatalogBulkEdit(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	a := newProduct(t, owner, productForm("A-1", "Anvil", "100.00"))
	bf := productForm("B-1", "Bolt", "2.00")
	bf.Set("sale_price", "1.50")
	b := newProduct(t, owner, bf)
	c := newProduct(t, owner, productForm("C-1", "Chisel", "15.00"))
	owner.do("GET", "/admin/products", nil)

	// Nothing selected: the message says so, nothing changes.
	if code, body, _ := owner.do("POST", "/admin/products/bulk/preview", url.Values{"kind": {"set_state"}, "state": {"draft"}}); code != 422 || !strings.Contains(body, "Select at least one product") {
		t.Fatalf("empty selection: %d", code)
	}
	// A bad percentage: next to the field.
	sel := url.Values{"ids": {fmt.Sprint(a), fmt.Sprint(b)}, "kind": {"adjust_price"}, "percent": {"1e2"}, "back": {"state=active"}}
	if code, body, _ := owner.do("POST", "/admin/products/bulk/preview", sel); code != 422 || !strings.Contains(shownError(body, "percent"), "percentage") {
		t.Fatalf("bad percent: %d %q", code, shownError(body, "percent"))
	}
	sel.Set("percent", "+10")
	code, body, _ := owner.do("POST", "/admin/products/bulk/preview", sel)
	if code != 200 {
		t.Fatalf("preview: %d %s", code, body)
	}
	for _, want := range []string{"€100.00 &rarr; <strong>€110.00</strong>", "€2.00 &rarr; <strong>€2.20</strong>",
		"€1.50 &rarr; <strong>€1.65</strong>", "Apply to 2 products"} {
		if !strings.Contains(body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Contains(body, "Chisel") {
		t.Error("an unselected product is in the preview")
	}
	fingerprint := regexp.MustCompile(`name="fingerprint" value="([0-9a-f]+)"`).FindStringSubmatch(body)[1]
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products WHERE price_minor = 11000`); n != 0 {
		t.Fatal("the preview wrote")
	}
	apply := url.Values{"ids": sel["ids"], "kind": {"adjust_price"}, "percent": {"+10"}, "back": {"state=active"}, "fingerprint": {fingerprint}}
	code, _, h := owner.do("POST", "/admin/products/bulk/apply", apply)
	if code != 303 || h.Get("Location") != "/admin/products?state=active" {
		t.Fatalf("apply: %d %s", code, h.Get("Location"))
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products WHERE (id = $1 AND price_minor = 11000) OR (id = $2 AND price_minor = 220 AND sale_price_minor = 165) OR (id = $3 AND price_minor = 1500)`, a, b, c); n != 3 {
		t.Fatalf("after apply: %d products as expected", n)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM audit_log WHERE action = 'product.bulk_updated'`); n != 2 {
		t.Fatalf("%d audit entries", n)
	}
	// Applying the same preview again: the products changed since, so nothing is written.
	code, body, _ = owner.do("POST", "/admin/products/bulk/apply", apply)
	if code != 409 || !strings.Contains(body, "changed since the preview") || !strings.Contains(body, "€110.00 &rarr; <strong>€121.00</strong>") {
		t.Fatalf("stale apply: %d", code)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products WHERE price_minor = 12100`); n != 0 {
		t.Fatal("a stale preview was applied")
	}
	// State, over a whole selection.
	st := url.Values{"ids": {fmt.Sprint(a), fmt.Sprint(b), fmt.Sprint(c)}, "kind": {"set_state"}, "state": {"archived"}}
	_, body, _ = owner.do("POST", "/admin/products/bulk/preview", st)
	st.Set("fingerprint", regexp.MustCompile(`name="fingerprint" value="([0-9a-f]+)"`).FindStringSubmatch(body)[1])
	if code, _, _ := owner.do("POST", "/admin/products/bulk/apply", st); code != 303 {
		t.Fatalf("apply state: %d", code)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products WHERE state = 'archived'`); n != 3 {
		t.Fatalf("%d archived", n)
	}
}

func TestCatalogCSVExport(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	titles := []string{`=HYPERLINK("http://evil.example","click")`, "+1+1", "-2+3", "@SUM(A1:A9)", "\tTabbed", "\rReturn", "Plain hammer"}
	for i, title := range titles {
		id := newProduct(t, owner, productForm(fmt.Sprintf("CSV-%d", i), "Title "+fmt.Sprint(i), fmt.Sprintf("%d.50", i+1)))
		// Forms trim a leading tab or carriage return; an import or an
		// older release might not.
		if _, err := s.e.VendorPool(t, v).Exec(context.Background(), `UPDATE products SET title = $2 WHERE id = $1`, id, title); err != nil {
			t.Fatal(err)
		}
	}
	draft := productForm("DRAFT-1", "=draft formula", "1")
	draft.Set("state", "draft")
	newProduct(t, owner, draft)

	code, body, h := owner.do("GET", "/admin/products/export.csv?state=active&sort=sku", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", code, h)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(titles) {
		t.Fatalf("%d rows (the draft must be filtered out): %v", len(rows), rows)
	}
	if rows[0][1] != "sku" || rows[0][2] != "title" || rows[0][4] != "price" {
		t.Fatalf("header %v", rows[0])
	}
	for i, title := range titles {
		got := rows[i+1][2]
		want := title
		if title != "Plain hammer" {
			want = "'" + title
		}
		if got != want {
			t.Errorf("title cell %q, want %q", got, want)
		}
		if rows[i+1][4] != fmt.Sprintf("%d.50", i+1) {
			t.Errorf("price cell %q", rows[i+1][4])
		}
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a cell starts with a formula character: %q", cell)
			}
		}
	}
}

func TestCatalogPermissionMatrix(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, v)
	if _, err := pool.Exec(context.Background(), `INSERT INTO staff_roles (name, permissions) VALUES ('Nothing', '{}')`); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"Owner", "Manager", "Catalog editor", "Order clerk", "Nothing"} {
		t.Run(role, func(t *testing.T) {
			b := owner
			if role != "Owner" {
				b, _ = catalogMember(t, s, v, role)
			}
			// A product and a category of the shop, new for each role.
			var product, category int64
			sku := "M-" + strings.ReplaceAll(role, " ", "")
			if err := pool.QueryRow(context.Background(), `INSERT INTO products (sku, title, price_minor, state, handle)
				VALUES ($1, $1, 1000, 'active', lower($1)) RETURNING id`, sku).Scan(&product); err != nil {
				t.Fatal(err)
			}
			if err := pool.QueryRow(context.Background(), `INSERT INTO categories (name) VALUES ($1) RETURNING id`, "Cat "+role).Scan(&category); err != nil {
				t.Fatal(err)
			}
			perms := map[string]bool{}
			for _, p := range catalogRolePerms[role] {
				perms[p] = true
			}
			b.do("GET", "/admin/api-tokens", nil) // a fresh form token
			for _, route := range catalogRoutesForMatrix {
				path := strings.NewReplacer("{product}", fmt.Sprint(product), "{category}", fmt.Sprint(category)).Replace(route.path)
				var form url.Values
				if route.method == "POST" {
					form = url.Values{}
				}
				code, body, h := b.do(route.method, path, form)
				allowed := perms[route.perm]
				switch {
				case code == 303 && strings.HasSuffix(h.Get("Location"), "/admin/login"):
					t.Errorf("%s %s: sent to sign in", route.method, path)
				case allowed && (code == 403 || code >= 500):
					t.Errorf("%s %s: %d for a role with %s: %s", route.method, path, code, route.perm, body)
				case !allowed && (code != 403 || !strings.Contains(body, route.perm)):
					t.Errorf("%s %s: %d for a role without %s", route.method, path, code, route.perm)
				}
			}
			// Pages hide what the member may not do.
			if perms["catalog.read"] {
				_, body, _ := b.do("GET", "/admin/products", nil)
				if perms["catalog.write"] != strings.Contains(body, "New product") {
					t.Errorf("the New product button shows: %v, may write: %v", !perms["catalog.write"], perms["catalog.write"])
				}
				_, body, _ = b.do("GET", fmt.Sprintf("/admin/products/%d", product), nil)
				if perms["catalog.write"] == strings.Contains(body, "your role does not allow changing it") {
					t.Errorf("the product page does not say it is read-only")
				}
			}
		})
	}
}

func TestCatalogInventoryPages(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	id := newProduct(t, owner, productForm("INV-1", "Nails (box)", "3.00"))
	path := fmt.Sprintf("/admin/inventory/%d", id)
	owner.do("GET", path, nil)
	if code, _, _ := owner.do("POST", path+"/movements", url.Values{"kind": {"receipt"}, "quantity": {"5"}, "reason": {"delivery 4711"}}); code != 303 {
		t.Fatalf("receipt: %d", code)
	}
	// Selling more than there is: refused next to the quantity, nothing written.
	code, body, _ := owner.do("POST", path+"/movements", url.Values{"kind": {"sale"}, "quantity": {"6"}})
	if code != 409 || !strings.Contains(shownError(body, "quantity"), "Only 5 are available") {
		t.Fatalf("oversell: %d %q", code, shownError(body, "quantity"))
	}
	for _, bad := range []url.Values{
		{"kind": {"sale"}, "quantity": {"-1"}},
		{"kind": {"sale"}, "quantity": {"1.5"}},
		{"kind": {"adjustment"}, "quantity": {"-1"}}, // no reason
		{"kind": {"gift"}, "quantity": {"1"}},
	} {
		if code, _, _ := owner.do("POST", path+"/movements", bad); code != 422 {
			t.Errorf("%v: %d", bad, code)
		}
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM inventory_movements`); n != 1 {
		t.Fatalf("%d movements; refused ones must write nothing", n)
	}
	if code, _, _ := owner.do("POST", path+"/threshold", url.Values{"threshold": {"-3"}}); code != 422 {
		t.Fatalf("negative threshold: %d", code)
	}
	if code, _, _ := owner.do("POST", path+"/threshold", url.Values{"threshold": {"5"}}); code != 303 {
		t.Fatalf("threshold: %d", code)
	}
	code, body, _ = owner.do("GET", path, nil)
	if code != 200 || !strings.Contains(body, "low on stock") || !strings.Contains(body, "delivery 4711") || !strings.Contains(body, v.OwnerEmail) {
		t.Fatalf("stock page: %d %s", code, body)
	}
	if code, body, _ = owner.do("GET", "/admin/inventory?low=1", nil); code != 200 || !strings.Contains(body, "Nails (box)") {
		t.Fatalf("low-stock list: %d", code)
	}
	if code, _, _ = owner.do("POST", path+"/movements", url.Values{"kind": {"receipt"}, "quantity": {"10"}}); code != 303 {
		t.Fatalf("receipt: %d", code)
	}
	if _, body, _ = owner.do("GET", "/admin/inventory?low=1", nil); strings.Contains(body, "Nails (box)") {
		t.Fatal("a product with enough stock is listed as low")
	}
}

// apiShop is the tenant app's server, which has the vendor API
// (backoffice.APIRoutes) on each shop's router next to the back office and
// the media library.
func apiShop(t *testing.T, s *shopEnv) *httptest.Server {
	t.Helper()
	return s.srv
}

type apiClient struct {
	t     *testing.T
	srv   *httptest.Server
	host  string
	token string
}

// call sends a request (body: nil, a string sent as is, or a value sent
// as JSON) and decodes the JSON answer.
func (c apiClient) call(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.srv.URL+"/api/v1/vendor"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Host = c.host
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
		c.t.Errorf("%s %s: 401 without WWW-Authenticate", method, path)
	}
	return resp.StatusCode, out
}

var tokenSecret = regexp.MustCompile(`value="(sfstaff_[A-Za-z0-9_-]+)"`)

// makeToken makes an API token on the back office page and returns it.
func makeToken(t *testing.T, b *browser, name string) string {
	t.Helper()
	b.do("GET", "/admin/api-tokens", nil)
	code, body, _ := b.do("POST", "/admin/api-tokens", url.Values{"name": {name}, "expiry": {"30"}})
	m := tokenSecret.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("make token: %d %s", code, body)
	}
	return m[1]
}

func errMessage(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

func TestAPITokensPage(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	clerk, _ := catalogMember(t, s, v, "Order clerk")
	if code, body, _ := clerk.do("POST", "/admin/api-tokens", url.Values{"name": {""}, "expiry": {"30"}}); code != 422 || shownError(body, "name") == "" {
		t.Fatalf("nameless token: %d", code)
	}
	clerkToken := makeToken(t, clerk, "Clerk's script")
	ownerToken := makeToken(t, owner, "Inventory bot")
	var hash []byte
	_ = s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT token_hash FROM staff_tokens WHERE name = 'Inventory bot'`).Scan(&hash)
	if len(hash) != 32 || bytes.Contains(hash, []byte(ownerToken)) {
		t.Fatalf("the token is not stored as its SHA-256: %x", hash)
	}
	// The clerk sees their own token only; the owner (staff.manage) sees both.
	_, body, _ := clerk.do("GET", "/admin/api-tokens", nil)
	if !strings.Contains(body, "Clerk&#39;s script") || strings.Contains(body, "Inventory bot") || strings.Contains(body, clerkToken) {
		t.Fatalf("clerk's list: %s", body)
	}
	_, body, _ = owner.do("GET", "/admin/api-tokens", nil)
	if !strings.Contains(body, "Clerk&#39;s script") || !strings.Contains(body, "Inventory bot") {
		t.Fatalf("owner's list: %s", body)
	}
	var ownerTokenID, clerkTokenID int64
	_ = s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT id FROM staff_tokens WHERE name = 'Inventory bot'`).Scan(&ownerTokenID)
	_ = s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT id FROM staff_tokens WHERE name = 'Clerk''s script'`).Scan(&clerkTokenID)
	if code, _, _ := clerk.do("POST", fmt.Sprintf("/admin/api-tokens/%d/revoke", ownerTokenID), url.Values{}); code != 404 {
		t.Fatalf("the clerk revoked the owner's token: %d", code)
	}
	owner.do("GET", "/admin/api-tokens", nil)
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/api-tokens/%d/revoke", clerkTokenID), url.Values{}); code != 303 {
		t.Fatalf("the owner revokes the clerk's token: %d", code)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM audit_log WHERE action IN ('api_token.created', 'api_token.revoked')`); n != 3 {
		t.Fatalf("%d audit entries", n)
	}
}

func TestVendorAPIAuth(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	srv := apiShop(t, s)
	a, alice := catalogShop(t, s, "acme", "Acme Tools")
	bv, bob := catalogShop(t, s, "bravo", "Bravo Books")
	aToken := makeToken(t, alice, "acme sync")
	bToken := makeToken(t, bob, "bravo sync")
	newProduct(t, bob, productForm("BRAVO-1", "Bravo's secret book", "9"))

	acme := apiClient{t: t, srv: srv, host: "acme.localhost", token: aToken}
	if code, out := acme.call("GET", "/products", nil); code != 200 || out["products"] == nil {
		t.Fatalf("with a token: %d %v", code, out)
	}
	for name, c := range map[string]apiClient{
		"no token":          {t: t, srv: srv, host: "acme.localhost"},
		"not bearer":        {t: t, srv: srv, host: "acme.localhost", token: ""},
		"unknown token":     {t: t, srv: srv, host: "acme.localhost", token: "sfstaff_" + strings.Repeat("A", 43)},
		"not a staff token": {t: t, srv: srv, host: "acme.localhost", token: "hello"},
		// Acme's token on Bravo's host, and on Bravo's path on the shared host.
		"other vendor's host": {t: t, srv: srv, host: "bravo.localhost", token: aToken},
	} {
		code, out := c.call("GET", "/products", nil)
		if code != 401 || strings.Contains(fmt.Sprint(out), "Bravo") {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	// Basic authentication with the token as password is not accepted.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/vendor/products", nil)
	req.Host = "acme.localhost"
	req.SetBasicAuth("x", aToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("basic auth: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// A back-office session cookie is no API credential.
	req, _ = http.NewRequest("GET", srv.URL+"/api/v1/vendor/products", nil)
	req.Host = "acme.localhost"
	req.AddCookie(&http.Cookie{Name: "sf_staff", Value: alice.cookie})
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("session cookie: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// Bravo's own token works on Bravo's host, also on the shared host's path.
	bravo := apiClient{t: t, srv: srv, host: "localhost", token: bToken}
	req, _ = http.NewRequest("GET", srv.URL+"/vendor/bravo/api/v1/vendor/products", nil)
	req.Host = bravo.host
	req.Header.Set("Authorization", "Bearer "+bToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("bravo via path: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	req, _ = http.NewRequest("GET", srv.URL+"/vendor/bravo/api/v1/vendor/products", nil)
	req.Host = "localhost"
	req.Header.Set("Authorization", "Bearer "+aToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("acme's token on bravo's path: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// Revoked: 401 at once.
	var id int64
	_ = s.e.VendorPool(t, a).QueryRow(context.Background(), `SELECT id FROM staff_tokens WHERE purpose = 'api'`).Scan(&id)
	alice.do("GET", "/admin/api-tokens", nil)
	if code, _, _ := alice.do("POST", fmt.Sprintf("/admin/api-tokens/%d/revoke", id), url.Values{}); code != 303 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _ := acme.call("GET", "/products", nil); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
	// Expired: 401.
	acme.token = makeToken(t, alice, "short-lived")
	if _, err := s.e.VendorPool(t, a).Exec(context.Background(), `UPDATE staff_tokens SET expires_at = now() - interval '1 second' WHERE name = 'short-lived'`); err != nil {
		t.Fatal(err)
	}
	if code, _ := acme.call("GET", "/products", nil); code != 401 {
		t.Fatalf("expired token: %d", code)
	}
	// A disabled member's token stops working; the token acts with the
	// member's permissions: an order clerk reads but does not write.
	clerk, clerkID := catalogMember(t, s, a, "Order clerk")
	c := apiClient{t: t, srv: srv, host: "acme.localhost", token: makeToken(t, clerk, "clerk")}
	if code, _ := c.call("GET", "/products", nil); code != 200 {
		t.Fatalf("clerk reads: %d", code)
	}
	code, out := c.call("POST", "/products", map[string]any{"sku": "X-1", "title": "X", "price_minor": 100, "currency": "EUR"})
	if code != 403 || !strings.Contains(errMessage(out), "catalog.write") {
		t.Fatalf("clerk writes: %d %v", code, out)
	}
	if _, err := s.e.VendorPool(t, a).Exec(context.Background(), `UPDATE staff SET status = 'disabled' WHERE id = $1`, clerkID); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.call("GET", "/products", nil); code != 401 {
		t.Fatalf("disabled member's token: %d", code)
	}
	_ = bv
}

func TestVendorAPIProducts(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	srv := apiShop(t, s)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	api := apiClient{t: t, srv: srv, host: "acme.localhost", token: makeToken(t, owner, "tests")}

	code, out := api.call("POST", "/products", map[string]any{"sku": "API-1", "title": "Saw", "price_minor": 2490,
		"sale_price_minor": 1990, "currency": "EUR", "gtin": "4006381333931", "state": "active"})
	if code != 201 || out["handle"] != "api-1" || out["price_minor"] != 2490.0 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := int64(out["id"].(float64))
	// Invalid input: 422 naming each field; nothing written.
	code, out = api.call("POST", "/products", map[string]any{"sku": "API-1", "title": "", "price_minor": -5,
		"sale_price_minor": 10, "currency": "eur", "gtin": "123"})
	fields, _ := out["error"].(map[string]any)["fields"].(map[string]any)
	if code != 422 || fields["title"] == nil || fields["price_minor"] == nil || fields["currency"] == nil || fields["gtin"] == nil {
		t.Fatalf("invalid: %d %v", code, out)
	}
	code, out = api.call("POST", "/products", map[string]any{"sku": "API-1", "title": "Again", "price_minor": 100, "currency": "EUR"})
	if code != 422 || out["error"].(map[string]any)["field"] != "sku" {
		t.Fatalf("duplicate SKU: %d %v", code, out)
	}
	if code, _ = api.call("POST", "/products", map[string]any{"title": "No SKU"}); code != 422 {
		t.Fatalf("missing properties: %d", code)
	}
	for name, body := range map[string]string{
		"float price":      `{"sku":"F-1","title":"F","price_minor":12.9,"currency":"EUR"}`,
		"exponent price":   `{"sku":"F-1","title":"F","price_minor":1e3,"currency":"EUR"}`,
		"string price":     `{"sku":"F-1","title":"F","price_minor":"12.90","currency":"EUR"}`,
		"unknown property": `{"sku":"F-1","title":"F","price_minor":1,"currency":"EUR","price":1}`,
		"not JSON":         `sku=F-1`,
	} {
		if code, _ := api.call("POST", "/products", body); code != 400 {
			t.Errorf("%s: %d", name, code)
		}
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM products`); n != 1 {
		t.Fatalf("%d products", n)
	}
	// Get, patch (null clears), list with filters.
	if code, out = api.call("GET", fmt.Sprintf("/products/%d", id), nil); code != 200 || out["gtin"] != "4006381333931" {
		t.Fatalf("get: %d %v", code, out)
	}
	code, out = api.call("PATCH", fmt.Sprintf("/products/%d", id), map[string]any{"sale_price_minor": nil, "title": "Hand saw"})
	if code != 200 || out["sale_price_minor"] != nil || out["title"] != "Hand saw" || out["price_minor"] != 2490.0 {
		t.Fatalf("patch: %d %v", code, out)
	}
	if code, out = api.call("PATCH", fmt.Sprintf("/products/%d", id), map[string]any{"sale_price_minor": 5000}); code != 422 {
		t.Fatalf("sale above price: %d %v", code, out)
	}
	if code, _ = api.call("PATCH", fmt.Sprintf("/products/%d", id), map[string]any{"sku": nil}); code != 422 {
		t.Fatalf("null SKU: %d", code)
	}
	for i := range 5 {
		api.call("POST", "/products", map[string]any{"sku": fmt.Sprint("L-", i), "title": fmt.Sprint("Lot ", i),
			"price_minor": 1000 * (i + 1), "currency": "EUR", "state": []string{"draft", "active"}[i%2]})
	}
	code, out = api.call("GET", "/products?state=active&min_price_minor=1500&max_price_minor=5000&sort=-price&page_size=1", nil)
	list, _ := out["products"].([]any)
	if code != 200 || len(list) != 1 || list[0].(map[string]any)["sku"] != "L-3" || out["next_page"] != 2.0 {
		t.Fatalf("list: %d %v", code, out)
	}
	if code, _ = api.call("GET", "/products?page_size=1000", nil); code != 422 {
		t.Fatalf("page size: %d", code)
	}
	if code, _ = api.call("GET", "/products?sort=evil", nil); code != 422 {
		t.Fatalf("sort: %d", code)
	}
	// Movements; delete refuses a product with history.
	code, out = api.call("POST", fmt.Sprintf("/products/%d/movements", id), map[string]any{"kind": "receipt", "quantity": 4, "reason": "delivery"})
	if code != 201 || out["stock"].(map[string]any)["available"] != 4.0 {
		t.Fatalf("receipt: %d %v", code, out)
	}
	code, out = api.call("POST", fmt.Sprintf("/products/%d/movements", id), map[string]any{"kind": "sale", "quantity": 5})
	if code != 409 || out["error"].(map[string]any)["stock"].(map[string]any)["available"] != 4.0 {
		t.Fatalf("oversell: %d %v", code, out)
	}
	if code, out = api.call("GET", fmt.Sprintf("/products/%d/movements", id), nil); code != 200 || len(out["movements"].([]any)) != 1 {
		t.Fatalf("movements: %d %v", code, out)
	}
	if code, _ = api.call("DELETE", fmt.Sprintf("/products/%d", id), nil); code != 409 {
		t.Fatalf("delete with history: %d", code)
	}
	var other int64
	_ = s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT id FROM products WHERE sku = 'L-0'`).Scan(&other)
	if code, _ = api.call("DELETE", fmt.Sprintf("/products/%d", other), nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ = api.call("GET", fmt.Sprintf("/products/%d", other), nil); code != 404 {
		t.Fatalf("deleted: %d", code)
	}
	// The audit log names the token.
	if n := vendorCount(t, s, v, `SELECT count(*) FROM audit_log WHERE action = 'product.created' AND actor LIKE '%(API token %'`); n != 6 {
		t.Fatalf("%d audited API creations", n)
	}
}

func TestVendorAPIConcurrentStock(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	srv := apiShop(t, s)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	api := apiClient{t: t, srv: srv, host: "acme.localhost", token: makeToken(t, owner, "checkout")}
	_, out := api.call("POST", "/products", map[string]any{"sku": "HOT-1", "title": "Hot item", "price_minor": 100, "currency": "EUR", "state": "active"})
	id := int64(out["id"].(float64))
	if code, _ := api.call("POST", fmt.Sprintf("/products/%d/movements", id), map[string]any{"kind": "receipt", "quantity": 10}); code != 201 {
		t.Fatal("receipt")
	}
	const n = 50
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = api.call("POST", fmt.Sprintf("/products/%d/movements", id), map[string]any{"kind": "sale", "quantity": 1, "reference": fmt.Sprint("order-", i)})
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[201] != 10 || count[409] != 40 {
		t.Fatalf("status counts %v; want 10 × 201 and 40 × 409", count)
	}
	if n := vendorCount(t, s, v, `SELECT stock_on_hand FROM products WHERE id = $1`, id); n != 0 {
		t.Fatalf("stock %d", n)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM inventory_movements WHERE kind = 'sale' AND on_hand_after >= 0`); n != 10 {
		t.Fatalf("%d sales in the ledger", n)
	}
}

// The OpenAPI document and the routes agree: every route is documented,
// every documented operation is served, and each needs the permission the
// document names.
func TestVendorAPIMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	srv := apiShop(t, s)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	if _, err := s.e.VendorPool(t, v).Exec(context.Background(), `INSERT INTO staff_roles (name, permissions) VALUES ('Nothing', '{}')`); err != nil {
		t.Fatal(err)
	}
	nobody, _ := catalogMember(t, s, v, "Nothing")
	full := apiClient{t: t, srv: srv, host: "acme.localhost", token: makeToken(t, owner, "all")}
	none := apiClient{t: t, srv: srv, host: "acme.localhost", token: makeToken(t, nobody, "none")}

	code, doc := apiClient{t: t, srv: srv, host: "acme.localhost"}.call("GET", "/openapi.json", nil)
	if code != 200 || doc["openapi"] != "3.1.0" {
		t.Fatalf("document: %d %v", code, doc["openapi"])
	}
	documented := map[string]string{} // "METHOD /path" -> permission
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			perm, _ := op.(map[string]any)["x-permission"].(string)
			documented[strings.ToUpper(method)+" "+path] = perm
		}
	}
	served := map[string]bool{}
	r := mux.NewRouter()
	backoffice.New(backoffice.Options{Responder: &web.Responder{}, Logger: logging.New(io.Discard, "text", "error")}).APIRoutes(r)
	param := regexp.MustCompile(`\{(\w+):[^}]*\}`)
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err1 := route.GetPathTemplate()
		methods, err2 := route.GetMethods()
		if err1 != nil || err2 != nil {
			return nil // a subrouter's prefix
		}
		for _, m := range methods {
			served[m+" "+strings.TrimPrefix(param.ReplaceAllString(tpl, "{$1}"), "/api/v1/vendor")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for op := range served {
		if _, ok := documented[op]; !ok {
			t.Errorf("%s is served but not in the OpenAPI document", op)
		}
	}
	_, out := full.call("POST", "/products", map[string]any{"sku": "DOC-1", "title": "Doc", "price_minor": 100, "currency": "EUR"})
	id := fmt.Sprint(out["id"])
	mediaID := fmt.Sprint(apiUploaded(full, "doc.png", testPNG(t, 8, 8)))
	// A marketplace import, staged item and publish of the shop, for the
	// paths that name one.
	ids := map[string]string{"/media/": mediaID}
	for prefix, sql := range map[string]string{
		"/imports/":   `INSERT INTO imports (source, source_url, state) VALUES ('url', 'https://feeds.example/f.tsv', 'finished') RETURNING id`,
		"/staging/":   `INSERT INTO marketplace_products (external_id, title, content_hash) VALUES ('DOC-1', 'Doc', sha256('doc')) RETURNING id`,
		"/publishes/": `INSERT INTO publishes (state, finished_at) VALUES ('finished', now()) RETURNING id`,
		"/customers/": `INSERT INTO customers (email, password_hash) VALUES ('doc@example.com', 'x') RETURNING id`,
		"/orders/": `INSERT INTO orders (checkout_key, access_token, email, reserved_until, currency, subtotal_minor, shipping_minor,
			tax_minor, total_minor, tax_rate_bp, prices_include_tax, shipping_method_name, shipping_address)
			VALUES ('doc-checkout-key-0001', 'doc-access-token-000000001', 'doc@example.com', now(), 'EUR', 100, 0, 0, 100, 0, true,
			'Standard delivery', '{}') RETURNING id`,
	} {
		var n int64
		if err := s.e.VendorPool(t, v).QueryRow(context.Background(), sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		ids[prefix] = fmt.Sprint(n)
	}
	for op, perm := range documented {
		if !served[op] {
			t.Errorf("%s is in the OpenAPI document but not served", op)
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		for prefix, n := range ids {
			if strings.HasPrefix(path, prefix) {
				path = strings.ReplaceAll(path, "{id}", n)
			}
		}
		path = strings.ReplaceAll(path, "{id}", id)
		if perm == "" {
			continue
		}
		code, out := none.call(method, path, nil)
		if code != 403 || !strings.Contains(errMessage(out), perm) {
			t.Errorf("%s without %s: %d %v", op, perm, code, out)
		}
		if method == "GET" {
			if code, out := full.call(method, path, nil); code != 200 {
				t.Errorf("%s with every permission: %d %v", op, code, out)
			}
		}
	}
}
