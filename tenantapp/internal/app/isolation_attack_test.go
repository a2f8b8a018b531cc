package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/testenv/attack"
	"github.com/storefleet/storefleet/internal/viewas"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
	"github.com/storefleet/storefleet/tenantapp/internal/backoffice"
	tmedia "github.com/storefleet/storefleet/tenantapp/internal/media"
)

// The isolation attack suite (issue 9, docs/security.md): three shops whose
// data collides on purpose (the same product, customer, staff, order,
// address, media and category ids, the same SKUs and handles, the same
// customer and staff e-mail addresses), and every way one shop's staff or
// shopper could reach another's data, walked over the shop router's own
// routes. Every attempt must be refused as the code refuses it and write
// nothing in any shop's database or bucket; the ledger
// (internal/testenv/attack) counts them.

// isoShop is one of the suite's shops.
type isoShop struct {
	*ordersShop
	slug, host string
	pub, priv  string // markers in its public catalog and in its private data
	// word is a word in the descriptions of its products only, unlike any
	// word of the other shops (so that no typo correction reaches it).
	word       string
	customers  [2]*acctClient
	cart       *acctClient // customer 1's session with a line in its cart
	clerk      *browser    // a member with the e-mail address every shop's clerk has
	clerkToken string
	orderToken map[int64]string // order id → the secret of its status link
	mediaSum   map[int64][32]byte
	mediaETag  map[int64]string
}

// isoWords are the shops' own search words (isoShop.word), by shop.
var isoWords = []string{"Aardvarkium", "Bumblezephyr", "Chrysoprasic"}

const (
	isoSharedCustomer = "casey@shared.example"
	isoOtherCustomer  = "olly@shared.example"
	isoSharedClerk    = "clerk@shared.example"
	isoPassword       = "a good long password"
)

// newIsoShop makes a shop exactly as the others (so that ids collide),
// with its markers in every name a leak would show.
func newIsoShop(t *testing.T, s *shopEnv, n int, slug, name string) *isoShop {
	t.Helper()
	ctx := context.Background()
	sh := &isoShop{ordersShop: newOrdersShop(t, s, slug, name), slug: slug, host: slug + ".localhost",
		pub: "Pub" + slug + "mark", priv: "Priv" + slug + "mark", word: isoWords[n], orderToken: map[int64]string{},
		mediaSum: map[int64][32]byte{}, mediaETag: map[int64]string{}}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := sh.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %s: %v", slug, sql, err)
		}
	}
	exec(`UPDATE products SET title = title || ' ' || $1, description = 'Made by ' || $1 || ' of ' || $2`, sh.pub, sh.word)
	// Legal pages (isoLegal): every shop has an imprint, the first two
	// terms too, none a privacy policy.
	terms := ""
	if n < 2 {
		terms = "Terms of " + sh.pub
	}
	exec(`UPDATE shop_profile SET display_name = $1, imprint = $2, terms = $3, privacy = ''`, name+" "+sh.pub, "Imprint of "+sh.pub, terms)
	exec(`INSERT INTO categories (name) VALUES ($1)`, "Tools "+sh.pub)
	exec(`INSERT INTO product_categories (product_id, category_id) VALUES (1, 1)`)
	hash, err := auth.Hash(isoPassword)
	if err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO customers (email, name, password_hash) VALUES ($1, $2, $4), ($3, $5, $4)`,
		isoSharedCustomer, "Casey "+sh.priv, isoOtherCustomer, hash, "Olly "+sh.priv)
	exec(`INSERT INTO staff (email, name, password_hash, role_id, status)
		VALUES ($1, $2, $3, (SELECT id FROM staff_roles WHERE name = 'Order clerk'), 'active')`, isoSharedClerk, "Clerk "+sh.priv, hash)
	for i, email := range []string{isoSharedCustomer, isoOtherCustomer} {
		c := newAcctClient(t, s, sh.v)
		if code := c.login(email, isoPassword); code != 303 {
			t.Fatalf("%s: customer %s signs in: %d", slug, email, code)
		}
		if code, body, _ := c.post("/account/addresses", acctAddress(fmt.Sprintf("Addressee %d %s", i+1, sh.priv), "Luxembourg")); code != 303 {
			t.Fatalf("%s: add an address: %d %s", slug, code, body)
		}
		sh.customers[i] = c
		sh.order(testOrder{Email: email, Customer: int64(i + 1), Name: "Ordered by " + sh.priv})
	}
	sh.clerk = &browser{t: t, s: s, host: sh.host}
	if code := sh.clerk.login(isoSharedClerk, isoPassword); code != 303 {
		t.Fatalf("%s: the clerk signs in: %d", slug, code)
	}
	sh.clerkToken = makeToken(t, sh.clerk, "clerk "+sh.priv)
	sh.owner.do("GET", "/admin/", nil) // a fresh form token
	// Two images of its own in its bucket, as media 1 and 2.
	objects, err := s.e.Objects.VendorClient(sh.v.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		w, h := 10+3*n+i, 7+i // every shop's images differ
		img := testPNG(t, w, h)
		key := fmt.Sprintf("media/2026/%s%016d.png", slug, i)
		if _, err := objects.PutObject(ctx, sh.v.Bucket, key, bytes.NewReader(img), int64(len(img)), minio.PutObjectOptions{ContentType: "image/png"}); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(img)
		var id int64
		if err := sh.pool.QueryRow(ctx, `INSERT INTO media (object_key, original_name, content_type, size_bytes, width, height, sha256, thumbs_state)
			VALUES ($1, $2, 'image/png', $3, $4, $5, $6, 'ready') RETURNING id`, key, "photo "+sh.priv+".png", len(img), w, h, sum[:]).Scan(&id); err != nil {
			t.Fatal(err)
		}
		sh.mediaSum[id] = sum
	}
	return sh
}

// isoReq is one request of the suite, with the credentials it carries.
type isoReq struct {
	method, host, path string
	staff, shop, token string // cookies and bearer token
	form               url.Values
	json               string
	headers            []string
}

type isoResp struct {
	code   int
	body   string
	header http.Header
}

func (r isoResp) String() string {
	body := r.body
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("%d %s %q", r.code, r.header.Get("Location"), body)
}

func isoDo(t *testing.T, srv *httptest.Server, q isoReq) isoResp {
	t.Helper()
	var body io.Reader
	ctype := ""
	switch {
	case q.form != nil:
		body, ctype = strings.NewReader(q.form.Encode()), "application/x-www-form-urlencoded"
	case q.json != "":
		body, ctype = strings.NewReader(q.json), "application/json"
	}
	req, err := http.NewRequest(q.method, srv.URL+q.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = q.host
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if q.method != http.MethodGet && q.method != http.MethodHead {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if q.staff != "" {
		req.AddCookie(&http.Cookie{Name: "sf_staff", Value: q.staff})
	}
	if q.shop != "" {
		req.AddCookie(&http.Cookie{Name: "sf_shop", Value: q.shop})
	}
	if q.token != "" {
		req.Header.Set("Authorization", "Bearer "+q.token)
	}
	for i := 0; i+1 < len(q.headers); i += 2 {
		req.Header.Set(q.headers[i], q.headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return isoResp{code: resp.StatusCode, body: string(raw), header: resp.Header}
}

// leaked says which of the shops' markers an answer shows that it must
// not: the private markers of every shop, and the public markers of every
// shop but own (nil: none may show).
func leaked(r isoResp, own *isoShop, shops []*isoShop) error {
	text := r.body + " " + r.header.Get("Location")
	var found []string
	for _, sh := range shops {
		if strings.Contains(text, sh.priv) {
			found = append(found, sh.priv)
		}
		if sh != own && strings.Contains(text, sh.pub) {
			found = append(found, sh.pub)
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("the answer shows %s: %s", strings.Join(found, ", "), r)
	}
	return nil
}

// shopRoute is one route of the shop router.
type shopRoute struct{ method, path string }

// shopRoutes walks the tenant app's shop router: every route of every
// vendor's shop, with its methods.
func shopRoutes(t *testing.T, a *app.App) []shopRoute {
	t.Helper()
	var out []shopRoute
	err := a.ShopRouter().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		if route.GetHandler() == nil {
			return nil
		}
		path, err := route.GetPathTemplate()
		if err != nil {
			return nil //nolint:nilerr // a route without a path (a matcher) has nothing to walk
		}
		methods, _ := route.GetMethods()
		for _, m := range methods {
			if m == http.MethodHead {
				continue
			}
			out = append(out, shopRoute{m, path})
		}
		if len(methods) == 0 {
			out = append(out, shopRoute{http.MethodGet, path})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// collidingID is the id every shop has for what a route's path names:
// order numbers start at 1001, everything else at 1.
func collidingID(path string) string {
	if strings.Contains(path, "/orders/") {
		return "1001"
	}
	return "1"
}

// fill puts values in a route's variables ({name} or {name:pattern},
// whose pattern may hold braces itself): ids, and strings for the rest.
func fill(path, id, other string) string {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] != '{' {
			b.WriteByte(path[i])
			continue
		}
		depth, j := 0, i
		for ; j < len(path); j++ {
			if path[j] == '{' {
				depth++
			} else if path[j] == '}' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		name, _, _ := strings.Cut(path[i+1:j], ":")
		switch name {
		case "host", "token", "handle", "doc":
			b.WriteString(other)
		case "kind":
			b.WriteString("order_confirmation")
		case "size":
			b.WriteString("original")
		default:
			b.WriteString(id)
		}
		i = j
	}
	return b.String()
}

// openAdmin are the back-office and vendor API routes anyone may open
// (the sign-in pages and signed links, attacked on their own below).
func openAdmin(path string) bool {
	for _, p := range []string{"/admin/login", "/admin/invite/", "/admin/password/", "/admin/impersonate", "/api/v1/vendor/openapi.json"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return path == "/admin"
}

// openAccount are the account routes anyone may open.
func openAccount(path string) bool {
	rest := strings.TrimPrefix(strings.TrimPrefix(path, "/api/v1/shop"), "/account")
	for _, p := range []string{"/login", "/logout", "/register", "/password/"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

func TestIsolationAttackSuite(t *testing.T) {
	t.Parallel()
	// Rate limits off: every attempt must meet the refusal of the code it
	// attacks, not a 429.
	s := newShopEnvWith(t, func(cfg *config.Config) { cfg.RateLimits = "login=off,checkout=off,search=off,api=off" })
	ctx := context.Background()
	alpha := newIsoShop(t, s, 0, "alpha", "Alpha Tools")
	bravo := newIsoShop(t, s, 1, "bravo", "Bravo Books")
	charlie := newIsoShop(t, s, 2, "charlie", "Charlie Cheese")
	shops := []*isoShop{alpha, bravo, charlie}

	// Bravo holds one more of everything: ids that exist in Bravo only.
	bravoOnly := map[string]int64{}
	bravoOnly["product"] = func() int64 {
		var id int64
		if err := bravo.pool.QueryRow(ctx, `INSERT INTO products (sku, title, handle, price_minor, state, stock_on_hand)
			VALUES ('SKU-ONLY', 'Only ' || $1, 'bravo-only', 999, 'active', 5) RETURNING id`, bravo.pub).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}()
	bravoOnly["order"] = bravo.order(testOrder{Email: isoSharedCustomer, Customer: 1, Name: "Ordered by " + bravo.priv})
	if code, _, _ := bravo.customers[0].post("/account/addresses", acctAddress("Second "+bravo.priv, "Esch")); code != 303 {
		t.Fatalf("bravo: second address: %d", code)
	}
	bravoOnly["address"] = 3
	bravoOnly["category"] = func() int64 {
		var id int64
		if err := bravo.pool.QueryRow(ctx, `INSERT INTO categories (name) VALUES ('Only ' || $1) RETURNING id`, bravo.pub).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}()
	var onlyMedia int64
	if err := bravo.pool.QueryRow(ctx, `INSERT INTO media (object_key, original_name, content_type, size_bytes, width, height, sha256, thumbs_state)
		SELECT 'media/2026/bravoonly00000000.png', original_name, content_type, size_bytes, width, height, sha256, 'ready'
		FROM media WHERE id = 1 RETURNING id`).Scan(&onlyMedia); err != nil {
		t.Fatal(err)
	}
	bravoOnly["media"] = onlyMedia

	// The collisions the suite relies on.
	for _, sh := range shops {
		for _, c := range []struct {
			what, sql string
			want      string
		}{
			{"products", `SELECT string_agg(id || ':' || sku || ':' || handle, ',' ORDER BY id) FROM products WHERE id <= 3`, "1:SKU-0:product-0,2:SKU-1:product-1,3:SKU-2:product-2"},
			{"customers", `SELECT string_agg(id || ':' || email, ',' ORDER BY id) FROM customers`, "1:" + isoSharedCustomer + ",2:" + isoOtherCustomer},
			{"staff", `SELECT string_agg(id || ':' || email, ',' ORDER BY id) FROM staff WHERE id = 2`, "2:" + isoSharedClerk},
			{"orders", `SELECT string_agg(id || ':' || customer_id, ',' ORDER BY id) FROM orders WHERE id <= 1002`, "1001:1,1002:2"},
			{"addresses", `SELECT string_agg(id || ':' || customer_id, ',' ORDER BY id) FROM customer_addresses WHERE id <= 2`, "1:1,2:2"},
			{"media", `SELECT string_agg(id::text, ',' ORDER BY id) FROM media WHERE id <= 2`, "1,2"},
			{"categories", `SELECT string_agg(id::text, ',' ORDER BY id) FROM categories WHERE id = 1`, "1"},
		} {
			var got string
			if err := sh.pool.QueryRow(ctx, c.sql).Scan(&got); err != nil || got != c.want {
				t.Fatalf("%s: %s do not collide as the suite needs: %q (%v), want %q", sh.slug, c.what, got, err, c.want)
			}
		}
		rows, err := sh.pool.Query(ctx, `SELECT id, access_token FROM orders`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			var tok string
			if err := rows.Scan(&id, &tok); err != nil {
				t.Fatal(err)
			}
			sh.orderToken[id] = tok
		}
		rows.Close()
	}
	// Customer 1 of Alpha has a line in their cart.
	alpha.cart = alpha.customers[0]
	if code, body, _ := alpha.cart.post("/cart/lines", url.Values{"product_id": {"1"}, "quantity": {"2"}}); code != 303 {
		t.Fatalf("alpha: add to cart: %d %s", code, body)
	}
	// Media ETags, as each shop serves them.
	for _, sh := range shops {
		for id := range sh.mediaSum {
			r := isoDo(t, s.srv, isoReq{method: "GET", host: sh.host, path: fmt.Sprintf("/media/%d/original", id)})
			if r.code != 200 || sha256.Sum256([]byte(r.body)) != sh.mediaSum[id] {
				t.Fatalf("%s: media %d: %d", sh.slug, id, r.code)
			}
			sh.mediaETag[id] = r.header.Get("ETag")
		}
	}
	// Signed links, made before the stores are watched.
	links := isoLinks(t, s, shops)

	l := attack.New(t, "tenantapp")
	l.AtLeast(800)
	for _, sh := range shops {
		objects, err := s.e.Objects.VendorClient(sh.v.Bucket)
		if err != nil {
			t.Fatal(err)
		}
		l.Watch(attack.Database("database of "+sh.slug, sh.pool), attack.Bucket("bucket of "+sh.slug, objects, sh.v.Bucket))
	}
	routes := shopRoutes(t, s.a)
	pairs := [][2]*isoShop{{alpha, bravo}, {bravo, alpha}, {alpha, charlie}, {charlie, alpha}, {bravo, charlie}, {charlie, bravo}}

	// Every route of the shop router is put in one of the walks below; a
	// new route with a variable must be given one.
	classified := map[string]string{}
	for _, r := range routes {
		key := r.method + " " + r.path
		switch {
		case strings.HasPrefix(r.path, "/admin") || strings.HasPrefix(r.path, "/api/v1/vendor/"):
			classified[key] = "staff"
		case strings.HasPrefix(r.path, "/account") || strings.HasPrefix(r.path, "/api/v1/shop/account"):
			classified[key] = "account"
		case strings.HasPrefix(r.path, "/orders/") || strings.HasPrefix(r.path, "/api/v1/shop/orders/"):
			classified[key] = "order link"
		case strings.Contains(r.path, "/cart") || strings.Contains(r.path, "/checkout"):
			classified[key] = "cart"
		case strings.HasPrefix(r.path, "/media/"):
			classified[key] = "media"
		case !strings.Contains(r.path, "{") || strings.HasPrefix(r.path, "/products/") || strings.HasPrefix(r.path, "/categories/") ||
			strings.HasPrefix(r.path, "/api/v1/shop/products/") || strings.HasPrefix(r.path, "/legal/"):
			classified[key] = "catalog"
		default:
			t.Errorf("route %s takes a variable the isolation suite does not attack: give it a walk in isolation_attack_test.go", key)
		}
	}

	t.Run("unknown and forged hosts", func(t *testing.T) { isoHosts(t, s, l, shops, routes) })
	t.Run("staff sessions on another shop", func(t *testing.T) { isoStaffSessions(t, s, l, shops, pairs, routes, bravoOnly) })
	t.Run("API tokens on another shop", func(t *testing.T) { isoTokens(t, s, l, shops, pairs, routes, bravoOnly) })
	t.Run("shopper sessions on another shop", func(t *testing.T) { isoShopperSessions(t, s, l, shops, pairs, routes) })
	t.Run("other customers' ids", func(t *testing.T) { isoCustomerIDs(t, s, l, shops, routes, bravoOnly) })
	t.Run("order status links", func(t *testing.T) { isoOrderLinks(t, s, l, shops, pairs, routes) })
	t.Run("catalog, search and cache", func(t *testing.T) { isoCatalog(t, s, l, shops, routes, bravoOnly) })
	t.Run("search results and the search cache", func(t *testing.T) { isoSearch(t, s, l, shops, pairs) })
	t.Run("redis keys of the catalog and sessions carry the shop", func(t *testing.T) {
		isoRedisKeys(t, s, l, shops, "after the catalog and search", isoTieToken, isoTieVendorID, isoTieMarkers, isoTieSearch)
	})
	t.Run("media links", func(t *testing.T) { isoMedia(t, s, l, shops, pairs, bravoOnly) })
	t.Run("signed links", func(t *testing.T) { isoSignedLinks(t, s, l, shops, pairs, links) })
	t.Run("redis keys carry the shop", func(t *testing.T) { isoRedisKeys(t, s, l, shops, "at the end", isoTieToken, isoTieVendorID) })
	t.Run("e-mail links", func(t *testing.T) { isoMailLinks(t, s, l, shops) })
}

// isoHosts: unknown hosts answer 404 without opening any shop's pool (on a
// fresh tenant app of the same platform); forged forwarding headers never
// switch the shop.
func isoHosts(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, routes []shopRoute) {
	cfg := *s.e.Cfg
	cfg.RateLimits = "login=off,checkout=off,search=off,api=off"
	fresh, err := app.New(context.Background(), &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	srv := httptest.NewServer(fresh.Handler())
	defer srv.Close()
	alpha := shops[0]
	unknown := []string{"nobody.localhost", "alpha.localhost.evil.example", "evil.example", "alpha-localhost",
		"localhost", "xn--alpha.localhost", "bravo.localhost.evil.example:8080", "alpha.localhos"}
	l.Quietly("unknown hosts", func() {
		for _, host := range unknown {
			for _, r := range []shopRoute{{"GET", "/"}, {"GET", "/admin/"}, {"GET", "/account"}, {"GET", "/api/v1/shop/products"},
				{"GET", "/media/1/original"}, {"GET", "/cart"}, {"POST", "/admin/login"}, {"GET", "/api/v1/vendor/products"}} {
				l.Try("host", fmt.Sprintf("%s %s on %s", r.method, r.path, host), func() error {
					resp := isoDo(t, srv, isoReq{method: r.method, host: host, path: r.path, staff: alpha.owner.cookie, token: alpha.api.token,
						form: url.Values{"email": {alpha.v.OwnerEmail}, "password": {"correct horse battery"}}})
					if resp.code != 404 {
						return fmt.Errorf("status %s, want 404", resp)
					}
					return leaked(resp, nil, shops)
				})
			}
		}
	})
	if st := fresh.Pools().Stats(); st.OpenPools != 0 {
		t.Errorf("unknown hosts opened vendor pools: %+v", st)
	}
	forged := [][]string{
		{"X-Forwarded-Host", "bravo.localhost"},
		{"Forwarded", "host=bravo.localhost;proto=https"},
		{"X-Forwarded-Server", "bravo.localhost"},
		{"X-Original-Host", "bravo.localhost"},
		{"X-Host", "bravo.localhost"},
		{"X-Forwarded-Host", "bravo.localhost, alpha.localhost"},
		{"X-Original-URL", "/vendor/bravo/"},
		{"X-Rewrite-URL", "/vendor/bravo/admin/"},
	}
	l.Quietly("forged forwarding headers", func() {
		for _, h := range forged {
			for _, path := range []string{"/", "/products/product-0", "/api/v1/shop/products/product-0", "/admin/orders/1001", "/account/orders/1001"} {
				l.Try("host", fmt.Sprintf("%s: %s on alpha's host, %s", h[0], h[1], path), func() error {
					resp := isoDo(t, s.srv, isoReq{method: "GET", host: alpha.host, path: path, headers: h,
						staff: alpha.owner.cookie, shop: alpha.customers[0].cookie})
					if resp.code != 200 {
						return fmt.Errorf("alpha's own page with a forged header: %s", resp)
					}
					if !strings.Contains(resp.body, alpha.pub) && !strings.Contains(resp.body, alpha.priv) {
						return fmt.Errorf("not alpha's page: %s", resp)
					}
					return leakedExcept(resp, alpha, shops)
				})
				l.Try("host", fmt.Sprintf("%s: %s on an unknown host, %s", h[0], h[1], path), func() error {
					resp := isoDo(t, s.srv, isoReq{method: "GET", host: "nobody.localhost", path: path, headers: h})
					if resp.code != 404 {
						return fmt.Errorf("status %s, want 404", resp)
					}
					return leaked(resp, nil, shops)
				})
			}
		}
		// On the shared host, the path names the shop; a path naming another
		// shop inside a shop's own host is just a page that does not exist.
		for _, sh := range shops {
			l.Try("host", "another shop's path on "+sh.slug+"'s host", func() error {
				resp := isoDo(t, s.srv, isoReq{method: "GET", host: sh.host, path: "/vendor/bravo/products/product-0"})
				if resp.code != 404 {
					return fmt.Errorf("status %s, want 404", resp)
				}
				return leakedExcept(resp, sh, shops)
			})
		}
	})
}

// leakedExcept is leaked, allowing own's private markers (a shop's own
// staff and customers see their own data).
func leakedExcept(r isoResp, own *isoShop, shops []*isoShop) error {
	var others []*isoShop
	for _, sh := range shops {
		if sh != own {
			others = append(others, sh)
		}
	}
	if err := leaked(r, own, others); err != nil {
		return err
	}
	for _, sh := range others {
		if strings.Contains(r.body, sh.pub) {
			return fmt.Errorf("the answer shows %s: %s", sh.pub, r)
		}
	}
	return nil
}

// isoStaffSessions carries each shop's owner and clerk session cookies to
// the other shops and walks every back-office route that needs a member.
func isoStaffSessions(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, pairs [][2]*isoShop, routes []shopRoute, only map[string]int64) {
	table, err := backoffice.New(backoffice.Options{}).RouteTable()
	if err != nil {
		t.Fatal(err)
	}
	var admin []shopRoute
	for _, r := range table {
		if strings.HasPrefix(r.Path, "/admin") && !openAdmin(r.Path) {
			admin = append(admin, shopRoute{r.Method, r.Path})
		}
	}
	if len(admin) < 60 {
		t.Fatalf("only %d back-office routes", len(admin))
	}
	for _, p := range pairs {
		from, to := p[0], p[1]
		l.Quietly("staff sessions of "+from.slug+" on "+to.slug, func() {
			for _, cred := range []struct {
				who    string
				cookie string
				csrf   string
			}{{"owner", from.owner.cookie, from.owner.csrf}, {"clerk", from.clerk.cookie, from.clerk.csrf}} {
				for _, r := range admin {
					ids := []string{collidingID(r.path)}
					if to.slug == "bravo" && strings.Contains(r.path, "{id") {
						ids = append(ids, strconv.FormatInt(only["order"], 10))
					}
					for _, id := range ids {
						path := fill(r.path, id, to.host)
						for _, base := range []string{"", "/vendor/" + to.slug} {
							host := to.host
							if base != "" {
								if cred.who == "clerk" {
									continue
								}
								host = "localhost"
							}
							l.Try("staff session", fmt.Sprintf("%s of %s: %s %s%s on %s", cred.who, from.slug, r.method, base, path, to.slug), func() error {
								q := isoReq{method: r.method, host: host, path: base + path, staff: cred.cookie}
								if r.method != http.MethodGet {
									q.form = url.Values{"csrf_token": {cred.csrf}, "name": {"Changed"}, "status": {"cancelled"}, "quantity": {"5"}}
								}
								resp := isoDo(t, s.srv, q)
								if err := leakedExcept(resp, nil, shops); err != nil {
									return err
								}
								switch {
								case r.method == http.MethodGet && resp.code == 303 && resp.header.Get("Location") == base+"/admin/login":
									return nil
								case r.method == http.MethodPost && resp.code == 403 && strings.Contains(resp.body, "did not come from this shop"):
									return nil
								}
								return fmt.Errorf("not refused: %s", resp)
							})
						}
					}
				}
			}
		})
	}
	// Own session, another shop's ids: Alpha's owner asks its own back
	// office for the ids only Bravo has.
	alpha := shops[0]
	l.Quietly("own staff session, ids of another shop", func() {
		for _, r := range admin {
			if r.method != http.MethodGet || !strings.Contains(r.path, "{id") {
				continue
			}
			var id int64
			switch {
			case strings.Contains(r.path, "/orders/"):
				id = only["order"]
			case strings.Contains(r.path, "/products/") || strings.Contains(r.path, "/inventory/"):
				id = only["product"]
			case strings.Contains(r.path, "/media/"):
				id = only["media"]
			case strings.Contains(r.path, "/categories/"):
				id = only["category"]
			case strings.Contains(r.path, "/customers/"):
				id = 3
			default:
				id = 999
			}
			path := fill(r.path, strconv.FormatInt(id, 10), "bravo.localhost")
			l.Try("object id", "alpha's owner: GET "+path+" (an id of bravo's)", func() error {
				resp := isoDo(t, s.srv, isoReq{method: "GET", host: alpha.host, path: path, staff: alpha.owner.cookie})
				if resp.code != 404 {
					return fmt.Errorf("status %s, want 404", resp)
				}
				return leakedExcept(resp, alpha, shops)
			})
		}
	})
}

// isoTokens sends each shop's owner and clerk API tokens to every vendor
// API route of the other shops.
func isoTokens(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, pairs [][2]*isoShop, routes []shopRoute, only map[string]int64) {
	var api []shopRoute
	for _, r := range routes {
		if strings.HasPrefix(r.path, "/api/v1/vendor/") && !openAdmin(r.path) {
			api = append(api, r)
		}
	}
	if len(api) < 25 {
		t.Fatalf("only %d vendor API routes", len(api))
	}
	for _, p := range pairs {
		from, to := p[0], p[1]
		l.Quietly("API tokens of "+from.slug+" on "+to.slug, func() {
			for _, tok := range []struct{ who, token string }{{"owner", from.api.token}, {"clerk", from.clerkToken}} {
				for _, r := range api {
					for _, base := range []string{"", "/vendor/" + to.slug} {
						host := to.host
						if base != "" {
							host = "localhost"
						}
						path := fill(r.path, collidingID(r.path), to.host)
						l.Try("API token", fmt.Sprintf("%s token of %s: %s %s%s on %s", tok.who, from.slug, r.method, base, path, to.slug), func() error {
							q := isoReq{method: r.method, host: host, path: base + path, token: tok.token}
							if r.method != http.MethodGet && r.method != http.MethodDelete {
								q.json = `{"title":"Changed","price":"1.00","quantity":5,"kind":"receipt","status":"cancelled","display_name":"Changed"}`
							}
							resp := isoDo(t, s.srv, q)
							if err := leakedExcept(resp, nil, shops); err != nil {
								return err
							}
							if resp.code != 401 || !strings.Contains(resp.header.Get("WWW-Authenticate"), "invalid_token") {
								return fmt.Errorf("not refused: %s", resp)
							}
							return nil
						})
					}
				}
			}
		})
	}
	// Own token, another shop's ids. A token's first use in a minute
	// records the time it was used: that write is made now, not in the
	// batch.
	alpha := shops[0]
	if r := isoDo(t, s.srv, isoReq{method: "GET", host: alpha.host, path: "/api/v1/vendor/products", token: alpha.api.token}); r.code != 200 {
		t.Fatalf("alpha's own token: %s", r)
	}
	l.Quietly("own API token, ids of another shop", func() {
		for _, r := range api {
			if !strings.Contains(r.path, "{id") {
				continue
			}
			id := only["product"]
			switch {
			case strings.Contains(r.path, "/orders"):
				id = only["order"]
			case strings.Contains(r.path, "/media"):
				id = only["media"]
			case strings.Contains(r.path, "/customers"):
				id = 3
			case !strings.Contains(r.path, "/products"):
				id = 999
			}
			path := fill(r.path, strconv.FormatInt(id, 10), "bravo.localhost")
			l.Try("object id", fmt.Sprintf("alpha's token: %s %s (an id of bravo's)", r.method, path), func() error {
				q := isoReq{method: r.method, host: alpha.host, path: path, token: alpha.api.token}
				if r.method != http.MethodGet && r.method != http.MethodDelete {
					q.json = `{}`
				}
				resp := isoDo(t, s.srv, q)
				if err := leakedExcept(resp, alpha, shops); err != nil {
					return err
				}
				if resp.code == 404 || r.method != http.MethodGet && resp.code == 422 {
					return nil
				}
				return fmt.Errorf("status %s, want 404", resp)
			})
		}
	})
}

// isoShopperSessions carries customer 1's session (the same customer id
// and e-mail address in every shop) to the other shops.
func isoShopperSessions(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, pairs [][2]*isoShop, routes []shopRoute) {
	var acct []shopRoute
	for _, r := range routes {
		if (strings.HasPrefix(r.path, "/account") || strings.HasPrefix(r.path, "/api/v1/shop/account")) && !openAccount(r.path) {
			acct = append(acct, r)
		}
	}
	if len(acct) < 20 {
		t.Fatalf("only %d account routes", len(acct))
	}
	for _, p := range pairs {
		from, to := p[0], p[1]
		l.Quietly("shopper sessions of "+from.slug+" on "+to.slug, func() {
			for _, r := range acct {
				for _, base := range []string{"", "/vendor/" + to.slug} {
					host := to.host
					if base != "" {
						host = "localhost"
					}
					path := fill(r.path, collidingID(r.path), to.host)
					l.Try("shopper session", fmt.Sprintf("customer 1 of %s: %s %s%s on %s", from.slug, r.method, base, path, to.slug), func() error {
						q := isoReq{method: r.method, host: host, path: base + path, shop: from.customers[0].cookie}
						api := strings.HasPrefix(r.path, "/api/")
						switch {
						case api && r.method != http.MethodGet && r.method != http.MethodDelete:
							q.json = `{"name":"Changed","line1":"x","city":"x","postal_code":"1","country":"LU","email":"changed@evil.example"}`
						case !api && r.method == http.MethodPost:
							q.form = url.Values{"name": {"Changed"}, "email": {"changed@evil.example"}, "password": {isoPassword}}
						}
						resp := isoDo(t, s.srv, q)
						if err := leakedExcept(resp, nil, shops); err != nil {
							return err
						}
						switch {
						case api && resp.code == 401:
							return nil
						case !api && resp.code == 303 && strings.HasPrefix(resp.header.Get("Location"), base+"/account/login"):
							return nil
						}
						return fmt.Errorf("not refused: %s", resp)
					})
				}
			}
			if from.cart == nil {
				return
			}
			// The cart: the session's cart is not the other shop's.
			for _, path := range []string{"/cart", "/api/v1/shop/cart", "/checkout", "/api/v1/shop/checkout"} {
				l.Try("cart", fmt.Sprintf("cart session of %s: GET %s on %s", from.slug, path, to.slug), func() error {
					resp := isoDo(t, s.srv, isoReq{method: "GET", host: to.host, path: path, shop: from.cart.cookie})
					if err := leakedExcept(resp, to, shops); err != nil {
						return err
					}
					if resp.code >= 500 || strings.Contains(resp.body, "Product 0") {
						return fmt.Errorf("a cart line shows: %s", resp)
					}
					return nil
				})
			}
			l.Try("cart", fmt.Sprintf("checkout with the cart session of %s on %s", from.slug, to.slug), func() error {
				resp := isoDo(t, s.srv, isoReq{method: "POST", host: to.host, path: "/api/v1/shop/checkout", shop: from.cart.cookie,
					json: `{"email":"x@example.com","name":"X","line1":"1","postal_code":"1611","city":"L","country":"LU","shipping_method_id":1}`})
				if resp.code < 400 || resp.code >= 500 {
					return fmt.Errorf("checkout not refused: %s", resp)
				}
				return leakedExcept(resp, nil, shops)
			})
		})
	}
}

// isoCustomerIDs: a signed-in customer asks for another customer's orders
// and addresses in their own shop, and for ids only another shop has,
// over every account route that takes an id.
func isoCustomerIDs(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, routes []shopRoute, only map[string]int64) {
	var byID []shopRoute
	for _, r := range routes {
		if (strings.HasPrefix(r.path, "/account") || strings.HasPrefix(r.path, "/api/v1/shop/account")) && strings.Contains(r.path, "{id") {
			byID = append(byID, r)
		}
	}
	if len(byID) < 8 {
		t.Fatalf("only %d account routes with an id", len(byID))
	}
	l.Quietly("other customers' ids", func() {
		for _, sh := range shops {
			for _, r := range byID {
				// Customer 2 asks for customer 1's id (1); customer 1 for
				// customer 2's (2); both for Bravo's third (only in Bravo,
				// customer 1's there).
				first, onlyBravo := int64(1), only["address"]
				if strings.Contains(r.path, "/orders") {
					first, onlyBravo = 1001, only["order"]
				}
				cases := []struct {
					who int
					id  int64
				}{{1, first}, {0, first + 1}, {1, onlyBravo}, {0, onlyBravo}}
				for _, c := range cases {
					if sh.slug == "bravo" && c.id == onlyBravo && c.who == 0 {
						continue // Bravo's customer 1 owns it
					}
					path := fill(r.path, strconv.FormatInt(c.id, 10), "")
					l.Try("object id", fmt.Sprintf("customer %d of %s: %s %s", c.who+1, sh.slug, r.method, path), func() error {
						q := isoReq{method: r.method, host: sh.host, path: path, shop: sh.customers[c.who].cookie}
						api := strings.HasPrefix(r.path, "/api/")
						switch {
						case api && r.method != http.MethodGet && r.method != http.MethodDelete:
							q.json = `{"name":"Changed","line1":"x","city":"x","postal_code":"1","country":"LU"}`
						case !api && r.method == http.MethodPost:
							q.form = acctAddress("Changed", "Changed")
						}
						resp := isoDo(t, s.srv, q)
						if resp.code != 404 {
							return fmt.Errorf("status %s, want 404", resp)
						}
						return leakedExcept(resp, sh, shops)
					})
				}
			}
			// The lists hold only the customer's own.
			for who, c := range sh.customers {
				for _, path := range []string{"/account/orders", "/account/addresses", "/api/v1/shop/account/orders", "/api/v1/shop/account/addresses"} {
					l.Try("object id", fmt.Sprintf("customer %d of %s: GET %s", who+1, sh.slug, path), func() error {
						resp := isoDo(t, s.srv, isoReq{method: "GET", host: sh.host, path: path, shop: c.cookie})
						other := []string{"Addressee 2"}
						if who == 1 {
							other = []string{"Addressee 1", "Second"}
						}
						for _, o := range other {
							if strings.Contains(resp.body, o) {
								return fmt.Errorf("another customer's %q shows: %s", o, resp)
							}
						}
						if resp.code != 200 {
							return fmt.Errorf("own list: %s", resp)
						}
						return leakedExcept(resp, sh, shops)
					})
				}
			}
		}
	})
}

// isoOrderLinks: each shop's order status links (their secret) on the
// other shops' hosts, over every order link route.
func isoOrderLinks(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, pairs [][2]*isoShop, routes []shopRoute) {
	var links []shopRoute
	for _, r := range routes {
		if strings.HasPrefix(r.path, "/orders/") || strings.HasPrefix(r.path, "/api/v1/shop/orders/") {
			links = append(links, r)
		}
	}
	if len(links) < 4 {
		t.Fatalf("only %d order link routes", len(links))
	}
	for _, p := range pairs {
		from, to := p[0], p[1]
		l.Quietly("order links of "+from.slug+" on "+to.slug, func() {
			for id, tok := range from.orderToken {
				for _, r := range links {
					for _, base := range []string{"", "/vendor/" + to.slug} {
						host := to.host
						if base != "" {
							host = "localhost"
						}
						path := fill(r.path, "", tok)
						l.Try("order link", fmt.Sprintf("order %d of %s: %s %s%s on %s", id, from.slug, r.method, base, "…"+r.path, to.slug), func() error {
							q := isoReq{method: r.method, host: host, path: base + path, shop: from.customers[0].cookie}
							if r.method == http.MethodPost {
								q.form = url.Values{}
							}
							resp := isoDo(t, s.srv, q)
							if resp.code != 404 {
								return fmt.Errorf("status %s, want 404", resp)
							}
							return leakedExcept(resp, nil, shops)
						})
					}
				}
			}
		})
	}
	// Guessed and mangled secrets on the shop's own host.
	alpha := shops[0]
	tok := alpha.orderToken[1001]
	l.Quietly("guessed order links", func() {
		for _, guess := range []string{"1", "2", tok[:len(tok)-1], strings.ToUpper(tok), tok + "A", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			for _, r := range links {
				if r.method != http.MethodGet {
					continue
				}
				l.Try("order link", "guessed "+r.path+" on alpha", func() error {
					resp := isoDo(t, s.srv, isoReq{method: "GET", host: alpha.host, path: fill(r.path, "", guess)})
					if resp.code != 404 {
						return fmt.Errorf("status %s, want 404", resp)
					}
					return leakedExcept(resp, nil, shops)
				})
			}
		}
	})
}

// isoCatalog: each shop's catalog pages, search, suggestions and API, read
// in turns from every shop (so that whatever one shop's request puts in
// the cache is there when the next shop's comes): only the shop's own
// products, categories and name may show, and Bravo's extra product and
// category are not found elsewhere.
func isoCatalog(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, routes []shopRoute, only map[string]int64) {
	var paths []string
	for _, r := range routes {
		if r.method != http.MethodGet || strings.HasPrefix(r.path, "/admin") || strings.HasPrefix(r.path, "/api/v1/vendor") ||
			strings.HasPrefix(r.path, "/account") || strings.HasPrefix(r.path, "/api/v1/shop/account") ||
			strings.HasPrefix(r.path, "/orders/") || strings.HasPrefix(r.path, "/api/v1/shop/orders/") ||
			strings.HasPrefix(r.path, "/media/") || strings.Contains(r.path, "/cart") || strings.Contains(r.path, "/checkout") {
			continue
		}
		switch {
		case strings.Contains(r.path, "{handle"):
			paths = append(paths, fill(r.path, "", "product-0"), fill(r.path, "", "bravo-only"))
		case strings.Contains(r.path, "{doc"):
			for _, doc := range []string{"imprint", "terms", "privacy", "bogus"} {
				paths = append(paths, fill(r.path, "", doc))
			}
		case strings.Contains(r.path, "{id"):
			paths = append(paths, fill(r.path, "1", ""), fill(r.path, strconv.FormatInt(only["category"], 10), ""))
		case strings.Contains(r.path, "search") || strings.Contains(r.path, "suggest"):
			for _, q := range []string{"Pubbravomark", "Pubalphamark", "Product", "Only", "bravo-only", "SKU-ONLY", "Pubcharliemark"} {
				paths = append(paths, r.path+"?q="+url.QueryEscape(q))
			}
		default:
			paths = append(paths, r.path)
		}
	}
	sort.Strings(paths)
	l.Quietly("catalog pages from every shop", func() {
		for round := range 2 {
			for _, path := range paths {
				for i := range shops {
					sh := shops[(i+round)%len(shops)]
					for _, base := range []string{"", "/vendor/" + sh.slug} {
						host := sh.host
						if base != "" {
							host = "localhost"
						}
						l.Try("catalog", fmt.Sprintf("round %d: GET %s%s on %s", round+1, base, path, sh.slug), func() error {
							resp := isoDo(t, s.srv, isoReq{method: "GET", host: host, path: base + path})
							if _, q, ok := strings.Cut(path, "?q="); ok {
								q, _ = url.QueryUnescape(q)
								resp.body = stripEcho(resp.body, q)
							}
							if err := leaked(resp, sh, shops); err != nil {
								return err
							}
							bravoOnly := strings.Contains(path, "bravo-only") && !strings.Contains(path, "?") ||
								strings.HasSuffix(path, "/"+strconv.FormatInt(only["category"], 10))
							switch {
							case bravoOnly && sh.slug != "bravo":
								if resp.code != 404 {
									return fmt.Errorf("status %s, want 404", resp)
								}
							case strings.HasPrefix(path, "/legal/"):
								return isoLegal(resp, sh, strings.TrimPrefix(path, "/legal/"))
							case resp.code != 200:
								return fmt.Errorf("own page: %s", resp)
							}
							return nil
						})
					}
				}
			}
		}
	})
}

// stripEcho takes out of an answer the places where it says the search
// text q back (the search field, the "Results for “q”" title and heading,
// the link back to the first page, the JSON "query"), and nothing else: a
// product of another shop whose title holds q still shows.
func stripEcho(body, q string) string {
	jq, _ := json.Marshal(q)
	for _, echo := range []string{`value="` + q + `"`, "“" + q + "”", "?q=" + q + `"`, `"query":` + string(jq)} {
		body = strings.ReplaceAll(body, echo, "")
	}
	return body
}

// isoLegal checks a shop's legal page doc as it answered: the imprint on
// every shop, the terms on alpha and bravo (newIsoShop), with the shop's
// own text; the rest is 404.
func isoLegal(resp isoResp, sh *isoShop, doc string) error {
	want := 404
	switch {
	case doc == "imprint", doc == "terms" && sh.slug != "charlie":
		want = 200
	}
	if resp.code != want {
		return fmt.Errorf("legal page %s: status %s, want %d", doc, resp, want)
	}
	if want == 200 && !strings.Contains(resp.body, strings.ToUpper(doc[:1])+doc[1:]+" of "+sh.pub) {
		return fmt.Errorf("legal page %s does not show %s's own text: %s", doc, sh.slug, resp)
	}
	return nil
}

// isoSearch: the search through the shop API, in pairs of shops whose
// products have the same ids and SKUs, each text searched on the other
// shop first, so that a search cache shared between shops (it keeps
// product ids only, and the cards are read from the asking shop's
// database) would answer from the other shop's entry: a shop finds
// exactly its own products for its own marker and word, and nothing for
// another shop's (no products, and for the other shop's word, no
// look-alikes either).
func isoSearch(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, pairs [][2]*isoShop) {
	ctx := context.Background()
	// What each shop holds, read from its database: the id:SKU of its
	// products on sale whose text has the marker, and the word.
	want := map[*isoShop]map[string][]string{}
	for _, sh := range shops {
		want[sh] = map[string][]string{}
		for _, text := range []string{sh.pub, sh.word} {
			rows, err := sh.pool.Query(ctx, `SELECT id || ':' || sku FROM products WHERE state = 'active'
				AND (title ILIKE '%' || $1 || '%' OR description ILIKE '%' || $1 || '%') ORDER BY id`, text)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) < 3 {
				t.Fatalf("%s: only %v on sale with %s", sh.slug, got, text)
			}
			want[sh][text] = got
		}
	}
	n := 0
	search := func(sh *isoShop, base, text string, check func(products, similar []string) error) {
		host := sh.host
		if base != "" {
			host = "localhost"
		}
		l.Try("search", fmt.Sprintf("GET %s/api/v1/shop/search?q=%s on %s", base, text, sh.slug), func() error {
			resp := isoDo(t, s.srv, isoReq{method: "GET", host: host, path: base + "/api/v1/shop/search?q=" + url.QueryEscape(text)})
			if resp.code != 200 {
				return fmt.Errorf("status %s", resp)
			}
			var page struct {
				Query             string
				HasMore           bool `json:"has_more"`
				Products, Similar []struct {
					ID  int64
					SKU string
				}
			}
			if err := json.Unmarshal([]byte(resp.body), &page); err != nil {
				return fmt.Errorf("%v: %s", err, resp)
			}
			if page.Query != text || page.HasMore {
				return fmt.Errorf("query %q, has_more %v: %s", page.Query, page.HasMore, resp)
			}
			var products, similar []string
			for _, p := range page.Products {
				products = append(products, fmt.Sprintf("%d:%s", p.ID, p.SKU))
			}
			for _, p := range page.Similar {
				similar = append(similar, fmt.Sprintf("%d:%s", p.ID, p.SKU))
			}
			sort.Strings(products)
			sort.Strings(similar)
			if err := check(products, similar); err != nil {
				return fmt.Errorf("%w: %s", err, resp)
			}
			resp.body = stripEcho(resp.body, text)
			return leaked(resp, sh, shops)
		})
	}
	exactly := func(want []string) func(products, similar []string) error {
		return func(products, similar []string) error {
			w := append([]string(nil), want...)
			sort.Strings(w)
			if strings.Join(products, ",") != strings.Join(w, ",") || len(similar) > 0 {
				return fmt.Errorf("products %v and similar %v, want exactly %v and none", products, similar, w)
			}
			return nil
		}
	}
	nothing := func(similarToo bool) func(products, similar []string) error {
		return func(products, similar []string) error {
			if len(products) > 0 || similarToo && len(similar) > 0 {
				return fmt.Errorf("products %v, similar %v for another shop's text", products, similar)
			}
			return nil
		}
	}
	l.Quietly("search texts searched on another shop first", func() {
		for _, p := range pairs {
			asker, other := p[0], p[1]
			for _, base := range []string{"", "/vendor/" + asker.slug} {
				for _, own := range []bool{false, true} {
					for _, word := range []bool{false, true} {
						sh := other
						if own {
							sh = asker
						}
						key := sh.pub
						if word {
							key = sh.word
						}
						text := key
						// A text no shop searched before (the excluded word
						// is in no product): the other shop's search makes
						// the cache entry the asker's search would hit.
						n++
						text += fmt.Sprintf(" -zq%d", n)
						if own {
							search(other, "", text, nothing(word))
							search(asker, base, text, exactly(want[asker][key]))
						} else {
							search(other, "", text, exactly(want[other][key]))
							search(asker, base, text, nothing(word))
						}
					}
				}
			}
		}
	})
}

// isoMedia: each shop's image links on the other shops' hosts serve the
// other shop's own image or nothing, never the linked one; a cached
// ETag of one shop's image does not answer 304 on another's.
func isoMedia(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, pairs [][2]*isoShop, only map[string]int64) {
	l.Quietly("media links", func() {
		for _, p := range pairs {
			from, to := p[0], p[1]
			for id := range from.mediaSum {
				for _, method := range []string{"GET", "HEAD"} {
					for _, size := range []string{"original", strconv.Itoa(tmedia.Sizes[0]), "bogus"} {
						for _, base := range []string{"", "/vendor/" + to.slug} {
							host := to.host
							if base != "" {
								host = "localhost"
							}
							path := fmt.Sprintf("%s/media/%d/%s", base, id, size)
							l.Try("media", fmt.Sprintf("image %d of %s: %s %s on %s", id, from.slug, method, path, to.slug), func() error {
								resp := isoDo(t, s.srv, isoReq{method: method, host: host, path: path, headers: []string{"If-None-Match", from.mediaETag[id]}})
								switch {
								case resp.code == 304:
									return fmt.Errorf("304 for another shop's ETag: %s", resp)
								case size == "bogus" && resp.code == 404:
								case resp.code == 200 && method == "HEAD":
								case resp.code == 200 && sha256.Sum256([]byte(resp.body)) == to.mediaSum[id]:
								case resp.code == 200:
									return fmt.Errorf("an image that is not %s's own: %d bytes", to.slug, len(resp.body))
								default:
									return fmt.Errorf("status %s", resp)
								}
								if resp.code == 200 && resp.header.Get("ETag") == from.mediaETag[id] {
									return fmt.Errorf("served with %s's ETag", from.slug)
								}
								return nil
							})
						}
					}
				}
			}
		}
		for _, sh := range shops {
			if sh.slug == "bravo" {
				continue
			}
			path := fmt.Sprintf("/media/%d/original", only["media"])
			l.Try("media", "bravo's extra image "+path+" on "+sh.slug, func() error {
				resp := isoDo(t, s.srv, isoReq{method: "GET", host: sh.host, path: path})
				if resp.code != 404 {
					return fmt.Errorf("status %s, want 404", resp)
				}
				return nil
			})
		}
	})
}

// isoLinks are the signed links the suite reuses: for each shop, a staff
// invitation and a staff reset link still valid, expired ones, the
// owner's used invitation, a customer's reset link, and view-as tickets.
type isoLinkSet struct {
	invite, reset, expiredInvite, expiredReset, customerReset string
	viewAs, viewAsExpired                                     string
}

func isoLinks(t *testing.T, s *shopEnv, shops []*isoShop) map[*isoShop]*isoLinkSet {
	t.Helper()
	ctx := context.Background()
	out := map[*isoShop]*isoLinkSet{}
	for _, sh := range shops {
		ls := &isoLinkSet{}
		var err error
		if ls.invite, err = staff.NewToken(ctx, sh.pool, 2, staff.PurposeInvite, staff.InviteTTL); err != nil {
			t.Fatal(err)
		}
		if ls.reset, err = staff.NewToken(ctx, sh.pool, 2, staff.PurposeReset, staff.ResetTTL); err != nil {
			t.Fatal(err)
		}
		// Expired ones are the owner's: a member has one live token of a
		// kind at a time.
		if ls.expiredInvite, err = staff.NewToken(ctx, sh.pool, 1, staff.PurposeInvite, -time.Minute); err != nil {
			t.Fatal(err)
		}
		if ls.expiredReset, err = staff.NewToken(ctx, sh.pool, 1, staff.PurposeReset, -time.Minute); err != nil {
			t.Fatal(err)
		}
		// A customer's reset link, as the shop e-mails it.
		before := isoNotifications(t, sh)
		if code, body, _ := sh.customers[1].post("/account/password/forgot", url.Values{"email": {isoOtherCustomer}}); code != 200 {
			t.Fatalf("%s: forgot: %d %s", sh.slug, code, body)
		}
		link := isoWaitLink(t, sh, before, "account")
		ls.customerReset = link[strings.LastIndex(link, "/")+1:]
		ls.viewAs = issueTicket(t, s, sh.v, time.Now())
		ls.viewAsExpired = issueTicket(t, s, sh.v, time.Now().Add(-2*viewas.TTL))
		out[sh] = ls
	}
	return out
}

// isoNotifications is the id of a shop's newest queued e-mail.
func isoNotifications(t *testing.T, sh *isoShop) int {
	t.Helper()
	return count(t, sh.pool, `SELECT coalesce(max(id), 0) FROM notifications`)
}

var resetLink = regexp.MustCompile(`https?://[^"\s]+/(account|admin)/password/reset/[A-Za-z0-9_-]+`)

// isoWaitLink waits for an e-mail queued after the one with id after,
// with a reset link of the area (account or admin), and returns the link.
func isoWaitLink(t *testing.T, sh *isoShop, after int, area string) string {
	t.Helper()
	var link string
	pollUntil(t, 10*time.Second, sh.slug+"'s reset e-mail", func() bool {
		rows, err := sh.pool.Query(context.Background(), `SELECT data::text FROM notifications WHERE id > $1 ORDER BY id`, after)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var data string
			if err := rows.Scan(&data); err != nil {
				t.Fatal(err)
			}
			var d map[string]any
			_ = json.Unmarshal([]byte(data), &d)
			l, _ := d["link"].(string)
			if resetLink.MatchString(l) && strings.Contains(l, "/"+area+"/password/reset/") {
				link = l
				return true
			}
		}
		return false
	})
	return link
}

// isoSignedLinks reuses signed links on other shops, after expiry and
// after use.
func isoSignedLinks(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, pairs [][2]*isoShop, links map[*isoShop]*isoLinkSet) {
	gone := func(resp isoResp) error {
		if resp.code != 410 {
			return fmt.Errorf("status %s, want 410", resp)
		}
		return nil
	}
	form := url.Values{"name": {"Mallory"}, "password": {"another long password"}, "password_again": {"another long password"}}
	hostShop := map[string]*isoShop{}
	for _, sh := range shops {
		hostShop[sh.host] = sh
	}
	try := func(category, name, host, method, path string, want func(isoResp) error) {
		l.Try(category, name, func() error {
			q := isoReq{method: method, host: host, path: path}
			if method == http.MethodPost {
				q.form = form
			}
			b := &browser{t: t, s: s, host: host}
			if method == http.MethodPost && strings.HasPrefix(path, "/admin") {
				// The back office wants its form token: take one as a
				// visitor of that host would.
				b.do("GET", "/admin/login", nil)
				q.staff, q.form = b.cookie, url.Values{"csrf_token": {b.csrf}, "name": form["name"], "password": form["password"], "password_again": form["password_again"]}
			}
			resp := isoDo(t, s.srv, q)
			if err := leakedExcept(resp, hostShop[host], shops); err != nil {
				return err
			}
			return want(resp)
		})
	}
	l.Quietly("signed links on another shop", func() {
		for _, p := range pairs {
			from, to := p[0], p[1]
			ls := links[from]
			for _, method := range []string{"GET", "POST"} {
				try("signed link", fmt.Sprintf("staff invitation of %s: %s on %s", from.slug, method, to.slug), to.host, method, "/admin/invite/"+ls.invite, gone)
				try("signed link", fmt.Sprintf("staff reset link of %s: %s on %s", from.slug, method, to.slug), to.host, method, "/admin/password/reset/"+ls.reset, gone)
				try("signed link", fmt.Sprintf("customer reset link of %s: %s on %s", from.slug, method, to.slug), to.host, method, "/account/password/reset/"+ls.customerReset, gone)
			}
			try("signed link", fmt.Sprintf("view-as ticket of %s on %s", from.slug, to.slug), to.host, "GET",
				"/admin/impersonate?ticket="+url.QueryEscape(ls.viewAs), func(resp isoResp) error {
					if resp.code != 403 || !strings.Contains(resp.body, "made for another shop") {
						return fmt.Errorf("status %s, want 403 (another shop)", resp)
					}
					return nil
				})
		}
		for _, sh := range shops {
			ls := links[sh]
			for _, method := range []string{"GET", "POST"} {
				try("signed link", fmt.Sprintf("expired staff invitation: %s on %s", method, sh.slug), sh.host, method, "/admin/invite/"+ls.expiredInvite, gone)
				try("signed link", fmt.Sprintf("expired staff reset link: %s on %s", method, sh.slug), sh.host, method, "/admin/password/reset/"+ls.expiredReset, gone)
				try("signed link", fmt.Sprintf("invitation used as a reset link: %s on %s", method, sh.slug), sh.host, method, "/admin/password/reset/"+ls.invite, gone)
				try("signed link", fmt.Sprintf("reset link used as an invitation: %s on %s", method, sh.slug), sh.host, method, "/admin/invite/"+ls.reset, gone)
				try("signed link", fmt.Sprintf("staff reset link used as a customer's: %s on %s", method, sh.slug), sh.host, method, "/account/password/reset/"+ls.reset, gone)
			}
			try("signed link", "expired view-as ticket on "+sh.slug, sh.host, "GET", "/admin/impersonate?ticket="+url.QueryEscape(ls.viewAsExpired),
				func(resp isoResp) error {
					if resp.code != 403 || !strings.Contains(resp.body, "expired") {
						return fmt.Errorf("status %s, want 403 (expired)", resp)
					}
					return nil
				})
		}
	})
	// After use: each link is used once on its own shop (which writes
	// there), then replayed on every shop.
	for _, sh := range shops {
		ls := links[sh]
		b := &browser{t: t, s: s, host: sh.host}
		b.do("GET", "/admin/login", nil)
		if code, body, _ := b.do("POST", "/admin/password/reset/"+ls.reset, url.Values{"password": {"a new long password"}, "password_again": {"a new long password"}}); code != 303 {
			t.Fatalf("%s: use the staff reset link: %d %.300s", sh.slug, code, body)
		}
		c := &acctClient{t: t, s: s, host: sh.host}
		if code, body, _ := c.post("/account/password/reset/"+ls.customerReset, url.Values{"password": {"a new long password"}, "password_again": {"a new long password"}}); code != 303 {
			t.Fatalf("%s: use the customer reset link: %d %.300s", sh.slug, code, body)
		}
		if code, _, _ := b.do("GET", "/admin/impersonate?ticket="+url.QueryEscape(ls.viewAs), nil); code != 303 {
			t.Fatalf("%s: open the view-as ticket: %d", sh.slug, code)
		}
	}
	l.Quietly("used signed links", func() {
		for _, from := range shops {
			ls := links[from]
			for _, to := range shops {
				for _, method := range []string{"GET", "POST"} {
					try("signed link", fmt.Sprintf("used staff reset link of %s: %s on %s", from.slug, method, to.slug), to.host, method, "/admin/password/reset/"+ls.reset, gone)
					try("signed link", fmt.Sprintf("used customer reset link of %s: %s on %s", from.slug, method, to.slug), to.host, method, "/account/password/reset/"+ls.customerReset, gone)
				}
				if from == to {
					try("signed link", "used view-as ticket on "+to.slug, to.host, "GET", "/admin/impersonate?ticket="+url.QueryEscape(ls.viewAs),
						func(resp isoResp) error {
							if resp.code != 403 || !strings.Contains(resp.body, "already been used") {
								return fmt.Errorf("status %s, want 403 (used)", resp)
							}
							return nil
						})
				}
			}
		}
	})
}

// isoRedisKeys: every key the tenant app keeps in Redis for this platform
// (sessions, carts, throttles, cache, rate limits) carries, after its
// area, the id of one of the shops, and where what it holds says whose it
// is, the id of that shop: a session key (area:vendor:token) holds the
// session of the shop whose cookie carries the token, and the vendor id
// in the session's data; a value that shows a shop's markers or search
// word shows that shop's only; a search cache entry with matches for a
// text holding a shop's marker or word is that shop's. A key built with
// the id of the wrong shop fails here. It runs right after the catalog
// and search walks (while their cache entries and the sessions the suite
// made live) and at the end; each shop must have keys tied to it in each
// of the ways need names (the check is not left with nothing to compare).
// How isoRedisKeys ties a key to a shop.
const (
	isoTieToken    = "the session token"
	isoTieVendorID = "the vendor id"
	isoTieMarkers  = "the markers"
	isoTieSearch   = "the search matches for a text"
)

func isoRedisKeys(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop, when string, need ...string) {
	ctx := context.Background()
	opt, err := redis.ParseURL(s.e.Cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	byID := map[string]*isoShop{}
	byToken := map[string]*isoShop{}
	for _, sh := range shops {
		byID[strconv.FormatInt(sh.v.ID, 10)] = sh
		for _, c := range []string{sh.customers[0].cookie, sh.customers[1].cookie, sh.owner.cookie, sh.clerk.cookie} {
			if c != "" {
				// the sessions keep the SHA-256 of the token (scs's
				// HashTokenInStore)
				sum := sha256.Sum256([]byte(c))
				byToken[base64.RawURLEncoding.EncodeToString(sum[:])] = sh
			}
		}
	}
	prefix := "sf:" + s.e.Cfg.Prefix + ":"
	var keys []string
	iter := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) < 10 {
		t.Fatalf("only %d Redis keys under %s: the suite made sessions, carts and cache entries", len(keys), prefix)
	}
	sort.Strings(keys)
	vendorIDs := regexp.MustCompile(`"vendor_id":\s*(\d+)`)
	// whose says which shops' markers or words a text shows.
	whose := func(text string) map[*isoShop]bool {
		out := map[*isoShop]bool{}
		low := strings.ToLower(text)
		for _, sh := range shops {
			for _, m := range []string{sh.pub, sh.priv, sh.word} {
				if strings.Contains(low, strings.ToLower(m)) {
					out[sh] = true
				}
			}
		}
		return out
	}
	tied := map[*isoShop]map[string]int{} // shop → how its keys were tied to it
	for _, k := range keys {
		parts := strings.SplitN(strings.TrimPrefix(k, prefix), ":", 3)
		l.Check("cache key", "redis key "+k+" "+when, func() error {
			if len(parts) < 3 || byID[parts[1]] == nil {
				return fmt.Errorf("the key %s does not carry a shop's id after its area", k)
			}
			sh := byID[parts[1]]
			tie := func(how string, owner *isoShop) error {
				if owner != sh {
					return fmt.Errorf("the key %s carries the id of %s but holds %s of %s", k, sh.slug, how, owner.slug)
				}
				if tied[sh] == nil {
					tied[sh] = map[string]int{}
				}
				tied[sh][how]++
				return nil
			}
			if owner := byToken[parts[2]]; owner != nil {
				if err := tie(isoTieToken, owner); err != nil {
					return err
				}
			}
			var texts []string // what the key holds
			switch typ := rc.Type(ctx, k).Val(); typ {
			case "string":
				texts = append(texts, rc.Get(ctx, k).Val())
			case "hash":
				fields := rc.HGetAll(ctx, k).Val()
				for field, v := range fields {
					texts = append(texts, v) // the field is a search text, searched anywhere
					var h struct {
						M []int64 `json:"m"`
					}
					if parts[0] != "c" || !strings.HasSuffix(k, ":search") || json.Unmarshal([]byte(v), &h) != nil || len(h.M) == 0 {
						continue
					}
					for owner := range whose(field) {
						if err := tie(isoTieSearch, owner); err != nil {
							return fmt.Errorf("%w (%q: %s)", err, field, v)
						}
					}
				}
			case "set", "list", "zset", "none":
			default:
				return fmt.Errorf("the key %s is a %s, which this check does not read", k, typ)
			}
			for _, text := range texts {
				for _, m := range vendorIDs.FindAllStringSubmatch(text, -1) {
					owner := byID[m[1]]
					if owner == nil {
						return fmt.Errorf("the key %s holds vendor id %s, no shop's: %.200s", k, m[1], text)
					}
					if err := tie(isoTieVendorID, owner); err != nil {
						return err
					}
				}
				for owner := range whose(text) {
					if err := tie(isoTieMarkers, owner); err != nil {
						return fmt.Errorf("%w: %.200s", err, text)
					}
				}
			}
			return nil
		}())
	}
	for _, sh := range shops {
		for _, how := range need {
			if tied[sh][how] == 0 {
				t.Errorf("%s: no Redis key tied to it by %s %s: %v", sh.slug, how, when, tied[sh])
			}
		}
	}
	t.Logf("Redis keys tied to their shop by what they hold, %s: %v", when, func() map[string]map[string]int {
		out := map[string]map[string]int{}
		for sh, m := range tied {
			out[sh.slug] = m
		}
		return out
	}())
}

// isoMailLinks: links in e-mails are built on the shop's own domain as
// the control plane knows it, whatever host or forwarding headers the
// request that caused the e-mail came with.
func isoMailLinks(t *testing.T, s *shopEnv, l *attack.Ledger, shops []*isoShop) {
	alpha := shops[0]
	want := strings.ReplaceAll(s.e.Cfg.TenantPublicURL, "{host}", alpha.v.Host)
	others := []attack.Watcher{}
	for _, sh := range shops[1:] {
		others = append(others, attack.Database("database of "+sh.slug, sh.pool))
	}
	headers := [][]string{
		{"X-Forwarded-Host", "bravo.localhost"},
		{"Forwarded", "host=evil.example"},
		{"X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https"},
		{"Origin", "http://evil.example"},
	}
	for _, h := range headers {
		for _, area := range []string{"account", "admin"} {
			for _, base := range []string{"", "/vendor/alpha"} {
				host := alpha.host
				if base != "" {
					host = "localhost"
				}
				l.TryWith(others, "e-mail link", fmt.Sprintf("%s reset link asked on %s%s with %s", area, host, base, strings.Join(h, ": ")), func() error {
					isoClearThrottles(t, s)
					before := isoNotifications(t, alpha)
					q := isoReq{method: "POST", host: host, path: base + "/" + area + "/password/forgot", headers: h}
					if area == "admin" {
						b := &browser{t: t, s: s, host: host, base: base}
						b.do("GET", "/admin/login", nil)
						q.staff, q.form = b.cookie, url.Values{"csrf_token": {b.csrf}, "email": {isoSharedClerk}}
						if h[0] == "Origin" {
							q.headers = nil // a cross-origin form is refused before it is read
						}
					} else {
						q.form = url.Values{"email": {isoSharedCustomer}}
						if h[0] == "Origin" {
							q.headers = nil
						}
					}
					resp := isoDo(t, s.srv, q)
					if resp.code != 200 {
						return fmt.Errorf("asking for the link: %s", resp)
					}
					link := isoWaitLink(t, alpha, before, area)
					if !strings.HasPrefix(link, want+"/"+area+"/password/reset/") {
						return fmt.Errorf("the e-mailed link %s is not on %s", link, want)
					}
					return nil
				})
			}
		}
	}
}

// isoClearThrottles forgets the reset-link throttles, so that every
// request of the e-mail link attempts reaches the code that builds the
// link.
func isoClearThrottles(t *testing.T, s *shopEnv) {
	t.Helper()
	opt, err := redis.ParseURL(s.e.Cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	ctx := context.Background()
	iter := rc.Scan(ctx, 0, "sf:"+s.e.Cfg.Prefix+":*:pwreset:*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := rc.Del(ctx, iter.Val()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}
