package jobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
)

// cleanupFixture gives a vendor things on each side of every clean-up
// rule (with the default settings).
func cleanupFixture(t *testing.T, e *testenv.Env, v *platform.Vendor, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var customer, staffID, product int64
	if err := pool.QueryRow(ctx, `INSERT INTO customers (email, password_hash) VALUES ('c@example.com', 'x') RETURNING id`).Scan(&customer); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT id FROM staff WHERE is_owner`).Scan(&staffID); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `INSERT INTO products (sku, title, price_minor, state, stock_on_hand, stock_reserved)
		VALUES ('P-1', 'Thing', 1000, 'active', 10, 5) RETURNING id`).Scan(&product); err != nil {
		t.Fatal(err)
	}
	// Carts: anonymous and old (gone), anonymous and recent, a customer's and old (kept).
	exec(`INSERT INTO carts (customer_id, updated_at) VALUES (NULL, now() - interval '31 days'), (NULL, now() - interval '29 days'),
		($1, now() - interval '40 days')`, customer)
	exec(`INSERT INTO cart_lines (cart_id, product_id, quantity) SELECT id, $1, 1 FROM carts`, product)
	// Tokens: used or expired over a week ago (gone); used 6 days ago, still valid (kept).
	exec(`INSERT INTO customer_tokens (customer_id, purpose, token_hash, expires_at, used_at) VALUES
		($1, 'reset', sha256('a'), now() - interval '7 days', now() - interval '8 days'),
		($1, 'reset', sha256('b'), now() - interval '5 days', now() - interval '6 days'),
		($1, 'reset', sha256('c'), now() - interval '8 days', NULL),
		($1, 'reset', sha256('d'), now() + interval '1 hour', NULL)`, customer)
	exec(`INSERT INTO staff_tokens (staff_id, purpose, name, token_hash, expires_at, used_at, created_at) VALUES
		($1, 'reset', 'gone-used', sha256('s1'), now() - interval '7 days', now() - interval '8 days', now() - interval '9 days'),
		($1, 'invite', 'gone-expired', sha256('s2'), now() - interval '10 days', NULL, now() - interval '17 days'),
		($1, 'reset', 'kept-fresh', sha256('s3'), now() + interval '1 hour', NULL, now()),
		($1, 'api', 'kept-api', sha256('s4'), NULL, NULL, now() - interval '400 days')`, staffID)
	// E-mails: sent 91 days ago (data emptied), 89 days ago (kept), failed long ago (kept).
	exec(`INSERT INTO notifications (kind, to_email, data, state, sent_at, created_at) VALUES
		('order_confirmation', 'a@example.com', '{"name": "gone"}', 'sent', now() - interval '91 days', now() - interval '91 days'),
		('order_confirmation', 'b@example.com', '{"name": "kept"}', 'sent', now() - interval '89 days', now() - interval '89 days'),
		('order_confirmation', 'c@example.com', '{"name": "kept-failed"}', 'failed', NULL, now() - interval '100 days')`)
	// Orders: a reservation that ran out (released, its payment cancelled), one that runs on.
	for _, o := range []struct {
		key, until string
	}{{"expired-order-key-0001", "now() - interval '1 minute'"}, {"running-order-key-0002", "now() + interval '10 minutes'"}} {
		var id int64
		err := pool.QueryRow(ctx, `INSERT INTO orders (checkout_key, access_token, email, reserved_until, currency, subtotal_minor,
				shipping_minor, tax_minor, total_minor, tax_rate_bp, prices_include_tax, shipping_method_name, shipping_address,
				stripe_account_id, payment_intent_id)
			VALUES ($1, $2, 'o@example.com', `+o.until+`, 'EUR', 2000, 0, 0, 2000, 0, true, 'Standard', '{}', 'acct_1Test', $3)
			RETURNING id`, o.key, strings.ReplaceAll(o.key, "-", "_"), "pi_"+strings.ReplaceAll(o.key, "-", "")).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO order_lines (order_id, product_id, sku, title, unit_price_minor, quantity, line_total_minor)
			VALUES ($1, $2, 'P-1', 'Thing', 1000, 2, 2000)`, id, product)
	}
	// Feed files: an import that ended 31 days ago (file removed), 29 days ago (kept), a running one (kept).
	for i, imp := range []struct{ key, state, ended string }{
		{"imports/2020/aaaaaaaaaaaaaaaa.feed", "finished", "now() - interval '31 days'"},
		{"imports/2020/bbbbbbbbbbbbbbbb.feed", "failed", "now() - interval '29 days'"},
		{"imports/2020/cccccccccccccccc.feed", "running", "NULL"},
	} {
		if _, err := e.Objects.Client().PutObject(ctx, v.Bucket, imp.key, bytes.NewReader([]byte("feed")), 4, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO imports (source, file_name, object_key, state, created_at, finished_at)
			VALUES ('upload', $1, $2, $3, now() - interval '40 days', `+imp.ended+`)`, "f"+string(rune('0'+i)), imp.key, imp.state)
	}
}

// Each clean-up removes exactly what has expired, a second run finds
// nothing more, and a vendor whose clean-up fails stops no other.
func TestCleanupRemovesExactlyWhatExpired(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	alpha := e.CreateVendor(t, "alpha", "Alpha")
	bravo := e.CreateVendor(t, "bravo", "Bravo")
	ap, bp := e.VendorPool(t, alpha), e.VendorPool(t, bravo)
	cleanupFixture(t, e, alpha, ap)
	cleanupFixture(t, e, bravo, bp)
	// Bravo's e-mail log cannot be cleaned (a column gone): that step
	// fails there, and everything else still runs, there and at alpha.
	if _, err := bp.Exec(ctx, `ALTER TABLE notifications DROP COLUMN sent_at`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CP.Exec(ctx, `INSERT INTO stripe_events (id, type, received_at) VALUES
		('evt_old', 'x', now() - interval '91 days'), ('evt_new', 'x', now() - interval '89 days')`); err != nil {
		t.Fatal(err)
	}

	sum, err := jobs.Cleanup(ctx, platformOf(e), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tot := sum.Totals
	if sum.Vendors != 2 || tot.Carts != 2 || tot.Reservations != 2 || tot.CustomerTokens != 4 || tot.StaffTokens != 4 ||
		tot.NotificationsWiped != 1 || tot.ImportFiles != 2 || sum.Platform.StripeEvents != 1 {
		t.Errorf("summary: %+v", sum)
	}
	if tot.PaymentsCancelled != 2 {
		t.Errorf("payments cancelled at Stripe: %d, want 2", tot.PaymentsCancelled)
	}
	if len(sum.Failed) != 1 || !strings.Contains(sum.Failed[0], "bravo") {
		t.Errorf("failures: %v", sum.Failed)
	}
	var alerts int
	if err := e.CP.QueryRow(ctx, `SELECT count(*) FROM platform_alerts WHERE kind = 'cleanup.failed' AND vendor_id = $1`, bravo.ID).Scan(&alerts); err != nil || alerts != 1 {
		t.Errorf("alert for bravo: %d %v", alerts, err)
	}

	for _, v := range []struct {
		vendor *platform.Vendor
		pool   *pgxpool.Pool
	}{{alpha, ap}, {bravo, bp}} {
		check := func(what, sql, want string) {
			t.Helper()
			var got string
			if err := v.pool.QueryRow(ctx, sql).Scan(&got); err != nil {
				t.Fatalf("%s of %s: %v", what, v.vendor.Slug, err)
			}
			if got != want {
				t.Errorf("%s of %s: %q, want %q", what, v.vendor.Slug, got, want)
			}
		}
		check("carts left", `SELECT string_agg(coalesce(customer_id::text, 'anon') || ':' || (now() - updated_at > interval '30 days')::text, ',' ORDER BY id) FROM carts`,
			"anon:false,1:true")
		check("cart lines left", `SELECT count(*)::text FROM cart_lines`, "2")
		check("customer tokens left", `SELECT string_agg(encode(token_hash, 'hex'), ',' ORDER BY id) FROM customer_tokens`,
			strings.Join([]string{sha("b"), sha("d")}, ","))
		check("staff tokens left", `SELECT string_agg(name, ',' ORDER BY name) FROM staff_tokens WHERE name <> ''`, "kept-api,kept-fresh")
		check("orders", `SELECT string_agg(checkout_key || ':' || status || ':' || stock_state, ',' ORDER BY id) FROM orders`,
			"expired-order-key-0001:cancelled:released,running-order-key-0002:pending:reserved")
		check("stock reserved", `SELECT stock_reserved::text FROM products`, "3")
		check("import files", `SELECT string_agg(state || ':' || (object_key <> '')::text, ',' ORDER BY id) FROM imports`, "finished:false,failed:true,running:true")
		for key, want := range map[string]bool{"imports/2020/aaaaaaaaaaaaaaaa.feed": false, "imports/2020/bbbbbbbbbbbbbbbb.feed": true, "imports/2020/cccccccccccccccc.feed": true} {
			_, err := e.Objects.Client().StatObject(ctx, v.vendor.Bucket, key, minio.StatObjectOptions{})
			if (err == nil) != want {
				t.Errorf("%s of %s in the bucket: %v, want %v", key, v.vendor.Slug, err == nil, want)
			}
		}
	}
	var data string
	if err := ap.QueryRow(ctx, `SELECT string_agg(data::text, ',' ORDER BY id) FROM notifications`).Scan(&data); err != nil ||
		data != `{},{"name": "kept"},{"name": "kept-failed"}` {
		t.Errorf("alpha's e-mail data: %s %v", data, err)
	}
	var events string
	if err := e.CP.QueryRow(ctx, `SELECT string_agg(id, ',') FROM stripe_events`).Scan(&events); err != nil || events != "evt_new" {
		t.Errorf("stripe events left: %q %v", events, err)
	}

	// Idempotent: a second run finds nothing more (bravo's broken step fails again).
	again, err := jobs.Cleanup(ctx, platformOf(e), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if again.Totals.Removed() != 0 || again.Platform.StripeEvents != 0 || len(again.Failed) != 1 {
		t.Errorf("second run: %+v", again)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
