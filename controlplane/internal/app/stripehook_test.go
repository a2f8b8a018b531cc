package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
)

// logBuffer collects a program's log lines, safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hookShop is a vendor connected to a Stripe account, with its database.
type hookShop struct {
	v       *platform.Vendor
	account string
	pool    *pgxpool.Pool
}

// hookEnv is a control plane with two connected vendors.
type hookEnv struct {
	*cp
	secret string
	logs   *logBuffer
	a, b   *hookShop
}

// stripeMockKey is key as stripe-mock accepts it: it wants a "valid
// looking" key, sk_test_ followed by letters and digits only.
func stripeMockKey(key string) string {
	rest, ok := strings.CutPrefix(key, "sk_test_")
	if !ok {
		return key
	}
	return "sk_test_" + strings.ReplaceAll(rest, "_", "")
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	logs := &logBuffer{}
	c := startWith(t, func(e *testenv.Env, m *app.Main) {
		m.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		e.Cfg.StripeSecretKey = stripeMockKey(e.Cfg.StripeSecretKey)
	})
	if c.Cfg.StripeWebhookSecret == "" || c.Cfg.StripeSecretKey == "" {
		t.Fatal("STOREFLEET_STRIPE_WEBHOOK_SECRET and STOREFLEET_STRIPE_SECRET_KEY are not set; start the test services with `make test-services`")
	}
	h := &hookEnv{cp: c, secret: c.Cfg.StripeWebhookSecret, logs: logs}
	h.a = h.connect(t, "hook-a-"+randHex(2), "Hook A")
	h.b = h.connect(t, "hook-b-"+randHex(2), "Hook B")
	return h
}

func (h *hookEnv) connect(t *testing.T, slug, name string) *hookShop {
	t.Helper()
	v := h.CreateVendor(t, slug, name)
	s := &hookShop{v: v, account: "acct_T" + randHex(8), pool: h.VendorPool(t, v)}
	ctx := context.Background()
	if _, err := h.CP.Exec(ctx, `SELECT register_stripe_account($1, $2)`, v.ID, s.account); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE shop_profile SET stripe_account_id = $1`, s.account); err != nil {
		t.Fatal(err)
	}
	return s
}

// order is an order waiting for its payment, with its stock reserved.
type order struct {
	id       int64
	intent   string
	total    int64
	products map[int64]int // product → quantity
}

// newOrder puts products with stock and an order for them (two lines)
// straight into the shop's database, reserves the stock as checkout
// does, and gives the order a PaymentIntent id.
func newOrder(t *testing.T, s *hookShop) *order {
	t.Helper()
	ctx := context.Background()
	o := &order{intent: "pi_T" + randHex(10), products: map[int64]int{}}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		type line struct {
			price int64
			qty   int
		}
		lines := []line{{1250, 2}, {990, 1}}
		var subtotal int64
		var ids []int64
		for i, l := range lines {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO products (sku, title, price_minor, state, stock_on_hand)
				VALUES ($1, $2, $3, 'active', 10) RETURNING id`, "SKU-"+randHex(4), fmt.Sprintf("Product %d", i), l.price).Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			subtotal += l.price * int64(l.qty)
		}
		o.total = subtotal + 495
		addr := `{"name":"Ada Shopper","line1":"1 Main Street","postal_code":"1000","city":"Brussels","country":"BE"}`
		if err := tx.QueryRow(ctx, `INSERT INTO orders (checkout_key, access_token, email, reserved_until, currency,
				subtotal_minor, shipping_minor, tax_minor, total_minor, tax_rate_bp, prices_include_tax, shipping_method_name,
				shipping_address, stripe_account_id, payment_intent_id, application_fee_minor)
			VALUES ($1, $2, 'ada@shopper.example', now() + interval '30 minutes', 'EUR', $3, 495, 0, $4, 2100, true,
				'Standard delivery', $5, $6, $7, 100) RETURNING id`,
			"ck-"+randHex(10), "tok_"+randHex(12), subtotal, o.total, addr, s.account, o.intent).Scan(&o.id); err != nil {
			return err
		}
		for i, l := range lines {
			if _, err := tx.Exec(ctx, `INSERT INTO order_lines (order_id, product_id, sku, title, unit_price_minor, quantity, line_total_minor)
				VALUES ($1, $2, 'SKU', 'Product', $3, $4, $5)`, o.id, ids[i], l.price, l.qty, l.price*int64(l.qty)); err != nil {
				return err
			}
			if err := orders.Reserve(ctx, tx, o.id, ids[i], l.qty); err != nil {
				return err
			}
			o.products[ids[i]] = l.qty
		}
		return nil
	})
	if err != nil {
		t.Fatalf("set up an order: %v", err)
	}
	return o
}

// event is a Stripe event about obj from account.
func event(id, typ, account string, obj map[string]any) []byte {
	ev := map[string]any{"id": id, "object": "event", "type": typ, "api_version": "2023-10-16",
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": obj}}
	if account != "" {
		ev["account"] = account
	}
	b, _ := json.Marshal(ev)
	return b
}

func evID() string { return "evt_T" + randHex(10) }

func (h *hookEnv) intentObject(s *hookShop, o *order, status string) map[string]any {
	return map[string]any{"id": o.intent, "object": "payment_intent", "amount": o.total, "amount_received": o.total,
		"currency": "eur", "status": status, "metadata": map[string]string{"vendor_id": strconv.FormatInt(s.v.ID, 10),
			"order_id": strconv.FormatInt(o.id, 10)}}
}

// post delivers a body with a signature header (none if sig is "").
func (h *hookEnv) post(t *testing.T, body []byte, sig string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+"/webhooks/stripe", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON: %d %s", res.StatusCode, raw)
	}
	return res.StatusCode, out, res.Header
}

// deliver signs and delivers a body as Stripe does.
func (h *hookEnv) deliver(t *testing.T, body []byte) (int, map[string]any) {
	t.Helper()
	code, out, _ := h.post(t, body, payments.SignPayload(body, h.secret, time.Now()))
	return code, out
}

func (h *hookEnv) mustDeliver(t *testing.T, body []byte, wantStatus string) map[string]any {
	t.Helper()
	code, out := h.deliver(t, body)
	if code != 200 || out["status"] != wantStatus {
		t.Fatalf("delivery: %d %v (want 200 %s); log:\n%s", code, out, wantStatus, h.logs.String())
	}
	return out
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

type orderState struct {
	Status, Payment, Stock string
	Refunded               int64
}

func stateOf(t *testing.T, s *hookShop, o *order) orderState {
	t.Helper()
	var st orderState
	if err := s.pool.QueryRow(context.Background(), `SELECT status, payment_status, stock_state, refunded_minor
		FROM orders WHERE id = $1`, o.id).Scan(&st.Status, &st.Payment, &st.Stock, &st.Refunded); err != nil {
		t.Fatal(err)
	}
	return st
}

// checkPaidOnce checks one payment, stock taken once, one confirmation.
func checkPaidOnce(t *testing.T, s *hookShop, o *order) {
	t.Helper()
	if st := stateOf(t, s, o); st.Status != "paid" || st.Payment != "paid" || st.Stock != "committed" {
		t.Errorf("order %d: %+v, want paid and committed", o.id, st)
	}
	if n := count(t, s.pool, `SELECT count(*) FROM payments WHERE order_id = $1`, o.id); n != 1 {
		t.Errorf("order %d has %d payments, want 1", o.id, n)
	}
	if n := count(t, s.pool, `SELECT count(*) FROM notifications WHERE order_id = $1 AND kind = 'order_confirmation'`, o.id); n != 1 {
		t.Errorf("order %d has %d confirmations, want 1", o.id, n)
	}
	for p, q := range o.products {
		var onHand, reserved int
		if err := s.pool.QueryRow(context.Background(), `SELECT stock_on_hand, stock_reserved FROM products WHERE id = $1`, p).
			Scan(&onHand, &reserved); err != nil {
			t.Fatal(err)
		}
		if onHand != 10-q || reserved != 0 {
			t.Errorf("product %d: on hand %d, reserved %d; want %d and 0", p, onHand, reserved, 10-q)
		}
		if n := count(t, s.pool, `SELECT count(*) FROM inventory_movements WHERE product_id = $1 AND kind = 'sale'`, p); n != 1 {
			t.Errorf("product %d sold %d times, want once", p, n)
		}
	}
}

func (h *hookEnv) eventRow(t *testing.T, id string) (exists, processed bool, outcome string) {
	t.Helper()
	var at *time.Time
	err := h.CP.QueryRow(context.Background(), `SELECT processed_at, outcome FROM stripe_events WHERE id = $1`, id).Scan(&at, &outcome)
	if err == pgx.ErrNoRows {
		return false, false, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return true, at != nil, outcome
}

func TestStripeWebhookPaysAnOrderOnce(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t)
	s := h.a
	o := newOrder(t, s)
	ctx := context.Background()

	id := evID()
	body := event(id, "payment_intent.succeeded", s.account, h.intentObject(s, o, "succeeded"))
	h.mustDeliver(t, body, "applied")
	checkPaidOnce(t, s, o)
	if _, processed, outcome := h.eventRow(t, id); !processed || !strings.HasPrefix(outcome, "applied: order") {
		t.Errorf("stripe_events: processed %v, outcome %q", processed, outcome)
	}
	if n := count(t, h.CP, `SELECT count(*) FROM stripe_events WHERE id = $1 AND vendor_id = $2`, id, s.v.ID); n != 1 {
		t.Error("the event is not recorded with its vendor")
	}
	if n := count(t, h.CP, `SELECT count(*) FROM vendor_work WHERE vendor_id = $1 AND kind = 'mail'`, s.v.ID); n != 1 {
		t.Error("the vendor's mail work was not asked for")
	}
	var link string
	if err := s.pool.QueryRow(ctx, `SELECT data->>'order_url' FROM notifications WHERE order_id = $1`, o.id).Scan(&link); err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(h.Cfg.TenantPublicURL, "{host}", s.v.Host) + "/orders/"; !strings.HasPrefix(link, want) {
		t.Errorf("the confirmation links to %s, want it on %s", link, want)
	}

	// The same event 100 times more: sequentially, then concurrently.
	for range 60 {
		if out := h.mustDeliver(t, body, "duplicate"); out["event"] != id {
			t.Fatalf("duplicate answer: %v", out)
		}
	}
	var wg sync.WaitGroup
	codes := make(chan int, 40)
	for range 40 {
		wg.Go(func() {
			code, out := h.deliver(t, body)
			if out["status"] != "duplicate" {
				code = -code
			}
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("a concurrent replay answered %d", c)
		}
	}
	// Stripe may also report the same payment under another event id.
	h.mustDeliver(t, event(evID(), "payment_intent.succeeded", s.account, h.intentObject(s, o, "succeeded")), "applied")
	checkPaidOnce(t, s, o)

	// A fresh event delivered many times at once from the start.
	o2 := newOrder(t, s)
	body2 := event(evID(), "payment_intent.succeeded", s.account, h.intentObject(s, o2, "succeeded"))
	statuses := make(chan string, 30)
	for range 30 {
		wg.Go(func() {
			code, out := h.deliver(t, body2)
			statuses <- fmt.Sprint(code, " ", out["status"])
		})
	}
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != "200 applied" && st != "200 duplicate" {
			t.Errorf("a concurrent first delivery answered %s", st)
		}
	}
	for range 30 {
		h.mustDeliver(t, body2, "duplicate")
	}
	checkPaidOnce(t, s, o2)
	if n := count(t, h.b.pool, `SELECT count(*) FROM payments`); n != 0 {
		t.Errorf("the other vendor has %d payments", n)
	}
}

func TestStripeWebhookRefusesBadSignatures(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t)
	s := h.a
	o := newOrder(t, s)
	id := evID()
	body := event(id, "payment_intent.succeeded", s.account, h.intentObject(s, o, "succeeded"))
	now := time.Now()
	tampered := bytes.Replace(body, []byte(`"amount_received":`), []byte(`"amount_received":1`), 1)
	cases := []struct {
		name, sig string
		body      []byte
		want      string
	}{
		{"missing header", "", body, "no Stripe-Signature header"},
		{"wrong secret", payments.SignPayload(body, "whsec_not_the_right_one", now), body, "no signature matches"},
		{"ten minutes old", payments.SignPayload(body, h.secret, now.Add(-10*time.Minute)), body, "older than"},
		{"body changed after signing", payments.SignPayload(body, h.secret, now), tampered, "no signature matches"},
		{"malformed header", "t=abc,v1=00", body, "malformed"},
		{"no v1 signature", fmt.Sprintf("t=%d,v0=abcd", now.Unix()), body, "no signature matches"},
	}
	for _, c := range cases {
		code, out, _ := h.post(t, c.body, c.sig)
		msg, _ := out["error"].(map[string]any)["message"].(string)
		if code != 400 || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q, want 400 mentioning %q", c.name, code, msg, c.want)
		}
	}
	big := bytes.Repeat([]byte(" "), 300<<10)
	if code, _, _ := h.post(t, big, payments.SignPayload(big, h.secret, now)); code != 413 {
		t.Errorf("a 300 KiB body: %d, want 413", code)
	}
	if n := count(t, h.CP, `SELECT count(*) FROM stripe_events`); n != 0 {
		t.Errorf("%d stripe_events rows after refused deliveries, want none", n)
	}
	if st := stateOf(t, s, o); st.Status != "pending" || st.Payment != "unpaid" {
		t.Errorf("order after refused deliveries: %+v", st)
	}
	if n := count(t, s.pool, `SELECT count(*) FROM payments`); n != 0 {
		t.Errorf("%d payments after refused deliveries", n)
	}
	// The genuine delivery still works.
	h.mustDeliver(t, body, "applied")
}

func TestStripeWebhookRoutesByAccountOnly(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t)
	a, b := h.a, h.b
	ob := newOrder(t, b)
	ctx := context.Background()
	snapshot := func(s *hookShop) string {
		var out string
		if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM payments) || '/' || (SELECT count(*) FROM order_events) || '/' ||
			(SELECT count(*) FROM notifications) || '/' || (SELECT count(*) FROM refunds) || '/' ||
			coalesce((SELECT string_agg(status || payment_status || stock_state, ',' ORDER BY id) FROM orders), '')`).Scan(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	beforeA, beforeB := snapshot(a), snapshot(b)

	// From A's account, naming B's vendor and B's order.
	id := evID()
	h.mustDeliver(t, event(id, "payment_intent.succeeded", a.account, h.intentObject(b, ob, "succeeded")), "ignored")
	if _, processed, outcome := h.eventRow(t, id); !processed || !strings.Contains(outcome, "names vendor") {
		t.Errorf("outcome %q", outcome)
	}
	// From A's account, about B's PaymentIntent, without metadata.
	obj := h.intentObject(b, ob, "succeeded")
	delete(obj, "metadata")
	id2 := evID()
	h.mustDeliver(t, event(id2, "payment_intent.succeeded", a.account, obj), "ignored")
	if _, _, outcome := h.eventRow(t, id2); !strings.Contains(outcome, "not an order of vendor") {
		t.Errorf("outcome %q", outcome)
	}
	// Refunds and disputes of B's payment from A's account.
	h.mustDeliver(t, event(evID(), "refund.updated", a.account, map[string]any{"id": "re_T" + randHex(6), "object": "refund",
		"amount": 100, "status": "succeeded", "payment_intent": ob.intent}), "ignored")
	h.mustDeliver(t, event(evID(), "charge.dispute.created", a.account, map[string]any{"id": "dp_T" + randHex(6), "object": "dispute",
		"status": "needs_response", "payment_intent": ob.intent}), "ignored")
	if strings.Count(h.logs.String(), "does not belong to the routed vendor") < 4 {
		t.Errorf("the ignored events are not all logged at warn level:\n%s", h.logs.String())
	}
	if !strings.Contains(h.logs.String(), `"level":"WARN"`) {
		t.Error("no warning logged")
	}
	// An unknown account, and no account at all.
	h.mustDeliver(t, event(evID(), "payment_intent.succeeded", "acct_Tnobody", h.intentObject(b, ob, "succeeded")), "ignored")
	h.mustDeliver(t, event(evID(), "payment_intent.succeeded", "", h.intentObject(b, ob, "succeeded")), "ignored")
	// A type the platform does not use.
	h.mustDeliver(t, event(evID(), "customer.created", b.account, map[string]any{"id": "cus_1", "object": "customer"}), "ignored")

	if a2, b2 := snapshot(a), snapshot(b); a2 != beforeA || b2 != beforeB {
		t.Errorf("vendor databases changed: A %s → %s, B %s → %s", beforeA, a2, beforeB, b2)
	}
	// From B's own account it applies.
	h.mustDeliver(t, event(evID(), "payment_intent.succeeded", b.account, h.intentObject(b, ob, "succeeded")), "applied")
	checkPaidOnce(t, b, ob)
}

func TestStripeWebhookFailuresRefundsDisputesAndAccounts(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t)
	s := h.a
	ctx := context.Background()

	// A declined card is one failed attempt: the PaymentIntent stays
	// usable, so the order keeps its reservation for the shopper's next
	// card (it runs out with the reservation if none comes).
	of := newOrder(t, s)
	obj := h.intentObject(s, of, "requires_payment_method")
	obj["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
	h.mustDeliver(t, event(evID(), "payment_intent.payment_failed", s.account, obj), "applied")
	if st := stateOf(t, s, of); st.Status != "pending" || st.Payment != "unpaid" || st.Stock != "reserved" {
		t.Errorf("order after a declined card: %+v", st)
	}
	for p, q := range of.products {
		if n := count(t, s.pool, `SELECT stock_reserved FROM products WHERE id = $1`, p); n != q {
			t.Errorf("product %d has %d reserved, want %d", p, n, q)
		}
	}
	if n := count(t, s.pool, `SELECT count(*) FROM order_events WHERE order_id = $1 AND message LIKE '%card was declined%'`, of.id); n != 1 {
		t.Error("the order's timeline does not say why the payment failed")
	}

	// Refunds: one listed on charge.refunded, then another by refund.updated.
	o := newOrder(t, s)
	h.mustDeliver(t, event(evID(), "payment_intent.succeeded", s.account, h.intentObject(s, o, "succeeded")), "applied")
	re1, re2 := "re_T"+randHex(6), "re_T"+randHex(6)
	charge := map[string]any{"id": "ch_T" + randHex(6), "object": "charge", "amount": o.total, "amount_refunded": 500,
		"payment_intent": o.intent, "refunded": false, "refunds": map[string]any{"object": "list", "data": []any{
			map[string]any{"id": re1, "object": "refund", "amount": 500, "status": "succeeded", "payment_intent": o.intent}}}}
	body := event(evID(), "charge.refunded", s.account, charge)
	h.mustDeliver(t, body, "applied")
	h.mustDeliver(t, body, "duplicate")
	h.mustDeliver(t, event(evID(), "charge.refunded", s.account, charge), "applied") // same news, new event id
	if st := stateOf(t, s, o); st.Refunded != 500 || st.Payment != "partially_refunded" {
		t.Errorf("after a partial refund: %+v", st)
	}
	rest := map[string]any{"id": re2, "object": "refund", "amount": o.total - 500, "status": "pending", "payment_intent": o.intent}
	h.mustDeliver(t, event(evID(), "refund.created", s.account, rest), "applied")
	if st := stateOf(t, s, o); st.Refunded != 500 {
		t.Errorf("a pending refund counted: %+v", st)
	}
	rest["status"] = "succeeded"
	h.mustDeliver(t, event(evID(), "refund.updated", s.account, rest), "applied")
	h.mustDeliver(t, event(evID(), "charge.refund.updated", s.account, rest), "applied")
	if st := stateOf(t, s, o); st.Refunded != o.total || st.Payment != "refunded" {
		t.Errorf("after refunding the rest: %+v", st)
	}
	if n := count(t, s.pool, `SELECT count(*) FROM refunds WHERE order_id = $1`, o.id); n != 2 {
		t.Errorf("%d refund rows, want 2", n)
	}
	// A refund the back office asked for (its row written before the
	// call) is matched by the key Stripe echoes in its metadata.
	o3 := newOrder(t, s)
	h.mustDeliver(t, event(evID(), "payment_intent.succeeded", s.account, h.intentObject(s, o3, "succeeded")), "applied")
	key := "sf-refund-test-" + randHex(4)
	if _, err := s.pool.Exec(ctx, `INSERT INTO refunds (order_id, request_key, amount_minor, status) VALUES ($1, $2, 300, 'requested')`, o3.id, key); err != nil {
		t.Fatal(err)
	}
	h.mustDeliver(t, event(evID(), "refund.updated", s.account, map[string]any{"id": "re_T" + randHex(6), "object": "refund",
		"amount": 300, "status": "succeeded", "payment_intent": o3.intent, "metadata": map[string]string{"request_key": key}}), "applied")
	if n := count(t, s.pool, `SELECT count(*) FROM refunds WHERE order_id = $1`, o3.id); n != 1 {
		t.Errorf("the requested refund was recorded twice (%d rows)", n)
	}
	if st := stateOf(t, s, o3); st.Refunded != 300 {
		t.Errorf("requested refund: %+v", st)
	}

	// A payment for an order cancelled meanwhile, whose items are sold:
	// refunded in full at Stripe (stripe-mock), with the fee given back.
	oc := newOrder(t, s)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := orders.CancelPending(ctx, tx, oc.id, "Cancelled by the test.", 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range oc.products {
		if _, err := s.pool.Exec(ctx, `UPDATE products SET stock_on_hand = 0 WHERE id = $1`, p); err != nil {
			t.Fatal(err)
		}
	}
	out := h.mustDeliver(t, event(evID(), "payment_intent.succeeded", s.account, h.intentObject(s, oc, "succeeded")), "applied")
	if !strings.Contains(out["outcome"].(string), "refunded in full") {
		t.Errorf("outcome %v", out["outcome"])
	}
	var refundID, refundStatus string
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(stripe_refund_id, ''), status FROM refunds WHERE order_id = $1`, oc.id).
		Scan(&refundID, &refundStatus); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(refundID, "re_") || refundStatus == "requested" {
		t.Errorf("automatic refund: id %q status %q", refundID, refundStatus)
	}
	if st := stateOf(t, s, oc); st.Status != "cancelled" {
		t.Errorf("order paid after it was sold out: %+v", st)
	}

	// A dispute, then won.
	od := newOrder(t, s)
	h.mustDeliver(t, event(evID(), "payment_intent.succeeded", s.account, h.intentObject(s, od, "succeeded")), "applied")
	dp := map[string]any{"id": "dp_T" + randHex(6), "object": "dispute", "amount": od.total, "status": "needs_response",
		"payment_intent": od.intent, "charge": "ch_x"}
	h.mustDeliver(t, event(evID(), "charge.dispute.created", s.account, dp), "applied")
	h.mustDeliver(t, event(evID(), "charge.dispute.updated", s.account, dp), "applied") // same state: no second entry
	if st := stateOf(t, s, od); st.Payment != "disputed" {
		t.Errorf("disputed order: %+v", st)
	}
	if n := count(t, s.pool, `SELECT count(*) FROM order_events WHERE order_id = $1 AND kind LIKE 'dispute.%'`, od.id); n != 1 {
		t.Errorf("%d dispute entries, want 1", n)
	}
	dp["status"] = "won"
	h.mustDeliver(t, event(evID(), "charge.dispute.closed", s.account, dp), "applied")
	if st := stateOf(t, s, od); st.Payment != "paid" {
		t.Errorf("won dispute: %+v", st)
	}

	// account.updated flips the shop's view of its account.
	acct := map[string]any{"id": s.account, "object": "account", "charges_enabled": true, "details_submitted": true,
		"metadata": map[string]string{"vendor_id": strconv.FormatInt(s.v.ID, 10)}}
	h.mustDeliver(t, event(evID(), "account.updated", s.account, acct), "applied")
	var charges, details bool
	if err := s.pool.QueryRow(ctx, `SELECT stripe_charges_enabled, stripe_details_submitted FROM shop_profile`).Scan(&charges, &details); err != nil {
		t.Fatal(err)
	}
	if !charges || !details {
		t.Errorf("after account.updated: charges %v, details %v", charges, details)
	}
	acct["charges_enabled"] = false
	h.mustDeliver(t, event(evID(), "account.updated", s.account, acct), "applied")
	if err := s.pool.QueryRow(ctx, `SELECT stripe_charges_enabled FROM shop_profile`).Scan(&charges); err != nil || charges {
		t.Errorf("charges still enabled (%v)", err)
	}
	// Another account's object in an event from this account is refused.
	acct["id"] = h.b.account
	h.mustDeliver(t, event(evID(), "account.updated", s.account, acct), "ignored")
}

func TestStripeWebhookWaitsForSuspendedVendors(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t)
	s := h.a
	o := newOrder(t, s)
	ctx := context.Background()
	actor := platform.Actor{Kind: "system", Name: "test"}
	if _, err := h.Prov.Suspend(ctx, actor, s.v.Slug, "unpaid bills"); err != nil {
		t.Fatal(err)
	}
	id := evID()
	body := event(id, "payment_intent.succeeded", s.account, h.intentObject(s, o, "succeeded"))
	code, out, hdr := h.post(t, body, payments.SignPayload(body, h.secret, time.Now()))
	if code != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("suspended vendor: %d %v, Retry-After %q", code, out, hdr.Get("Retry-After"))
	}
	if exists, processed, _ := h.eventRow(t, id); !exists || processed {
		t.Errorf("event row: exists %v processed %v; want received, not processed", exists, processed)
	}
	if st := stateOf(t, s, o); st.Status != "pending" {
		t.Errorf("order of a suspended vendor changed: %+v", st)
	}
	if _, err := h.Prov.Resume(ctx, actor, s.v.Slug); err != nil {
		t.Fatal(err)
	}
	h.mustDeliver(t, body, "applied") // Stripe's retry
	checkPaidOnce(t, s, o)
}

// TestStripeWebhookRacesTheShoppersReturn runs the shopper's return
// (ApplyPaid from the tenant app) and the webhook at the same moment, many
// times: one payment, the stock taken once, one confirmation.
func TestStripeWebhookRacesTheShoppersReturn(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t)
	s := h.a
	ctx := context.Background()
	shopURL := strings.ReplaceAll(h.Cfg.TenantPublicURL, "{host}", s.v.Host)
	for i := range 15 {
		o := newOrder(t, s)
		body := event(evID(), "payment_intent.succeeded", s.account, h.intentObject(s, o, "succeeded"))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 2 {
			wg.Go(func() {
				<-start
				if _, err := orders.ApplyPaid(ctx, s.pool, orders.Paid{IntentID: o.intent, Amount: o.total, Currency: "EUR",
					Source: orders.SourceReturn}, func(ctx context.Context, tx pgx.Tx, id int64) (int64, error) {
					return orders.QueueConfirmation(ctx, tx, id, shopURL)
				}); err != nil {
					t.Errorf("return %d: %v", i, err)
				}
			})
			wg.Go(func() {
				<-start
				if code, out := h.deliver(t, body); code != 200 {
					t.Errorf("webhook %d: %d %v", i, code, out)
				}
			})
		}
		close(start)
		wg.Wait()
		checkPaidOnce(t, s, o)
	}
}
