package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
)

// stripeProxy stands between the tenant app and stripe-mock: it records
// the refunds asked for (idempotency key, account, amount) and can refuse
// them, as Stripe does when it is down or says no.
type stripeProxy struct {
	srv  *httptest.Server
	mu   sync.Mutex
	fail bool
	keys []string // Idempotency-Key of every POST /v1/refunds, in order
	accs []string // their Stripe-Account
}

func newStripeProxy(t *testing.T, target string) *stripeProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &stripeProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/refunds" {
			p.mu.Lock()
			p.keys = append(p.keys, r.Header.Get("Idempotency-Key"))
			p.accs = append(p.accs, r.Header.Get("Stripe-Account"))
			fail := p.fail
			p.mu.Unlock()
			if fail {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"Simulated: the bank is unreachable"}}`)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *stripeProxy) setFail(v bool) { p.mu.Lock(); p.fail = v; p.mu.Unlock() }

func (p *stripeProxy) refundKeys() ([]string, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.keys), slices.Clone(p.accs)
}

// ordersEnv is a tenant app whose Stripe calls go through a stripeProxy
// to stripe-mock (stripeKey "": payments off).
func ordersEnv(t *testing.T, stripeKey string) (*shopEnv, *stripeProxy) {
	t.Helper()
	e := testenv.New(t)
	proxy := newStripeProxy(t, e.Cfg.StripeURL)
	return ordersApp(t, e, proxy.srv.URL, stripeKey), proxy
}

// ordersApp is another tenant app on the same platform (databases,
// Redis: sessions carry over), with its own Stripe settings.
func ordersApp(t *testing.T, e *testenv.Env, stripeURL, stripeKey string) *shopEnv {
	t.Helper()
	cfg := *e.Cfg
	cfg.StripeURL, cfg.StripeSecretKey = stripeURL, stripeKey
	a, err := app.New(context.Background(), &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &shopEnv{e: e, a: a, srv: srv}
}

// ordersShop is a vendor for the orders tests: products in stock, a
// connected Stripe account, its owner signed in and an owner's API token.
type ordersShop struct {
	t        *testing.T
	s        *shopEnv
	v        *platform.Vendor
	pool     *pgxpool.Pool
	owner    *browser
	api      apiClient
	products []int64
	account  string
}

func newOrdersShop(t *testing.T, s *shopEnv, slug, name string) *ordersShop {
	t.Helper()
	v, owner := catalogShop(t, s, slug, name)
	pool, ids := shopReady(t, s, v, 500, 500, 500)
	var account string
	if err := pool.QueryRow(context.Background(), `SELECT stripe_account_id FROM shop_profile`).Scan(&account); err != nil {
		t.Fatal(err)
	}
	return &ordersShop{t: t, s: s, v: v, pool: pool, owner: owner, products: ids, account: account,
		api: apiClient{t: t, srv: s.srv, host: slug + ".localhost", token: makeToken(t, owner, "orders")}}
}

// testOrder is an order the tests make directly in the vendor's
// database, as the checkout would.
type testOrder struct {
	Email    string
	Customer int64 // 0: guest
	Name     string
	Qty      []int // per product of the shop
	Paid     bool
	Created  time.Time // zero: now
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// order writes an order with its lines, reserves its stock (orders.Reserve)
// and, if asked, applies its payment as the shopper's return would.
func (sh *ordersShop) order(o testOrder) int64 {
	t := sh.t
	t.Helper()
	ctx := context.Background()
	if o.Email == "" {
		o.Email = "guest@example.com"
	}
	if o.Name == "" {
		o.Name = "Grace Guest"
	}
	if o.Qty == nil {
		o.Qty = []int{1}
	}
	var id int64
	intent := "pi_" + strings.ReplaceAll(randomToken()[:20], "-", "x")
	err := pgx.BeginFunc(ctx, sh.pool, func(tx pgx.Tx) error {
		var subtotal int64
		type line struct {
			product    int64
			sku, title string
			price      int64
			qty        int
		}
		var lines []line
		for i, q := range o.Qty {
			if q == 0 {
				continue
			}
			l := line{product: sh.products[i], qty: q}
			if err := tx.QueryRow(ctx, `SELECT sku, title, price_minor FROM products WHERE id = $1`, l.product).Scan(&l.sku, &l.title, &l.price); err != nil {
				return err
			}
			subtotal += l.price * int64(q)
			lines = append(lines, l)
		}
		shipping := int64(495)
		total := subtotal + shipping
		tax := total * 1700 / 11700
		addr, _ := json.Marshal(map[string]string{"name": o.Name, "line1": "1 Rue de la Gare", "postal_code": "1611", "city": "Luxembourg", "country": "LU"})
		created := o.Created
		if created.IsZero() {
			created = time.Now()
		}
		err := tx.QueryRow(ctx, `INSERT INTO orders (checkout_key, access_token, customer_id, email, reserved_until, currency,
				subtotal_minor, shipping_minor, tax_minor, total_minor, tax_rate_bp, prices_include_tax, tax_label,
				shipping_method_id, shipping_method_name, shipping_address, stripe_account_id, payment_intent_id,
				application_fee_minor, created_at)
			VALUES ($1, $2, nullif($3, 0), $4, now() + interval '1 hour', 'EUR', $5, $6, $7, $8, 1700, true, 'VAT', 1,
				'Standard delivery', $9, $10, $11, $12, $13) RETURNING id`,
			randomToken(), randomToken(), o.Customer, o.Email, subtotal, shipping, tax, total, addr, sh.account, intent,
			total*3/100, created).Scan(&id)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if _, err := tx.Exec(ctx, `INSERT INTO order_lines (order_id, product_id, sku, title, unit_price_minor, quantity, line_total_minor)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, l.product, l.sku, l.title, l.price, l.qty, l.price*int64(l.qty)); err != nil {
				return err
			}
		}
		for _, l := range lines {
			if err := orders.Reserve(ctx, tx, id, l.product, l.qty); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("make an order: %v", err)
	}
	if o.Paid {
		var total int64
		if err := sh.pool.QueryRow(ctx, `SELECT total_minor FROM orders WHERE id = $1`, id).Scan(&total); err != nil {
			t.Fatal(err)
		}
		if _, err := orders.ApplyPaid(ctx, sh.pool, orders.Paid{IntentID: intent, Amount: total, Currency: "EUR", Source: orders.SourceReturn}, nil); err != nil {
			t.Fatalf("pay order %d: %v", id, err)
		}
	}
	return id
}

// setStatus puts an order in a status directly (for the transition table).
func (sh *ordersShop) setStatus(id int64, status string) {
	sh.t.Helper()
	if _, err := sh.pool.Exec(context.Background(), `UPDATE orders SET status = $2 WHERE id = $1`, id, status); err != nil {
		sh.t.Fatal(err)
	}
}

func (sh *ordersShop) orderRow(id int64) (status, payment, stock string, refunded int64) {
	sh.t.Helper()
	if err := sh.pool.QueryRow(context.Background(), `SELECT status, payment_status, stock_state, refunded_minor FROM orders WHERE id = $1`, id).
		Scan(&status, &payment, &stock, &refunded); err != nil {
		sh.t.Fatal(err)
	}
	return
}

func (sh *ordersShop) customer(email, name string) int64 {
	sh.t.Helper()
	var id int64
	if err := sh.pool.QueryRow(context.Background(), `INSERT INTO customers (email, name, password_hash) VALUES ($1, $2, 'x') RETURNING id`,
		email, name).Scan(&id); err != nil {
		sh.t.Fatal(err)
	}
	return id
}

func (sh *ordersShop) total(id int64) int64 {
	sh.t.Helper()
	var n int64
	if err := sh.pool.QueryRow(context.Background(), `SELECT total_minor FROM orders WHERE id = $1`, id).Scan(&n); err != nil {
		sh.t.Fatal(err)
	}
	return n
}

var orderLink = regexp.MustCompile(`href="[^"]*/admin/orders/([0-9]+)"`)

// listedOrders is the order numbers a list page links to, in order.
func listedOrders(body string) []string {
	var out []string
	for _, m := range orderLink.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func ids(ns ...int64) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fmt.Sprint(n)
	}
	return out
}

func TestOrdersAdminListAndFilters(t *testing.T) {
	t.Parallel()
	s, _ := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	sh := newOrdersShop(t, s, "acme", "Acme Tools")
	alice := sh.customer("alice@example.com", "Alice Liddell")
	day := func(d int) time.Time { return time.Date(2025, 3, d, 12, 0, 0, 0, time.UTC) }
	a := sh.order(testOrder{Email: "alice@example.com", Customer: alice, Name: "Alice Liddell", Qty: []int{2}, Paid: true, Created: day(1)})
	b := sh.order(testOrder{Email: "bob@example.com", Name: "Bob Builder", Qty: []int{0, 1}, Created: day(5)})
	c := sh.order(testOrder{Email: "carol@example.com", Name: "Carol Danvers", Qty: []int{1, 1, 1}, Paid: true, Created: day(9)})
	sh.setStatus(c, orders.StatusShipped)

	code, body, _ := sh.owner.do("GET", "/admin/orders", nil)
	if code != 200 || !slices.Equal(listedOrders(body), ids(c, b, a)) {
		t.Fatalf("list: %d %v", code, listedOrders(body))
	}
	for _, want := range []string{"Alice Liddell", "bob@example.com", "€44.95", "€79.95", `badge active">shipped`,
		`href="/admin/orders">Orders</a>`, `href="/admin/customers">Customers</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	if !regexp.MustCompile(`>paid <span class="muted small">1</span>`).MatchString(body) ||
		!regexp.MustCompile(`>All <span class="muted small">3</span>`).MatchString(body) {
		t.Errorf("counts per status are missing")
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"status=paid", ids(a)},
		{"status=pending", ids(b)},
		{"payment=unpaid", ids(b)},
		{"payment=paid", ids(c, a)},
		{"from=2025-03-02&to=2025-03-09", ids(c, b)},
		{"from=2025-03-05&to=2025-03-05", ids(b)},
		{"q=" + fmt.Sprint(b), ids(b)},
		{"q=%23" + fmt.Sprint(a), ids(a)},
		{"q=CAROL%40", ids(c)},
		{"q=liddell", ids(a)},
		{"q=builder", ids(b)},
		{"q=nobody", nil},
		{"q=%25", nil},
	} {
		code, body, _ := sh.owner.do("GET", "/admin/orders?"+c.query, nil)
		if got := listedOrders(body); code != 200 || !slices.Equal(got, c.want) {
			t.Errorf("%s: %d %v, want %v", c.query, code, got, c.want)
		}
	}
	if code, body, _ := sh.owner.do("GET", "/admin/orders?from=March", nil); code != 422 || !strings.Contains(body, "YYYY-MM-DD") {
		t.Errorf("a bad date: %d", code)
	}
	if code, body, _ := sh.owner.do("GET", "/admin/orders?status=lost", nil); code != 422 || !strings.Contains(body, "Choose one of") {
		t.Errorf("a bad status: %d", code)
	}

	// Keyset pages, through the API (the page's size is 50).
	_, out := sh.api.call("GET", "/orders?limit=2", nil)
	first := out["orders"].([]any)
	if len(first) != 2 || num(first[0].(map[string]any)["id"]) != c || out["next_before"] == nil {
		t.Fatalf("first page: %v", out)
	}
	_, out = sh.api.call("GET", fmt.Sprintf("/orders?limit=2&before=%d", num(out["next_before"])), nil)
	if rows := out["orders"].([]any); len(rows) != 1 || num(rows[0].(map[string]any)["id"]) != a || out["next_before"] != nil {
		t.Fatalf("second page: %v", out)
	}
	if counts := out["counts"].(map[string]any); num(counts["paid"]) != 1 || num(counts["shipped"]) != 1 || num(counts["pending"]) != 1 {
		t.Errorf("counts: %v", counts)
	}
	code, out = sh.api.call("GET", "/orders?payment_status=sort-of&limit=0", nil)
	if fields, _ := out["error"].(map[string]any)["fields"].(map[string]any); code != 422 || fields["payment_status"] == nil || fields["limit"] == nil {
		t.Errorf("bad filters: %d %v", code, out)
	}
}

func TestOrderDetailPage(t *testing.T) {
	t.Parallel()
	s, _ := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	sh := newOrdersShop(t, s, "acme", "Acme Tools")
	alice := sh.customer("alice@example.com", "Alice Liddell")
	id := sh.order(testOrder{Email: "alice@example.com", Customer: alice, Name: "Alice Liddell", Qty: []int{2, 1}, Paid: true})
	var intent string
	_ = sh.pool.QueryRow(context.Background(), `SELECT payment_intent_id FROM orders WHERE id = $1`, id).Scan(&intent)

	code, body, _ := sh.owner.do("GET", fmt.Sprintf("/admin/orders/%d", id), nil)
	if code != 200 {
		t.Fatalf("detail: %d %s", code, body)
	}
	for _, want := range []string{
		fmt.Sprintf("Order #%d", id), "Product 0", "SKU-0", "Product 1", "€40.00", "€25.00", // 2 × 20.00, 1 × 25.00
		"Subtotal", "€65.00", "Standard delivery", "€4.95", "VAT 17 % (included)", "€69.95",
		fmt.Sprintf(`href="/admin/customers/%d"`, alice), "alice@example.com", "1 Rue de la Gare", "1611 Luxembourg",
		intent, sh.account, "€2.09", "committed", "Paid", "Mark fulfilled", "Cancel and refund", "Refund", "Internal note",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the order page lacks %q", want)
		}
	}
	if !strings.Contains(body, "Mark shipped") {
		t.Error("a paid order cannot be shipped at once")
	}
	// An order clerk may read it; a catalog editor may not.
	clerk, _ := catalogMember(t, s, sh.v, "Order clerk")
	if code, _, _ := clerk.do("GET", fmt.Sprintf("/admin/orders/%d", id), nil); code != 200 {
		t.Errorf("clerk: %d", code)
	}
	editor, _ := catalogMember(t, s, sh.v, "Catalog editor")
	if code, body, _ := editor.do("GET", fmt.Sprintf("/admin/orders/%d", id), nil); code != 403 || !strings.Contains(body, "orders.read") {
		t.Errorf("editor: %d", code)
	}
	if _, body, _ := editor.do("GET", "/admin/products", nil); strings.Contains(body, `/admin/orders"`) {
		t.Error("the editor's top bar links to orders")
	}
	if code, _, _ := sh.owner.do("GET", "/admin/orders/99999", nil); code != 404 {
		t.Errorf("unknown order: %d", code)
	}
}

// Every transition of the table, allowed and refused, through the API
// (and a few through the page's forms).
func TestOrderStatusTransitions(t *testing.T) {
	t.Parallel()
	s, _ := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	sh := newOrdersShop(t, s, "acme", "Acme Tools")
	allowed := map[string][]string{
		"pending": {"cancelled"}, "paid": {"fulfilled", "shipped", "cancelled"}, "fulfilled": {"shipped", "cancelled"},
		"shipped": {"delivered"}, "delivered": nil, "cancelled": nil,
	}
	for _, from := range []string{"pending", "paid", "fulfilled", "shipped", "delivered", "cancelled"} {
		for _, to := range []string{"pending", "paid", "fulfilled", "shipped", "delivered", "cancelled"} {
			id := sh.order(testOrder{Paid: from != "pending", Qty: []int{1}})
			if from != "pending" && from != "paid" {
				sh.setStatus(id, from)
			}
			ok := slices.Contains(allowed[from], to)
			var code int
			var out map[string]any
			if to == "shipped" {
				code, out = sh.api.call("POST", fmt.Sprintf("/orders/%d/shipments", id), map[string]any{"carrier": "DHL", "tracking_number": "JD0001"})
			} else {
				code, out = sh.api.call("POST", fmt.Sprintf("/orders/%d/status", id), map[string]any{"status": to})
			}
			status, _, _, _ := sh.orderRow(id)
			switch {
			case ok && (code != 200 || status != to):
				t.Errorf("%s → %s: %d, status %s: %v", from, to, code, status, out)
			case !ok && to == "pending" || !ok && to == "paid":
				// Not a status staff set: refused as invalid or as a transition.
				if code != 409 && code != 422 || status != from {
					t.Errorf("%s → %s: %d, status %s", from, to, code, status)
				}
			case !ok:
				e, _ := out["error"].(map[string]any)
				msg, _ := e["message"].(string)
				if code != 409 || status != from || !strings.Contains(msg, "cannot become "+to) || e["current_status"] != from {
					t.Errorf("%s → %s: %d, status %s: %v", from, to, code, status, out)
				}
				var want []any
				for _, a := range allowed[from] {
					want = append(want, a)
				}
				if got, _ := e["allowed"].([]any); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
					t.Errorf("%s → %s: allowed %v, want %v", from, to, got, want)
				}
				for _, a := range allowed[from] {
					if !strings.Contains(msg, a) {
						t.Errorf("%s → %s: the message %q does not say %s is allowed", from, to, msg, a)
					}
				}
			}
		}
	}
	// "shipped" is reached with a carrier and tracking number only.
	id := sh.order(testOrder{Paid: true})
	sh.setStatus(id, "fulfilled")
	if code, out := sh.api.call("POST", fmt.Sprintf("/orders/%d/status", id), map[string]any{"status": "shipped"}); code != 422 || !strings.Contains(errMessage(out), "tracking") {
		t.Errorf("shipped through status: %d %v", code, out)
	}

	// Cancelling a pending order gives its reservation back.
	p := sh.products[2]
	before := stockOf(t, sh.pool, p)
	id = sh.order(testOrder{Qty: []int{0, 0, 3}})
	if got := stockOf(t, sh.pool, p); got.reserved != before.reserved+3 {
		t.Fatalf("reserved: %+v", got)
	}
	code, _, _ := sh.owner.do("POST", fmt.Sprintf("/admin/orders/%d/status", id), url.Values{"status": {"cancelled"}, "reason": {"customer called"}})
	if status, payment, stock, _ := sh.orderRow(id); code != 303 || status != "cancelled" || payment != "unpaid" || stock != "released" {
		t.Fatalf("cancel pending: %d %s %s %s", code, status, payment, stock)
	}
	if got := stockOf(t, sh.pool, p); got != before {
		t.Errorf("stock after cancelling: %+v, want %+v", got, before)
	}
	// The page refuses the same again with 409 and says why.
	code, body, _ := sh.owner.do("POST", fmt.Sprintf("/admin/orders/%d/status", id), url.Values{"status": {"cancelled"}})
	if code != 409 || !strings.Contains(body, "The order is cancelled and cannot become cancelled") {
		t.Errorf("cancel twice: %d", code)
	}
	// Status changes are on the timeline with the member, and audited.
	var staffID *int64
	if err := sh.pool.QueryRow(context.Background(), `SELECT staff_id FROM order_events WHERE order_id = $1 AND kind = 'order.cancelled'`, id).Scan(&staffID); err != nil || staffID == nil {
		t.Errorf("the cancellation's event has no member: %v", err)
	}
	if n := count(t, sh.pool, `SELECT count(*) FROM audit_log WHERE action = 'order.status_changed' AND target_id = $1`, fmt.Sprint(id)); n != 1 {
		t.Errorf("%d audit entries", n)
	}
	if n := count(t, sh.pool, `SELECT count(*) FROM order_events WHERE order_id = $1 AND internal AND message LIKE '%customer called%'`, id); n != 1 {
		t.Errorf("the reason is not an internal note")
	}

	// Cancelling a paid order refunds it in full and restocks it.
	before = stockOf(t, sh.pool, p)
	id = sh.order(testOrder{Qty: []int{0, 0, 2}, Paid: true})
	code, body, _ = sh.owner.do("POST", fmt.Sprintf("/admin/orders/%d/status", id), url.Values{"status": {"cancelled"}, "restock": {"1"}})
	status, payment, stock, refunded := sh.orderRow(id)
	if code != 303 || status != "cancelled" || payment != "refunded" || stock != "released" || refunded != sh.total(id) {
		t.Fatalf("cancel paid: %d %s %s %s %d %s", code, status, payment, stock, refunded, body)
	}
	if got := stockOf(t, sh.pool, p); got != before {
		t.Errorf("stock after cancelling a paid order: %+v, want %+v", got, before)
	}
	if n := count(t, sh.pool, `SELECT count(*) FROM inventory_movements WHERE kind = 'return' AND reference = $1`, fmt.Sprintf("order %d", id)); n != 1 {
		t.Errorf("%d return movements", n)
	}
}

// Two clerks change one order at once: one wins, the other gets 409.
func TestOrderConcurrentStatusChange(t *testing.T) {
	t.Parallel()
	s, _ := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	sh := newOrdersShop(t, s, "acme", "Acme Tools")
	clerk, _ := catalogMember(t, s, sh.v, "Order clerk")
	other := apiClient{t: t, srv: s.srv, host: sh.api.host, token: makeToken(t, clerk, "clerk")}
	for round := range 5 {
		id := sh.order(testOrder{Paid: true})
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i, c := range []apiClient{sh.api, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				to := "fulfilled"
				if i == 1 && round%2 == 1 {
					to = "cancelled" // a clerk cancelling while another fulfils
				}
				codes[i], _ = c.call("POST", fmt.Sprintf("/orders/%d/status", id), map[string]any{"status": to})
			}()
		}
		wg.Wait()
		slices.Sort(codes)
		status, _, _, _ := sh.orderRow(id)
		if round%2 == 0 && (codes[0] != 200 || codes[1] != 409 || status != "fulfilled") {
			t.Errorf("round %d: %v, status %s", round, codes, status)
		}
		// fulfilled then cancelled is allowed; cancelled then fulfilled is not.
		if round%2 == 1 && !(codes[0] == 200 && (codes[1] == 409 || codes[1] == 200)) {
			t.Errorf("round %d: %v, status %s", round, codes, status)
		}
		if n := count(t, sh.pool, `SELECT count(*) FROM order_events WHERE order_id = $1 AND kind LIKE 'order.%'`, id); n != 1 && round%2 == 0 {
			t.Errorf("round %d: %d status events", round, n)
		}
	}
}

func TestOrderShippingQueuesOneNotice(t *testing.T) {
	t.Parallel()
	s, _ := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	sh := newOrdersShop(t, s, "acme", "Acme Tools")
	alice := sh.customer("alice@example.com", "Alice Liddell")
	id := sh.order(testOrder{Email: "alice@example.com", Customer: alice, Name: "Alice Liddell", Paid: true})
	path := fmt.Sprintf("/admin/orders/%d", id)

	// Not without a tracking number.
	if code, body, _ := sh.owner.do("POST", path+"/ship", url.Values{"carrier": {"DHL"}}); code != 422 || !strings.Contains(body, "tracking") {
		t.Fatalf("ship without a tracking number: %d", code)
	}
	if code, _, _ := sh.owner.do("POST", path+"/status", url.Values{"status": {"fulfilled"}}); code != 303 {
		t.Fatalf("fulfil: %d", code)
	}
	code, body, _ := sh.owner.do("GET", path, nil)
	if code != 200 || !strings.Contains(body, "Mark shipped") {
		t.Fatalf("a fulfilled order offers no shipping: %d", code)
	}
	for _, c := range []struct {
		carrier, tracking, field, msg string
	}{
		{"", "JD014600", "carrier", "cannot be empty"},
		{"DHL", "", "tracking_number", "cannot be empty"},
		{strings.Repeat("d", 101), "JD014600", "carrier", "at most 100"},
		{"DHL", strings.Repeat("1", 101), "tracking_number", "at most 100"},
	} {
		code, body, _ := sh.owner.do("POST", path+"/ship", url.Values{"carrier": {c.carrier}, "tracking_number": {c.tracking}})
		if code != 422 || !strings.Contains(shownError(body, c.field), c.msg) {
			t.Errorf("ship with %q/%q: %d %q", c.carrier, c.tracking, code, shownError(body, c.field))
		}
	}
	// Sent through a proxy that claims another host: the link is on the
	// shop's own domain all the same.
	code, _ = sh.owner.doWith("POST", path+"/ship", url.Values{"carrier": {"DHL"}, "tracking_number": {"JD014600"}, "csrf_token": {sh.owner.csrf}},
		"X-Forwarded-Host", "evil.example")
	if code != 303 {
		t.Fatalf("ship: %d", code)
	}
	var token string
	var shippedAt *time.Time
	if err := sh.pool.QueryRow(context.Background(), `SELECT access_token, shipped_at FROM orders WHERE id = $1`, id).Scan(&token, &shippedAt); err != nil || shippedAt == nil {
		t.Fatalf("shipped_at: %v", err)
	}
	status, _, _, _ := sh.orderRow(id)
	if status != "shipped" {
		t.Fatalf("status %s", status)
	}
	// Shipping again is refused, and queues nothing.
	if code, _, _ := sh.owner.do("POST", path+"/ship", url.Values{"carrier": {"UPS"}, "tracking_number": {"1Z999"}}); code != 409 {
		t.Errorf("ship twice: %d", code)
	}
	rows, err := sh.pool.Query(context.Background(), `SELECT to_email, data, customer_id FROM notifications WHERE order_id = $1 AND kind = 'shipping_notice'`, id)
	if err != nil {
		t.Fatal(err)
	}
	type notice struct {
		To       string
		Data     map[string]any
		Customer *int64
	}
	notices, err := pgx.CollectRows(rows, pgx.RowToStructByPos[notice])
	if err != nil {
		t.Fatal(err)
	}
	if len(notices) != 1 {
		t.Fatalf("%d shipping notices", len(notices))
	}
	n := notices[0]
	wantURL := strings.ReplaceAll(s.e.Cfg.TenantPublicURL, "{host}", "acme.localhost") + "/orders/" + token
	if n.To != "alice@example.com" || n.Data["order_url"] != wantURL || n.Data["carrier"] != "DHL" || n.Data["tracking_number"] != "JD014600" ||
		n.Data["customer_name"] != "Alice Liddell" || n.Data["shop_name"] != "Acme Tools" || num(n.Data["order_id"]) != id || n.Customer == nil || *n.Customer != alice {
		t.Errorf("notice: %+v (want link %s)", n, wantURL)
	}
	if strings.Contains(fmt.Sprint(n.Data), "evil") {
		t.Error("the link follows the request's headers")
	}
	if n := count(t, sh.pool, `SELECT count(*) FROM audit_log WHERE action = 'order.shipped' AND target_id = $1`, fmt.Sprint(id)); n != 1 {
		t.Errorf("%d audit entries", n)
	}
	// The shopper's timeline says how it was shipped.
	if n := count(t, sh.pool, `SELECT count(*) FROM order_events WHERE order_id = $1 AND kind = 'order.shipped' AND NOT internal AND message LIKE '%JD014600%'`, id); n != 1 {
		t.Error("no shopper-visible shipping event")
	}
	if code, out := sh.api.call("POST", fmt.Sprintf("/orders/%d/status", id), map[string]any{"status": "delivered"}); code != 200 || out["status"] != "delivered" {
		t.Errorf("delivered: %d %v", code, out)
	}
}

func TestOrderRefundsAgainstStripe(t *testing.T) {
	t.Parallel()
	s, proxy := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	sh := newOrdersShop(t, s, "acme", "Acme Tools")
	id := sh.order(testOrder{Qty: []int{2, 1}, Paid: true}) // 2 × 20.00 + 25.00 + 4.95 = 69.95
	path := fmt.Sprintf("/admin/orders/%d", id)
	p0 := sh.products[0]
	stock0 := stockOf(t, sh.pool, p0)
	var line0 int64
	if err := sh.pool.QueryRow(context.Background(), `SELECT id FROM order_lines WHERE order_id = $1 AND product_id = $2`, id, p0).Scan(&line0); err != nil {
		t.Fatal(err)
	}

	// A partial refund, one unit back in stock.
	_, body, _ := sh.owner.do("GET", path, nil)
	key := regexp.MustCompile(`name="request_key" value="([^"]+)"`).FindStringSubmatch(body)
	if key == nil {
		t.Fatal("no request key on the refund form")
	}
	form := url.Values{"amount": {"20,00"}, "reason": {"one was broken"}, "request_key": {key[1]}, fmt.Sprintf("restock_%d", line0): {"1"}}
	if code, body, _ := sh.owner.do("POST", path+"/refunds", form); code != 303 {
		t.Fatalf("partial refund: %d %s", code, body)
	}
	_, payment, _, refunded := sh.orderRow(id)
	if payment != "partially_refunded" || refunded != 2000 {
		t.Fatalf("after a partial refund: %s %d", payment, refunded)
	}
	if got := stockOf(t, sh.pool, p0); got.onHand != stock0.onHand+1 {
		t.Errorf("stock on hand %d, want %d", got.onHand, stock0.onHand+1)
	}
	if n := count(t, sh.pool, `SELECT count(*) FROM inventory_movements WHERE product_id = $1 AND kind = 'return' AND quantity = 1 AND reference = $2`, p0, fmt.Sprintf("order %d", id)); n != 1 {
		t.Errorf("%d return movements", n)
	}
	var stripeID, status, reqKey string
	if err := sh.pool.QueryRow(context.Background(), `SELECT coalesce(stripe_refund_id, ''), status, request_key FROM refunds WHERE order_id = $1`, id).Scan(&stripeID, &status, &reqKey); err != nil {
		t.Fatal(err)
	}
	keys, accs := proxy.refundKeys()
	if status != "succeeded" || !strings.HasPrefix(stripeID, "re_") || len(keys) != 1 || keys[0] != reqKey || accs[0] != sh.account {
		t.Errorf("refund row %s %s %s; Stripe saw %v %v", stripeID, status, reqKey, keys, accs)
	}
	// The same form sent again makes no second refund.
	if code, _, _ := sh.owner.do("POST", path+"/refunds", form); code != 303 {
		t.Errorf("the form again: %d", code)
	}
	if n := count(t, sh.pool, `SELECT count(*) FROM refunds WHERE order_id = $1`, id); n != 1 {
		t.Errorf("%d refunds after sending the form twice", n)
	}
	if got := stockOf(t, sh.pool, p0); got.onHand != stock0.onHand+1 {
		t.Errorf("restocked twice: %d", got.onHand)
	}

	// More than what is left is refused next to the amount.
	code, body, _ := sh.owner.do("POST", path+"/refunds", url.Values{"amount": {"50.00"}})
	if code != 422 || !strings.Contains(shownError(body, "amount"), "At most €49.95") {
		t.Errorf("too much: %d %q", code, shownError(body, "amount"))
	}
	if code, body, _ := sh.owner.do("POST", path+"/refunds", url.Values{"amount": {"1.234"}}); code != 422 || !strings.Contains(shownError(body, "amount"), "decimal places") {
		t.Errorf("three decimals: %d", code)
	}
	// More units back than were sold is refused.
	code, body, _ = sh.owner.do("POST", path+"/refunds", url.Values{"amount": {"1"}, fmt.Sprintf("restock_%d", line0): {"2"}})
	if code != 422 || !strings.Contains(body, "At most 1 unit(s)") {
		t.Errorf("restock too many: %d", code)
	}

	// Stripe refuses the next one: it stays requested and can be retried
	// with the same key.
	proxy.setFail(true)
	code, body, _ = sh.owner.do("POST", path+"/refunds", url.Values{"amount": {"9.95"}, "reason": {"late"}})
	if code != 303 {
		t.Fatalf("refund while Stripe fails: %d %s", code, body)
	}
	_, body, _ = sh.owner.do("GET", path, nil)
	if !strings.Contains(body, "bank is unreachable") || !strings.Contains(body, "Retry refund") {
		t.Errorf("the page does not say the refund failed or offer a retry")
	}
	var failedID int64
	if err := sh.pool.QueryRow(context.Background(), `SELECT id, status, request_key FROM refunds WHERE order_id = $1 AND amount_minor = 995`, id).Scan(&failedID, &status, &reqKey); err != nil || status != "requested" {
		t.Fatalf("the failed refund: %v %s", err, status)
	}
	// It counts against what is left: €40.00 is the most now.
	if code, body, _ := sh.owner.do("POST", path+"/refunds", url.Values{"amount": {"40.01"}}); code != 422 || !strings.Contains(shownError(body, "amount"), "€9.95 is being refunded") {
		t.Errorf("pending refunds count: %d %q", code, shownError(body, "amount"))
	}
	if code, _, _ := sh.owner.do("POST", fmt.Sprintf("%s/refunds/%d/retry", path, failedID), url.Values{}); code != 303 {
		t.Fatalf("retry while failing: %d", code)
	}
	proxy.setFail(false)
	if code, _, _ := sh.owner.do("POST", fmt.Sprintf("%s/refunds/%d/retry", path, failedID), url.Values{}); code != 303 {
		t.Fatalf("retry: %d", code)
	}
	keys, _ = proxy.refundKeys()
	if len(keys) != 4 || keys[1] != reqKey || keys[2] != reqKey || keys[3] != reqKey {
		t.Errorf("Stripe saw keys %v, want the first and then %s three times", keys, reqKey)
	}
	if err := sh.pool.QueryRow(context.Background(), `SELECT status FROM refunds WHERE id = $1`, failedID).Scan(&status); err != nil || status != "succeeded" {
		t.Errorf("after the retry: %s %v", status, err)
	}
	if code, _, _ := sh.owner.do("POST", fmt.Sprintf("%s/refunds/%d/retry", path, failedID), url.Values{}); code != 409 {
		t.Errorf("retry a refund that succeeded: %d", code)
	}

	// The rest, through the API: refunded in full.
	code, out := sh.api.call("POST", fmt.Sprintf("/orders/%d/refunds", id), map[string]any{"amount_minor": 4001})
	if code != 422 || apiErrField(out) != "amount_minor" {
		t.Errorf("API: too much: %d %v", code, out)
	}
	code, out = sh.api.call("POST", fmt.Sprintf("/orders/%d/refunds", id), map[string]any{"amount_minor": 4000, "reason": "gave up"})
	if code != 201 || out["refund"].(map[string]any)["status"] != "succeeded" || out["order"].(map[string]any)["payment_status"] != "refunded" {
		t.Fatalf("API: refund the rest: %d %v", code, out)
	}
	_, payment, _, refunded = sh.orderRow(id)
	if payment != "refunded" || refunded != 6995 {
		t.Errorf("after the full refund: %s %d", payment, refunded)
	}
	if code, out := sh.api.call("POST", fmt.Sprintf("/orders/%d/refunds", id), map[string]any{"amount_minor": 1}); code != 422 || !strings.Contains(errMessage(out), "refunded in full") {
		t.Errorf("refund a refunded order: %d %v", code, out)
	}
	if n := count(t, sh.pool, `SELECT count(*) FROM audit_log WHERE action LIKE 'order.refund%' AND target_id = $1`, fmt.Sprint(id)); n != 5 {
		t.Errorf("%d refund audit entries, want 5 (3 refunds, 2 retries)", n)
	}

	// An unpaid order has nothing to refund.
	unpaid := sh.order(testOrder{})
	if code, body, _ := sh.owner.do("POST", fmt.Sprintf("/admin/orders/%d/refunds", unpaid), url.Values{"amount": {"1"}}); code != 422 || !strings.Contains(body, "not paid") {
		t.Errorf("refund an unpaid order: %d", code)
	}

	// With payments off, refunds (and cancelling a paid order) are refused.
	off := ordersApp(t, s.e, "", "")
	b := &browser{t: t, s: off, host: "acme.localhost", cookie: sh.owner.cookie, csrf: sh.owner.csrf}
	paid := sh.order(testOrder{Paid: true})
	if code, body, _ := b.do("POST", fmt.Sprintf("/admin/orders/%d/refunds", paid), url.Values{"amount": {"1"}}); code != 422 || !strings.Contains(body, "Payments are off") {
		t.Errorf("refund with payments off: %d", code)
	}
	if code, _, _ := b.do("POST", fmt.Sprintf("/admin/orders/%d/status", paid), url.Values{"status": {"cancelled"}}); code != 422 {
		t.Errorf("cancel a paid order with payments off: %d", code)
	}
	if status, _, _, _ := sh.orderRow(paid); status != "paid" {
		t.Errorf("status %s", status)
	}
}

// apiErrField is the field of an API error.
func apiErrField(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

func TestOrderNotesAreInternal(t *testing.T) {
	t.Parallel()
	s, _ := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	sh := newOrdersShop(t, s, "acme", "Acme Tools")
	id := sh.order(testOrder{Paid: true})
	path := fmt.Sprintf("/admin/orders/%d", id)
	if code, body, _ := sh.owner.do("POST", path+"/notes", url.Values{"note": {"  "}}); code != 422 || shownError(body, "note") == "" {
		t.Errorf("empty note: %d", code)
	}
	if code, _, _ := sh.owner.do("POST", path+"/notes", url.Values{"note": {"Ring twice; the shopper is VIP-7731."}}); code != 303 {
		t.Fatalf("note: %d", code)
	}
	code, out := sh.api.call("POST", fmt.Sprintf("/orders/%d/notes", id), map[string]any{"message": "Second note via API-9912"})
	if code != 201 || out["internal"] != true || out["staff_name"] == "" {
		t.Fatalf("API note: %d %v", code, out)
	}
	if code, out := sh.api.call("POST", fmt.Sprintf("/orders/%d/notes", id), map[string]any{"message": strings.Repeat("x", 5001)}); code != 422 || apiErrField(out) != "message" {
		t.Errorf("a long note: %d %v", code, out)
	}
	if n := count(t, sh.pool, `SELECT count(*) FROM order_events WHERE order_id = $1 AND kind = 'note' AND internal AND staff_id IS NOT NULL`, id); n != 2 {
		t.Errorf("%d internal notes", n)
	}
	_, body, _ := sh.owner.do("GET", path, nil)
	if !strings.Contains(body, "VIP-7731") || !strings.Contains(body, "staff only") {
		t.Error("the note is not on the timeline, marked for staff")
	}
	// The shopper's order page never shows them.
	var token string
	_ = sh.pool.QueryRow(context.Background(), `SELECT access_token FROM orders WHERE id = $1`, id).Scan(&token)
	code, body = s.get(t, "acme.localhost", "/orders/"+token)
	if code != 200 || strings.Contains(body, "VIP-7731") || strings.Contains(body, "API-9912") {
		t.Errorf("the shopper's order page: %d, shows a note: %v", code, strings.Contains(body, "VIP-7731"))
	}
}

func TestCustomersPages(t *testing.T) {
	t.Parallel()
	s, _ := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	sh := newOrdersShop(t, s, "acme", "Acme Tools")
	alice := sh.customer("alice@example.com", "Alice Liddell")
	bob := sh.customer("bob@example.com", "Bob Builder")
	if _, err := sh.pool.Exec(context.Background(), `INSERT INTO customer_addresses (customer_id, name, line1, postal_code, city, country, is_default)
		VALUES ($1, 'Alice Liddell', '7 Rabbit Hole', 'OX1 1AA', 'Oxford', 'GB', true)`, alice); err != nil {
		t.Fatal(err)
	}
	a1 := sh.order(testOrder{Email: "alice@example.com", Customer: alice, Qty: []int{1}, Paid: true}) // 24.95
	a2 := sh.order(testOrder{Email: "alice@example.com", Customer: alice, Qty: []int{0, 1}, Paid: true})
	sh.order(testOrder{Email: "alice@example.com", Customer: alice, Qty: []int{1}}) // unpaid: not spent

	code, body, _ := sh.owner.do("GET", "/admin/customers", nil)
	if code != 200 || strings.Index(body, "Bob Builder") > strings.Index(body, "Alice Liddell") || !strings.Contains(body, "€54.90") {
		t.Fatalf("customers: %d", code) // newest first; 24.95 + 29.95 spent
	}
	if _, body, _ := sh.owner.do("GET", "/admin/customers?q=LIDDELL", nil); !strings.Contains(body, "Alice Liddell") || strings.Contains(body, "Bob Builder") {
		t.Error("search by name")
	}
	if _, body, _ := sh.owner.do("GET", "/admin/customers?q=bob%40", nil); strings.Contains(body, "Alice Liddell") || !strings.Contains(body, "Bob Builder") {
		t.Error("search by e-mail")
	}
	code, body, _ = sh.owner.do("GET", fmt.Sprintf("/admin/customers/%d", alice), nil)
	for _, want := range []string{"alice@example.com", "7 Rabbit Hole", "OX1 1AA Oxford", "default", fmt.Sprintf("/admin/orders/%d", a1),
		fmt.Sprintf("/admin/orders/%d", a2), "€54.90", ">3<"} {
		if !strings.Contains(body, want) {
			t.Errorf("the customer's page lacks %q", want)
		}
	}
	if code != 200 {
		t.Fatalf("customer: %d", code)
	}
	if code, _, _ := sh.owner.do("GET", "/admin/customers/99999", nil); code != 404 {
		t.Errorf("unknown customer: %d", code)
	}
	// Read-only: no write routes, and customers.read is needed.
	editor, _ := catalogMember(t, s, sh.v, "Catalog editor")
	if code, body, _ := editor.do("GET", fmt.Sprintf("/admin/customers/%d", bob), nil); code != 403 || !strings.Contains(body, "customers.read") {
		t.Errorf("editor: %d", code)
	}
	if code, _, _ := sh.owner.do("POST", fmt.Sprintf("/admin/customers/%d", bob), url.Values{}); code != 405 && code != 404 {
		t.Errorf("POST to a customer: %d", code)
	}

	// The API.
	code, out := sh.api.call("GET", "/customers?q=alice", nil)
	rows, _ := out["customers"].([]any)
	if code != 200 || len(rows) != 1 {
		t.Fatalf("API customers: %d %v", code, out)
	}
	c := rows[0].(map[string]any)
	spent := c["spent"].([]any)[0].(map[string]any)
	if num(c["order_count"]) != 3 || spent["currency"] != "EUR" || num(spent["amount_minor"]) != 5490 {
		t.Errorf("API customer row: %v", c)
	}
	code, out = sh.api.call("GET", fmt.Sprintf("/customers/%d", alice), nil)
	if code != 200 || len(out["addresses"].([]any)) != 1 || len(out["orders"].([]any)) != 3 || out["email"] != "alice@example.com" {
		t.Errorf("API customer: %d %v", code, out)
	}
	if code, _ := sh.api.call("GET", "/customers/99999", nil); code != 404 {
		t.Errorf("API unknown customer: %d", code)
	}
}

func TestVendorAPIOrders(t *testing.T) {
	t.Parallel()
	s, _ := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	sh := newOrdersShop(t, s, "acme", "Acme Tools")
	id := sh.order(testOrder{Email: "ada@example.com", Name: "Ada Lovelace", Qty: []int{1, 2}, Paid: true})

	code, out := sh.api.call("GET", fmt.Sprintf("/orders/%d", id), nil)
	if code != 200 || out["status"] != "paid" || len(out["lines"].([]any)) != 2 || len(out["events"].([]any)) == 0 ||
		out["customer_name"] != "Ada Lovelace" || num(out["total_minor"]) != 2000+2*2500+495 || out["payment_intent_id"] == nil {
		t.Fatalf("get: %d %v", code, out)
	}
	if got := out["allowed_statuses"].([]any); len(got) != 3 {
		t.Errorf("allowed: %v", got)
	}
	line := num(out["lines"].([]any)[1].(map[string]any)["id"])
	for _, c := range []struct {
		method, path string
		body         any
		code         int
		field        string
	}{
		{"POST", "/status", map[string]any{"status": "lost"}, 422, "status"},
		{"POST", "/status", map[string]any{"status": "delivered"}, 409, "status"},
		{"POST", "/status", `{"status": "fulfilled", "extra": 1}`, 400, ""},
		{"POST", "/shipments", map[string]any{"carrier": "DHL"}, 422, "tracking_number"},
		{"POST", "/refunds", map[string]any{}, 422, "amount_minor"},
		{"POST", "/refunds", map[string]any{"amount_minor": 0}, 422, "amount_minor"},
		{"POST", "/refunds", map[string]any{"amount_minor": 100, "restock": []any{map[string]any{"line_id": line, "quantity": 3}}}, 422, "restock"},
		{"POST", "/refunds", map[string]any{"amount_minor": 100, "restock": []any{map[string]any{"line_id": 424242, "quantity": 1}}}, 422, "restock"},
		{"POST", "/refunds", map[string]any{"amount_minor": 100, "request_key": "short"}, 422, "request_key"},
		{"POST", "/notes", map[string]any{"message": ""}, 422, "message"},
	} {
		code, out := sh.api.call(c.method, fmt.Sprintf("/orders/%d%s", id, c.path), c.body)
		if code != c.code || apiErrField(out) != c.field {
			t.Errorf("%s %s %v: %d %v", c.method, c.path, c.body, code, out)
		}
	}
	// A refund with a key of our own: sent twice, made once.
	body := map[string]any{"amount_minor": 2500, "reason": "one returned", "request_key": "api-refund-000000001",
		"restock": []any{map[string]any{"line_id": line, "quantity": 1}}}
	code, out = sh.api.call("POST", fmt.Sprintf("/orders/%d/refunds", id), body)
	if code != 201 || out["refund"].(map[string]any)["restock"] != true {
		t.Fatalf("refund: %d %v", code, out)
	}
	code, out = sh.api.call("POST", fmt.Sprintf("/orders/%d/refunds", id), body)
	if code != 200 || num(out["order"].(map[string]any)["refunded_minor"]) != 2500 {
		t.Errorf("the same refund again: %d %v", code, out)
	}
	if lines := out["order"].(map[string]any)["lines"].([]any); num(lines[1].(map[string]any)["returned_to_stock"]) != 1 {
		t.Errorf("returned: %v", lines)
	}
	if code, out := sh.api.call("POST", fmt.Sprintf("/orders/%d/refunds/99999/retry", id), nil); code != 404 {
		t.Errorf("retry an unknown refund: %d %v", code, out)
	}
	// The whole way to delivered.
	for _, step := range []struct{ path, status string }{{"/status", "fulfilled"}, {"/shipments", "shipped"}, {"/status", "delivered"}} {
		var body map[string]any
		if step.path == "/status" {
			body = map[string]any{"status": step.status}
		} else {
			body = map[string]any{"carrier": "La Poste", "tracking_number": "LP123456789LU"}
		}
		if code, out := sh.api.call("POST", fmt.Sprintf("/orders/%d%s", id, step.path), body); code != 200 || out["status"] != step.status {
			t.Fatalf("%s: %d %v", step.status, code, out)
		}
	}
	code, out = sh.api.call("GET", fmt.Sprintf("/orders/%d", id), nil)
	if code != 200 || out["carrier"] != "La Poste" || out["shipped_at"] == nil || len(out["refunds"].([]any)) != 1 {
		t.Errorf("after delivery: %v", out)
	}
	if code, _ := sh.api.call("GET", "/orders/99999", nil); code != 404 {
		t.Errorf("unknown order: %d", code)
	}
	// A catalog editor's token may not read orders.
	editor, _ := catalogMember(t, s, sh.v, "Catalog editor")
	ed := apiClient{t: t, srv: s.srv, host: sh.api.host, token: makeToken(t, editor, "ed")}
	if code, out := ed.call("GET", "/orders", nil); code != 403 || !strings.Contains(errMessage(out), "orders.read") {
		t.Errorf("editor: %d %v", code, out)
	}
}

// Each shop's order 1001 is its own: the same number in another shop's
// database is never reached from this one.
func TestOrdersStayInTheirShop(t *testing.T) {
	t.Parallel()
	s, _ := ordersEnv(t, testenv.Vars(t)["STOREFLEET_STRIPE_SECRET_KEY"])
	acme := newOrdersShop(t, s, "acme", "Acme Tools")
	bravo := newOrdersShop(t, s, "bravo", "Bravo Books")
	ca := acme.customer("alice@acme.example", "Alice Acme")
	cb := bravo.customer("bob@bravo.example", "Bob Bravo")
	a := acme.order(testOrder{Email: "alice@acme.example", Customer: ca, Paid: true})
	b := bravo.order(testOrder{Email: "bob@bravo.example", Customer: cb, Paid: true})
	if a != b || ca != cb {
		t.Fatalf("want the same ids in both shops: %d %d, %d %d", a, b, ca, cb)
	}
	_, body, _ := acme.owner.do("GET", fmt.Sprintf("/admin/orders/%d", a), nil)
	if !strings.Contains(body, "alice@acme.example") || strings.Contains(body, "bravo") {
		t.Error("acme's order page shows bravo's order")
	}
	_, body, _ = acme.owner.do("GET", fmt.Sprintf("/admin/customers/%d", ca), nil)
	if !strings.Contains(body, "Alice Acme") || strings.Contains(body, "Bob Bravo") {
		t.Error("acme's customer page shows bravo's customer")
	}
	if code, _ := acme.api.call("POST", fmt.Sprintf("/orders/%d/status", a), map[string]any{"status": "fulfilled"}); code != 200 {
		t.Fatalf("fulfil acme's: %d", code)
	}
	if status, _, _, _ := bravo.orderRow(b); status != "paid" {
		t.Errorf("bravo's order became %s", status)
	}
	// Acme's session and token are nobody on bravo's host.
	stray := &browser{t: t, s: s, host: "bravo.localhost", cookie: acme.owner.cookie, csrf: acme.owner.csrf}
	if code, _, h := stray.do("GET", fmt.Sprintf("/admin/orders/%d", b), nil); code != 303 || !strings.HasSuffix(h.Get("Location"), "/admin/login") {
		t.Errorf("acme's session on bravo: %d", code)
	}
	if code, _ := (apiClient{t: t, srv: s.srv, host: "bravo.localhost", token: acme.api.token}).call("GET", fmt.Sprintf("/orders/%d", b), nil); code != 401 {
		t.Errorf("acme's token on bravo: %d", code)
	}
	if code, out := bravo.api.call("GET", "/orders", nil); code != 200 || len(out["orders"].([]any)) != 1 ||
		out["orders"].([]any)[0].(map[string]any)["email"] != "bob@bravo.example" {
		t.Errorf("bravo's list: %v", out)
	}
}
