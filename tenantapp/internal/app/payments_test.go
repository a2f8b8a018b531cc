package app_test

import (
	"context"
	"io"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
)

// paymentsShopEnv is newShopEnv with the platform's Stripe client pointed
// at the test services' stripe-mock, under a key stripe-mock accepts (it
// wants sk_test_ followed by letters and digits only).
func paymentsShopEnv(t *testing.T) *shopEnv {
	t.Helper()
	e := testenv.New(t)
	cfg := *e.Cfg
	if cfg.StripeURL == "" {
		t.Fatal("STOREFLEET_STRIPE_URL is not set; start the test services with `make test-services`")
	}
	cfg.StripeSecretKey = "sk_test_" + strings.ReplaceAll(strings.TrimPrefix(cfg.StripeSecretKey, "sk_test_"), "_", "")
	a, err := app.New(context.Background(), &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &shopEnv{e: e, a: a, srv: srv}
}

func TestPaymentsConnectWithStripe(t *testing.T) {
	t.Parallel()
	s := paymentsShopEnv(t)
	v, owner := signedInOwner(t, s, "pay-connect", "Pay Connect")
	pool := s.e.VendorPool(t, v)
	ctx := context.Background()

	code, body, _ := owner.do("GET", "/admin/payments", nil)
	if code != 200 || !strings.Contains(body, "Connect with Stripe") || !strings.Contains(body, "5 %") {
		t.Fatalf("payments page: %d\n%s", code, body)
	}
	if !strings.Contains(body, `href="/admin/payments" aria-current="page"`) || !strings.Contains(body, `<a href="/admin/payments">Payments</a>`) {
		t.Error("the Payments page is not in the back office's navigation")
	}

	// No country: the form comes back with the error next to the field.
	code, body, _ = owner.do("POST", "/admin/payments/connect", url.Values{"country": {""}})
	if code != 422 || !strings.Contains(shownError(body, "country"), "Choose the country") {
		t.Fatalf("connect without a country: %d %q", code, shownError(body, "country"))
	}
	code, _, _ = owner.do("POST", "/admin/payments/connect", url.Values{"country": {"XX"}})
	if code != 422 {
		t.Fatalf("connect with an unknown country: %d", code)
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM shop_profile WHERE stripe_account_id IS NOT NULL`); n != 0 {
		t.Fatal("a refused form recorded an account")
	}

	// Connect: an Express account at stripe-mock, recorded in the control
	// plane and the shop, then off to Stripe's onboarding.
	code, _, h := owner.do("POST", "/admin/payments/connect", url.Values{"country": {"DE"}})
	link := h.Get("Location")
	if code != 303 || !strings.HasPrefix(link, "https://") || strings.Contains(link, "localhost") {
		t.Fatalf("connect: %d, Location %q", code, link)
	}
	var acct string
	if err := pool.QueryRow(ctx, `SELECT stripe_account_id FROM shop_profile`).Scan(&acct); err != nil || !strings.HasPrefix(acct, "acct_") {
		t.Fatalf("shop_profile account %q (%v)", acct, err)
	}
	var routed int64
	if err := s.e.CP.QueryRow(ctx, `SELECT vendor_id FROM stripe_accounts WHERE account_id = $1`, acct).Scan(&routed); err != nil || routed != v.ID {
		t.Fatalf("control plane routes %s to vendor %d (%v), want %d", acct, routed, err, v.ID)
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM audit_log WHERE action IN ('payments.account_created', 'payments.connected') AND target_id = $1`, acct); n != 2 {
		t.Errorf("%d audit entries for the connection, want 2", n)
	}

	// Connecting again (a double click, the "continue" button) reuses it.
	code, _, h = owner.do("POST", "/admin/payments/connect", url.Values{"country": {"FR"}})
	if code != 303 || !strings.HasPrefix(h.Get("Location"), "https://") {
		t.Fatalf("connect again: %d %q", code, h.Get("Location"))
	}
	// A crash after the control plane recorded the account but before the
	// shop did: the next attempt finishes with the same account.
	if _, err := pool.Exec(ctx, `UPDATE shop_profile SET stripe_account_id = NULL`); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := owner.do("POST", "/admin/payments/connect", url.Values{"country": {"DE"}}); code != 303 {
		t.Fatalf("connect after a crash: %d %s", code, body)
	}
	var again string
	if err := pool.QueryRow(ctx, `SELECT stripe_account_id FROM shop_profile`).Scan(&again); err != nil || again != acct {
		t.Fatalf("after the crash the shop has %q (%v), want %s", again, err, acct)
	}
	if n := countCP(t, s, `SELECT count(*) FROM stripe_accounts WHERE vendor_id = $1`, v.ID); n != 1 {
		t.Errorf("%d accounts for the vendor in the control plane", n)
	}

	// Back from Stripe: the account's state is read (stripe-mock's fixture
	// has charges and details off).
	code, _, h = owner.do("GET", "/admin/payments/return", nil)
	if code != 303 || h.Get("Location") != "/admin/payments" {
		t.Fatalf("return: %d %q", code, h.Get("Location"))
	}
	code, body, _ = owner.do("GET", "/admin/payments", nil)
	if code != 200 || !strings.Contains(body, "still needs some details") || !strings.Contains(body, acct) ||
		!strings.Contains(body, "Continue the set-up at Stripe") {
		t.Fatalf("payments page after return: %d\n%s", code, body)
	}
	// Stripe says the account is ready (as account.updated would): the
	// next return keeps what Stripe reports, and the page says so.
	if _, err := pool.Exec(ctx, `UPDATE shop_profile SET stripe_charges_enabled = true, stripe_details_submitted = true`); err != nil {
		t.Fatal(err)
	}
	if _, body, _ = owner.do("GET", "/admin/payments", nil); !strings.Contains(body, "shoppers can pay at checkout") ||
		strings.Contains(body, "Continue the set-up") {
		t.Errorf("a ready account's page:\n%s", body)
	}
	owner.do("GET", "/admin/payments/return", nil)
	if n := countRows(t, s, v, `SELECT count(*) FROM shop_profile WHERE NOT stripe_charges_enabled AND NOT stripe_details_submitted`); n != 1 {
		t.Error("return did not record the account's state as Stripe reports it")
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM audit_log WHERE action = 'payments.account_updated'`); n != 1 {
		t.Errorf("%d payments.account_updated entries, want 1", n)
	}

	// The link ran out: a new one.
	code, _, h = owner.do("GET", "/admin/payments/refresh", nil)
	if code != 303 || !strings.HasPrefix(h.Get("Location"), "https://") {
		t.Fatalf("refresh: %d %q", code, h.Get("Location"))
	}

	// A member without settings.write gets a 403.
	clerk, _ := catalogMember(t, s, v, "Catalog editor")
	if code, body, _ := clerk.do("GET", "/admin/payments", nil); code != 403 || !strings.Contains(body, "settings.write") {
		t.Errorf("catalog editor on the payments page: %d", code)
	}
}

func countCP(t *testing.T, s *shopEnv, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.e.CP.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPaymentsWithoutStripe(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	cfg := *e.Cfg
	cfg.StripeSecretKey = ""
	a, err := app.New(context.Background(), &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	s := &shopEnv{e: e, a: a, srv: srv}
	_, owner := signedInOwner(t, s, "pay-off", "Pay Off")
	if code, body, _ := owner.do("GET", "/admin/payments", nil); code != 200 || !strings.Contains(body, "Payments are not available yet") {
		t.Fatalf("payments page without Stripe: %d\n%s", code, body)
	}
	code, _, h := owner.do("POST", "/admin/payments/connect", url.Values{"country": {"DE"}})
	if code != 303 || h.Get("Location") != "/admin/payments" {
		t.Fatalf("connect without Stripe: %d %q", code, h.Get("Location"))
	}
	if _, body, _ := owner.do("GET", "/admin/payments", nil); !strings.Contains(body, "Ask the platform") {
		t.Error("no explanation after connect without Stripe")
	}
}

func TestShippingMethodsPage(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := signedInOwner(t, s, "ship-page", "Ship Page")
	pool := s.e.VendorPool(t, v)
	ctx := context.Background()

	code, body, _ := owner.do("GET", "/admin/shipping", nil)
	if code != 200 || !strings.Contains(body, "Standard delivery") || !strings.Contains(body, "€4.95") || !strings.Contains(body, "€50.00") {
		t.Fatalf("shipping list: %d\n%s", code, body)
	}
	before := countRows(t, s, v, `SELECT count(*) FROM shipping_methods`)

	// Every field wrong at once: 422, each error next to its field, nothing saved.
	code, body, _ = owner.do("POST", "/admin/shipping", url.Values{"name": {" "}, "description": {strings.Repeat("x", 301)},
		"price": {"4.999"}, "free_over": {"-5"}, "countries": {"DE, XX, deu"}})
	if code != 422 {
		t.Fatalf("bad method: %d", code)
	}
	for field, want := range map[string]string{"name": "name", "description": "300", "price": "2 decimal places",
		"free_over": "negative", "countries": "XX, deu"} {
		if got := shownError(body, field); !strings.Contains(got, want) {
			t.Errorf("%s: error %q, want it to mention %q", field, got, want)
		}
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM shipping_methods`); n != before {
		t.Fatal("a refused method was saved")
	}

	// A good one, at the end of the list.
	code, _, _ = owner.do("POST", "/admin/shipping", url.Values{"name": {"Pick-up in store"}, "description": {"Ready in 2 hours"},
		"price": {"0"}, "free_over": {""}, "countries": {"de, at,DE"}})
	if code != 303 {
		t.Fatalf("add method: %d", code)
	}
	var id int64
	var countries []string
	var price int64
	var free *int64
	var position int
	if err := pool.QueryRow(ctx, `SELECT id, countries, price_minor, free_over_minor, position FROM shipping_methods
		WHERE name = 'Pick-up in store'`).Scan(&id, &countries, &price, &free, &position); err != nil {
		t.Fatal(err)
	}
	if strings.Join(countries, ",") != "AT,DE" || price != 0 || free != nil || position != before {
		t.Errorf("saved method: countries %v price %d free %v position %d", countries, price, free, position)
	}
	path := "/admin/shipping/" + strconv.FormatInt(id, 10)

	// Edit it: a price with a decimal comma, and a threshold.
	if code, body, _ := owner.do("GET", path, nil); code != 200 || !strings.Contains(body, `value="AT, DE"`) {
		t.Fatalf("edit form: %d\n%s", code, body)
	}
	code, body, _ = owner.do("POST", path, url.Values{"name": {"Pick-up in store"}, "description": {"Ready in 2 hours"},
		"price": {"abc"}, "free_over": {"25"}, "countries": {""}})
	if code != 422 || !strings.Contains(shownError(body, "price"), "digits") {
		t.Fatalf("bad edit: %d %q", code, shownError(body, "price"))
	}
	code, _, _ = owner.do("POST", path, url.Values{"name": {"Pick-up in store"}, "description": {"Ready in 2 hours"},
		"price": {"1,50"}, "free_over": {"25"}, "countries": {""}})
	if code != 303 {
		t.Fatalf("edit: %d", code)
	}
	if err := pool.QueryRow(ctx, `SELECT countries, price_minor, free_over_minor FROM shipping_methods WHERE id = $1`, id).
		Scan(&countries, &price, &free); err != nil {
		t.Fatal(err)
	}
	if len(countries) != 0 || price != 150 || free == nil || *free != 2500 {
		t.Errorf("edited method: countries %v price %d free %v", countries, price, free)
	}

	// Move it to the top, step by step; the ends do nothing.
	for range 3 {
		if code, _, _ := owner.do("POST", path+"/move", url.Values{"direction": {"up"}}); code != 303 {
			t.Fatalf("move up: %d", code)
		}
	}
	var first int64
	if err := pool.QueryRow(ctx, `SELECT id FROM shipping_methods ORDER BY position, id LIMIT 1`).Scan(&first); err != nil || first != id {
		t.Errorf("the moved method is not first (%d, %v)", first, err)
	}
	if n := countRows(t, s, v, `SELECT count(DISTINCT position) FROM shipping_methods`); n != before+1 {
		t.Errorf("positions are not distinct after moving: %d distinct", n)
	}
	if code, _, _ := owner.do("POST", path+"/move", url.Values{"direction": {"sideways"}}); code != 422 {
		t.Errorf("move sideways: %d", code)
	}

	// Stop offering it, and offer it again.
	if code, _, _ := owner.do("POST", path+"/active", url.Values{"active": {"0"}}); code != 303 {
		t.Fatalf("deactivate: %d", code)
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM shipping_methods WHERE id = $1 AND NOT active`, id); n != 1 {
		t.Error("the method is still active")
	}
	if _, body, _ := owner.do("GET", "/admin/shipping", nil); !strings.Contains(body, "Offer again") {
		t.Error("the list does not offer to activate the method again")
	}
	if code, _, _ := owner.do("POST", path+"/active", url.Values{"active": {"1"}}); code != 303 {
		t.Fatalf("activate: %d", code)
	}

	if code, _, _ := owner.do("GET", "/admin/shipping/999999", nil); code != 404 {
		t.Errorf("unknown method: %d", code)
	}
	for _, action := range []string{"shipping.created", "shipping.updated", "shipping.moved", "shipping.deactivated", "shipping.activated"} {
		if n := countRows(t, s, v, `SELECT count(*) FROM audit_log WHERE action = $1 AND target_id = $2`, action, strconv.FormatInt(id, 10)); n < 1 {
			t.Errorf("no %s audit entry", action)
		}
	}
}

func TestTaxSettingsPage(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := signedInOwner(t, s, "tax-page", "Tax Page")
	pool := s.e.VendorPool(t, v)
	ctx := context.Background()

	if code, body, _ := owner.do("GET", "/admin/tax", nil); code != 200 || !strings.Contains(body, `value="VAT"`) {
		t.Fatalf("tax page: %d\n%s", code, body)
	}
	for _, c := range []struct{ rate, included, label, field, want string }{
		{"", "yes", "VAT", "rate", "percentage"},
		{"101", "yes", "VAT", "rate", "100 %"},
		{"7.125", "yes", "VAT", "rate", "two decimal places"},
		{"-5", "yes", "VAT", "rate", "digits"},
		{"20", "yes", "", "label", "such as VAT"},
		{"20", "yes", strings.Repeat("T", 31), "label", "30 characters"},
	} {
		code, body, _ := owner.do("POST", "/admin/tax", url.Values{"rate": {c.rate}, "included": {c.included}, "label": {c.label}})
		if code != 422 || !strings.Contains(shownError(body, c.field), c.want) {
			t.Errorf("rate %q label %q: %d %q, want 422 mentioning %q", c.rate, c.label, code, shownError(body, c.field), c.want)
		}
	}
	if code, body, _ := owner.do("POST", "/admin/tax", url.Values{"rate": {"20"}, "included": {"maybe"}, "label": {"VAT"}}); code != 422 ||
		!strings.Contains(body, "already include the tax") {
		t.Errorf("included=maybe: %d", code)
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM audit_log WHERE action = 'tax.updated'`); n != 0 {
		t.Fatal("a refused form was saved")
	}

	if code, _, _ := owner.do("POST", "/admin/tax", url.Values{"rate": {"19,5 %"}, "included": {"no"}, "label": {" Sales tax "}}); code != 303 {
		t.Fatalf("save tax: %d", code)
	}
	var bp int
	var included bool
	var label string
	if err := pool.QueryRow(ctx, `SELECT tax_rate_bp, prices_include_tax, tax_label FROM shop_profile`).Scan(&bp, &included, &label); err != nil {
		t.Fatal(err)
	}
	if bp != 1950 || included || label != "Sales tax" {
		t.Errorf("saved tax: %d %v %q", bp, included, label)
	}
	if _, body, _ := owner.do("GET", "/admin/tax", nil); !strings.Contains(body, `value="19.5"`) {
		t.Error("the form does not show the saved rate")
	}
	var after string
	if err := pool.QueryRow(ctx, `SELECT after::text FROM audit_log WHERE action = 'tax.updated'`).Scan(&after); err != nil ||
		!strings.Contains(after, "1950") || !strings.Contains(after, "Sales tax") {
		t.Errorf("audit entry %s (%v)", after, err)
	}
	// The same values again change nothing.
	owner.do("POST", "/admin/tax", url.Values{"rate": {"19.50"}, "included": {"no"}, "label": {"Sales tax"}})
	if n := countRows(t, s, v, `SELECT count(*) FROM audit_log WHERE action = 'tax.updated'`); n != 1 {
		t.Errorf("%d tax.updated entries, want 1", n)
	}
}
