package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/testenv"
)

// TestCheckVendor: the consistency check flags an order the driver left
// unpaid that is not unpaid (unless its own payment request failed), and
// orders unknown to the driver beyond its checkouts of unknown outcome.
func TestCheckVendor(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	_, pool := e.TenantDB(t)
	ctx := context.Background()
	insert := func(n int, payment string) placedOrder {
		stock := "reserved"
		if payment != "unpaid" {
			stock = "released"
		}
		t.Helper()
		o := placedOrder{Token: fmt.Sprintf("token%020d", n), Lines: map[int64]int{}}
		if err := pool.QueryRow(ctx, `INSERT INTO orders (checkout_key, access_token, email, payment_status, stock_state, reserved_until, currency,
				subtotal_minor, shipping_minor, tax_minor, total_minor, tax_rate_bp, prices_include_tax, shipping_method_name, shipping_address)
			VALUES ($1, $2, 'load@example.com', $3, $4, now() + interval '30 minutes', 'EUR', 0, 0, 0, 0, 0, true, 'Post', '{}')
			RETURNING id`, fmt.Sprintf("checkoutkey%010d", n), o.Token, payment, stock).Scan(&o.ID); err != nil {
			t.Fatal(err)
		}
		return o
	}
	unpaid := insert(1, "unpaid")
	failed := insert(2, "failed") // left unpaid by the driver, yet failed
	payFailed := insert(3, "failed")
	payFailed.PayFailed = true
	insert(4, "unpaid") // unknown to the driver
	insert(5, "unpaid") // unknown to the driver
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	vs := &VendorState{Slug: "shop"}
	problems := func(placed []placedOrder, uncertain int) string {
		t.Helper()
		c, err := checkVendor(ctx, conn.Conn(), vs, placed, uncertain)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range c.Problems {
			if strings.Contains(p, "order") && !strings.Contains(p, "product") {
				out = append(out, p)
			}
		}
		return strings.Join(out, "\n")
	}
	if p := problems([]placedOrder{unpaid, payFailed}, 3); p != "" {
		t.Errorf("a consistent run has problems:\n%s", p)
	}
	if p := problems([]placedOrder{unpaid, failed, payFailed}, 2); !strings.Contains(p, fmt.Sprintf("order %d was never paid by the driver but is pending/failed", failed.ID)) {
		t.Errorf("an order the driver did not pay is failed, but: %q", p)
	}
	if p := problems([]placedOrder{unpaid, payFailed}, 1); !strings.Contains(p, "3 orders the driver never saw accepted") ||
		!strings.Contains(p, "only 1 checkouts of unknown outcome") {
		t.Errorf("3 orders unknown to the driver and 1 uncertain checkout, but: %q", p)
	}
}
