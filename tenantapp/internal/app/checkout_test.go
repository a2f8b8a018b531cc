package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/platform"
)

// shopper is a shopper's browser on one shop: it keeps the shop's session
// cookie and sends what a browser sends on a same-origin form post.
type shopper struct {
	t      *testing.T
	s      *shopEnv
	host   string
	cookie string
}

func newShopper(t *testing.T, s *shopEnv, v *platform.Vendor) *shopper {
	return &shopper{t: t, s: s, host: v.Slug + ".localhost"}
}

func (b *shopper) request(method, path, contentType string, body io.Reader) (int, string, http.Header) {
	req, err := http.NewRequest(method, b.s.srv.URL+path, body)
	if err != nil {
		b.t.Error(err)
		return 0, "", nil
	}
	req.Host = b.host
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodPost || method == http.MethodPatch || method == http.MethodDelete {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if b.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "sf_shop", Value: b.cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Error(err)
		return 0, "", nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name == "sf_shop" {
			b.cookie = c.Value
		}
	}
	return resp.StatusCode, string(raw), resp.Header
}

func (b *shopper) get(path string) (int, string, http.Header) { return b.request("GET", path, "", nil) }

func (b *shopper) post(path string, form url.Values) (int, string, http.Header) {
	return b.request("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

func (b *shopper) json(method, path string, in any, out any) int {
	b.t.Helper()
	var body io.Reader
	if in != nil {
		raw, _ := json.Marshal(in)
		body = bytes.NewReader(raw)
	}
	code, resp, _ := b.request(method, path, "application/json", body)
	if out != nil && code < 300 {
		if err := json.Unmarshal([]byte(resp), out); err != nil {
			b.t.Fatalf("%s %s: %v\n%s", method, path, err, resp)
		}
	}
	return code
}

var (
	checkoutKeyField = regexp.MustCompile(`name="checkout_key" value="([^"]+)"`)
	cartVersionField = regexp.MustCompile(`name="cart_version" value="([^"]+)"`)
)

// checkoutForm opens the checkout page and returns its form, filled in.
func (b *shopper) checkoutForm() url.Values {
	b.t.Helper()
	code, body, _ := b.get("/checkout")
	key, ver := checkoutKeyField.FindStringSubmatch(body), cartVersionField.FindStringSubmatch(body)
	if code != 200 || key == nil || ver == nil {
		b.t.Fatalf("checkout page: %d\n%s", code, body)
	}
	return url.Values{"checkout_key": {key[1]}, "cart_version": {ver[1]}, "email": {"ada@example.com"},
		"name": {"Ada Lovelace"}, "line1": {"1 Rue de la Gare"}, "postal_code": {"1611"}, "city": {"Luxembourg"},
		"country": {"LU"}, "shipping_method_id": {"1"}}
}

// shopReady gives a vendor products with stock and a connected Stripe
// account, and returns its pool and the products' ids.
func shopReady(t *testing.T, s *shopEnv, v *platform.Vendor, stock ...int) (*pgxpool.Pool, []int64) {
	t.Helper()
	ctx := context.Background()
	pool := s.e.VendorPool(t, v)
	account := "acct_" + strings.ReplaceAll(v.Slug, "-", "") + "test"
	if _, err := pool.Exec(ctx, `UPDATE shop_profile SET stripe_account_id = $1, stripe_charges_enabled = true,
		stripe_details_submitted = true, tax_rate_bp = 1700`, account); err != nil {
		t.Fatal(err)
	}
	if _, err := s.e.Store.Pool().Exec(ctx, `INSERT INTO stripe_accounts (account_id, vendor_id) VALUES ($1, $2)`, account, v.ID); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i, n := range stock {
		var id int64
		err := pool.QueryRow(ctx, `INSERT INTO products (sku, title, handle, price_minor, state, stock_on_hand)
			VALUES ($1, $2, $3, $4, 'active', $5) RETURNING id`,
			fmt.Sprintf("SKU-%d", i), fmt.Sprintf("Product %d", i), fmt.Sprintf("product-%d", i), 2000+i*500, n).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return pool, ids
}

type stockRow struct{ onHand, reserved int }

func stockOf(t *testing.T, pool *pgxpool.Pool, id int64) stockRow {
	t.Helper()
	var s stockRow
	if err := pool.QueryRow(context.Background(), `SELECT stock_on_hand, stock_reserved FROM products WHERE id = $1`, id).Scan(&s.onHand, &s.reserved); err != nil {
		t.Fatal(err)
	}
	return s
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

var orderLocation = regexp.MustCompile(`/orders/([A-Za-z0-9_-]{22,64})$`)

func TestCheckoutPaysAndCommitsStock(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool, ids := shopReady(t, s, v, 5, 3)
	b := newShopper(t, s, v)

	if code, _, h := b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[0])}, "quantity": {"2"}}); code != 303 || h.Get("Location") != "/cart" {
		t.Fatalf("add to cart: %d %v", code, h)
	}
	b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[1])}, "quantity": {"1"}})
	code, body, _ := b.get("/cart")
	if code != 200 || !strings.Contains(body, "Product 0") || !strings.Contains(body, "€65.00") {
		t.Fatalf("cart: %d\n%s", code, body)
	}
	form := b.checkoutForm()
	// a total, a price and a currency in the form are not read
	form.Set("total", "1")
	form.Set("currency", "USD")
	code, _, h := b.post("/checkout", form)
	m := orderLocation.FindStringSubmatch(h.Get("Location"))
	if code != 303 || m == nil {
		t.Fatalf("place order: %d %v", code, h)
	}
	token := m[1]
	var total, sub, ship, tax int64
	var status, cur string
	if err := pool.QueryRow(context.Background(), `SELECT status, currency, total_minor, subtotal_minor, shipping_minor, tax_minor
		FROM orders WHERE access_token = $1`, token).Scan(&status, &cur, &total, &sub, &ship, &tax); err != nil {
		t.Fatal(err)
	}
	// 2 × 20.00 + 25.00 = 65.00; standard shipping is free from 50.00; 17 % included
	if status != "pending" || cur != "EUR" || sub != 6500 || ship != 0 || total != 6500 || tax != 944 {
		t.Fatalf("order: %s %s total %d sub %d ship %d tax %d", status, cur, total, sub, ship, tax)
	}
	if st := stockOf(t, pool, ids[0]); st != (stockRow{5, 2}) {
		t.Fatalf("stock after checkout: %+v", st)
	}
	// the same form sent again: the same order
	if code, _, h2 := b.post("/checkout", form); code != 303 || h2.Get("Location") != h.Get("Location") {
		t.Fatalf("second submit: %d %v (first %v)", code, h2, h)
	}
	if n := count(t, pool, `SELECT count(*) FROM orders`); n != 1 {
		t.Fatalf("%d orders after a double submit", n)
	}
	code, body, _ = b.get("/orders/" + token)
	if code != 200 || !strings.Contains(body, "Waiting for payment") || !strings.Contains(body, "with the test card") {
		t.Fatalf("order page: %d\n%s", code, body)
	}
	if code, _, _ := b.post("/orders/"+token+"/pay", url.Values{}); code != 303 {
		t.Fatalf("pay: %d", code)
	}
	code, body, _ = b.get("/orders/" + token)
	if code != 200 || !strings.Contains(body, "Payment received") {
		t.Fatalf("paid order page: %d\n%s", code, body)
	}
	if st := stockOf(t, pool, ids[0]); st != (stockRow{3, 0}) {
		t.Fatalf("stock after payment: %+v", st)
	}
	if n := count(t, pool, `SELECT count(*) FROM payments`); n != 1 {
		t.Fatalf("%d payments", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM notifications WHERE kind = 'order_confirmation' AND data->>'order_url' LIKE 'http://acme.localhost%'`); n != 1 {
		t.Fatalf("%d confirmations with a link on the shop's domain", n)
	}
	// paying again changes nothing
	b.post("/orders/"+token+"/pay", url.Values{})
	if n := count(t, pool, `SELECT count(*) FROM payments`); n != 1 {
		t.Fatalf("%d payments after paying twice", n)
	}
	// the cart is empty once paid
	if _, body, _ := b.get("/cart"); !strings.Contains(body, "Your cart is empty") {
		t.Fatalf("cart after payment:\n%s", body)
	}
}

func TestLastUnitSoldOnceToFiftyShoppers(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool, ids := shopReady(t, s, v, 1)
	const n = 50
	shoppers := make([]*shopper, n)
	forms := make([]url.Values, n)
	for i := range shoppers {
		shoppers[i] = newShopper(t, s, v)
		shoppers[i].post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[0])}})
		forms[i] = shoppers[i].checkoutForm()
	}
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range shoppers {
		wg.Go(func() {
			<-start
			codes[i], bodies[i], _ = shoppers[i].post("/checkout", forms[i])
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, c := range codes {
		switch c {
		case 303:
			won++
		case 409:
			if !strings.Contains(bodies[i], "just sold out") {
				t.Errorf("a refused shopper gets no clear message:\n%s", bodies[i])
			}
		default:
			t.Errorf("checkout %d: %d\n%s", i, c, bodies[i])
		}
	}
	if won != 1 {
		t.Fatalf("%d shoppers bought the last unit", won)
	}
	if st := stockOf(t, pool, ids[0]); st != (stockRow{1, 1}) {
		t.Fatalf("stock: %+v", st)
	}
	if o := count(t, pool, `SELECT count(*) FROM orders`); o != 1 {
		t.Fatalf("%d orders", o)
	}
	// the one order has its payment; there is no payment without an order
	if o := count(t, pool, `SELECT count(*) FROM orders WHERE payment_intent_id IS NOT NULL`); o != 1 {
		t.Fatalf("%d orders with a payment", o)
	}
	if m := count(t, pool, `SELECT count(*) FROM inventory_movements WHERE kind = 'reservation'`); m != 1 {
		t.Fatalf("%d reservations", m)
	}
}

func TestCartChangedAfterOrderIsNeverChargedTheOldTotal(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool, ids := shopReady(t, s, v, 5, 5)
	b := newShopper(t, s, v)
	b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[0])}})
	form := b.checkoutForm()

	// the cart changes between the review and the order: refused
	b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[1])}})
	code, body, _ := b.post("/checkout", form)
	if code != 409 || !strings.Contains(body, "Your cart changed") {
		t.Fatalf("stale checkout: %d\n%s", code, body)
	}
	form = b.checkoutForm()
	code, _, h := b.post("/checkout", form)
	token := orderLocation.FindStringSubmatch(h.Get("Location"))
	if code != 303 || token == nil {
		t.Fatalf("place: %d %v", code, h)
	}
	// and after the order was made (its payment exists): the order is
	// cancelled, its stock given back, and paying it is refused
	b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[1])}})
	code, body, _ = b.post("/orders/"+token[1]+"/pay", url.Values{})
	if code != 409 || !strings.Contains(body, "Your cart changed after this order was made") {
		t.Fatalf("pay a re-priced order: %d\n%s", code, body)
	}
	var status, payment string
	if err := pool.QueryRow(context.Background(), `SELECT status, payment_status FROM orders WHERE access_token = $1`, token[1]).Scan(&status, &payment); err != nil {
		t.Fatal(err)
	}
	if status != "cancelled" || payment != "unpaid" {
		t.Fatalf("re-priced order: %s/%s", status, payment)
	}
	if st := stockOf(t, pool, ids[1]); st != (stockRow{5, 0}) {
		t.Fatalf("stock of a re-priced order: %+v", st)
	}
	if p := count(t, pool, `SELECT count(*) FROM payments`); p != 0 {
		t.Fatalf("%d payments", p)
	}
}

func TestShopAPICheckoutComputesPricesItself(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool, ids := shopReady(t, s, v, 2)
	b := newShopper(t, s, v)
	var cart struct {
		Currency string `json:"currency"`
		Subtotal int64  `json:"subtotal"`
		Version  string `json:"version"`
	}
	if code := b.json("POST", "/api/v1/shop/cart/lines", map[string]any{"product_id": ids[0], "quantity": 2, "unit_price": 1}, &cart); code != 200 || cart.Subtotal != 4000 {
		t.Fatalf("add: %d %+v", code, cart)
	}
	var quote struct {
		CheckoutKey string `json:"checkout_key"`
	}
	if code := b.json("GET", "/api/v1/shop/checkout?shipping_method_id=2", nil, &quote); code != 200 {
		t.Fatalf("quote: %d", code)
	}
	in := map[string]any{"checkout_key": quote.CheckoutKey, "cart_version": cart.Version, "email": "Bob@Example.com",
		"shipping_method_id": 2, "total": 1, "currency": "USD", "subtotal": 0,
		"shipping_address": map[string]any{"name": "Bob", "line1": "2 Main St", "postal_code": "1000", "city": "Brussels", "country": "be"}}
	var placed struct {
		Order struct {
			ID       int64  `json:"id"`
			Total    int64  `json:"total"`
			Currency string `json:"currency"`
			Email    string `json:"email"`
		} `json:"order"`
		Token   string         `json:"token"`
		Payment map[string]any `json:"payment"`
	}
	if code := b.json("POST", "/api/v1/shop/checkout", in, &placed); code != 201 {
		t.Fatalf("checkout: %d", code)
	}
	// 40.00 + express 12.95
	if placed.Order.Total != 5295 || placed.Order.Currency != "EUR" || placed.Order.Email != "bob@example.com" || placed.Payment == nil {
		t.Fatalf("placed: %+v", placed)
	}
	// the same request again: the same order, 200
	if code := b.json("POST", "/api/v1/shop/checkout", in, &placed); code != 200 {
		t.Fatalf("retry: %d", code)
	}
	if n := count(t, pool, `SELECT count(*) FROM orders`); n != 1 {
		t.Fatalf("%d orders", n)
	}
	// bad input: one 422 naming every field
	code, body, _ := b.request("POST", "/api/v1/shop/checkout", "application/json", strings.NewReader(`{"checkout_key":"short","email":"x"}`))
	if code != 422 || !strings.Contains(body, `"shipping_address.city"`) || !strings.Contains(body, `"email"`) {
		t.Fatalf("bad checkout: %d %s", code, body)
	}
	// another shopper cannot touch this cart's lines
	other := newShopper(t, s, v)
	if code := other.json("PATCH", fmt.Sprintf("/api/v1/shop/cart/lines/%d", ids[0]), map[string]any{"quantity": 5}, nil); code != 404 {
		t.Fatalf("someone else's cart line: %d", code)
	}
	if code := b.json("POST", "/api/v1/shop/orders/"+placed.Token+"/pay", nil, nil); code != 200 {
		t.Fatalf("pay: %d", code)
	}
	if st := stockOf(t, pool, ids[0]); st != (stockRow{0, 0}) {
		t.Fatalf("stock: %+v", st)
	}
}

func TestExpiredReservationGoesBackOnSale(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool, ids := shopReady(t, s, v, 1)
	first, second := newShopper(t, s, v), newShopper(t, s, v)
	first.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[0])}})
	code, _, h := first.post("/checkout", first.checkoutForm())
	token := orderLocation.FindStringSubmatch(h.Get("Location"))
	if code != 303 || token == nil {
		t.Fatalf("first: %d", code)
	}
	second.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[0])}})
	form := second.checkoutForm()
	if code, _, _ := second.post("/checkout", form); code != 409 {
		t.Fatalf("sold while reserved: %d", code)
	}
	if _, err := pool.Exec(context.Background(), `UPDATE orders SET reserved_until = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	form = second.checkoutForm()
	if code, _, _ := second.post("/checkout", form); code != 303 {
		t.Fatalf("after the reservation ran out: %d", code)
	}
	code, body, _ := first.post("/orders/"+token[1]+"/pay", url.Values{})
	if code != 409 {
		t.Fatalf("paying an expired order: %d\n%s", code, body)
	}
	if st := stockOf(t, pool, ids[0]); st != (stockRow{1, 1}) {
		t.Fatalf("stock: %+v", st)
	}
}

func TestCheckingOutAgainReplacesTheUnpaidOrder(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool, ids := shopReady(t, s, v, 1)
	b := newShopper(t, s, v)
	b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[0])}})
	form := b.checkoutForm()
	code, _, h1 := b.post("/checkout", form)
	first := orderLocation.FindStringSubmatch(h1.Get("Location"))
	if code != 303 || first == nil {
		t.Fatalf("first checkout: %d", code)
	}
	// back, and again with a fresh form: the new order replaces the first
	code, _, h2 := b.post("/checkout", b.checkoutForm())
	second := orderLocation.FindStringSubmatch(h2.Get("Location"))
	if code != 303 || second == nil || second[1] == first[1] {
		t.Fatalf("second checkout: %d %v", code, h2)
	}
	if st := stockOf(t, pool, ids[0]); st != (stockRow{1, 1}) {
		t.Fatalf("stock held by one order only: %+v", st)
	}
	var status string
	if err := pool.QueryRow(context.Background(), `SELECT status FROM orders WHERE access_token = $1`, first[1]).Scan(&status); err != nil || status != "cancelled" {
		t.Fatalf("the replaced order: %q %v", status, err)
	}
	if code, body, _ := b.post("/orders/"+first[1]+"/pay", url.Values{}); code != 409 || !strings.Contains(body, "cannot be paid") {
		t.Fatalf("paying the replaced order: %d", code)
	}
	// a key another cart used is refused, not a 500
	other := newShopper(t, s, v)
	other.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[0])}})
	stolen := other.checkoutForm()
	stolen.Set("checkout_key", form.Get("checkout_key"))
	if code, body, _ := other.post("/checkout", stolen); code != 422 || !strings.Contains(body, "used for another cart") {
		t.Fatalf("a key of another cart: %d\n%s", code, body)
	}
}

func TestPaymentNewsAfterCancellationAndFailures(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool, ids := shopReady(t, s, v, 2)
	ctx := context.Background()
	place := func() (token, intent string) {
		b := newShopper(t, s, v)
		b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[0])}})
		_, _, h := b.post("/checkout", b.checkoutForm())
		m := orderLocation.FindStringSubmatch(h.Get("Location"))
		if m == nil {
			t.Fatalf("checkout: %v", h)
		}
		if err := pool.QueryRow(ctx, `SELECT payment_intent_id FROM orders WHERE access_token = $1`, m[1]).Scan(&intent); err != nil {
			t.Fatal(err)
		}
		return m[1], intent
	}
	// A declined card leaves the order payable; the next card pays it.
	_, intent := place()
	if out, err := orders.ApplyFailed(ctx, pool, intent, "Your card was declined."); err != nil || !out.Applied {
		t.Fatalf("failed: %+v %v", out, err)
	}
	if st := stockOf(t, pool, ids[0]); st != (stockRow{2, 1}) {
		t.Fatalf("a declined card released the reservation: %+v", st)
	}
	if out, err := orders.ApplyPaid(ctx, pool, orders.Paid{IntentID: intent, Amount: 2495, Currency: "EUR", Source: orders.SourceWebhook}, nil); err != nil || !out.Applied || out.Refund {
		t.Fatalf("paid after a decline: %+v %v", out, err)
	}
	if st := stockOf(t, pool, ids[0]); st != (stockRow{1, 0}) {
		t.Fatalf("stock after the payment: %+v", st)
	}
	// A payment for an order cancelled meanwhile never revives it: it is
	// refunded in full, and the stock stays where it is.
	token, intent := place()
	if _, err := pool.Exec(ctx, `UPDATE orders SET reserved_until = now() - interval '1 second' WHERE access_token = $1`, token); err != nil {
		t.Fatal(err)
	}
	if _, err := orders.ReleaseExpired(ctx, pool, time.Now(), 10); err != nil {
		t.Fatal(err)
	}
	out, err := orders.ApplyPaid(ctx, pool, orders.Paid{IntentID: intent, Amount: 2495, Currency: "EUR", Source: orders.SourceWebhook}, nil)
	if err != nil || !out.Refund || out.RefundKey != orders.AutoRefundKey(intent) {
		t.Fatalf("late payment: %+v %v", out, err)
	}
	var status, payment string
	if err := pool.QueryRow(ctx, `SELECT status, payment_status FROM orders WHERE access_token = $1`, token).Scan(&status, &payment); err != nil {
		t.Fatal(err)
	}
	if status != "cancelled" || payment != "paid" {
		t.Fatalf("late-paid order: %s/%s", status, payment)
	}
	if st := stockOf(t, pool, ids[0]); st != (stockRow{1, 0}) {
		t.Fatalf("a late payment took stock: %+v", st)
	}
	// Refund news only moves forward: a succeeded refund stays succeeded
	// when an older "pending" arrives after it.
	for _, st := range []string{"succeeded", "pending"} {
		if _, err := orders.ApplyRefund(ctx, pool, orders.RefundNews{IntentID: intent, RefundID: "re_late1", Amount: 2495, Status: st,
			RequestKey: out.RefundKey}); err != nil {
			t.Fatal(err)
		}
	}
	var refunded int64
	if err := pool.QueryRow(ctx, `SELECT refunded_minor, payment_status FROM orders WHERE access_token = $1`, token).Scan(&refunded, &payment); err != nil {
		t.Fatal(err)
	}
	if refunded != 2495 || payment != "refunded" {
		t.Fatalf("after out-of-order refund news: refunded %d, %s", refunded, payment)
	}
}
