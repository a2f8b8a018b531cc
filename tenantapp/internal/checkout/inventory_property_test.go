package checkout

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
)

// TestInventoryPropertyConcurrentOperations lets several goroutines do
// random things at once to one shop's few products: check out (reserve),
// pay (twice at once, as the webhook and the shopper's return do), fail,
// cancel, let reservations run out, refund, and adjust stock in the back
// office. A checker reads consistent snapshots all the while, and once
// more at the end, and requires that stock on hand and reserved stock are
// never negative, reserved stock is exactly what orders holding
// reservations hold, stock on hand is the starting stock plus the
// adjustments minus what paid orders took, the ledger of movements adds
// up to both, and every order's total is the sum of its lines plus
// shipping plus the tax it adds (with the tax what its rate says).
func TestInventoryPropertyConcurrentOperations(t *testing.T) {
	t.Parallel()
	seed := propertySeed(t)
	ctx := context.Background()
	e := testenv.New(t)
	_, pool := e.TenantDB(t)
	r := rand.New(rand.NewPCG(seed, 3))

	rate, incl := r.IntN(3000), r.IntN(2) == 0
	if _, err := pool.Exec(ctx, `UPDATE shop_profile SET tax_rate_bp = $1, prices_include_tax = $2`, rate, incl); err != nil {
		t.Fatal(err)
	}
	var products []int64
	initial := map[int64]int64{}
	for i := range 4 {
		price := 100 + r.Int64N(10_000)
		var sale *int64
		if r.IntN(3) == 0 {
			s := r.Int64N(price)
			sale = &s
		}
		stock := int64(5 + r.IntN(20))
		var id int64
		err := pool.QueryRow(ctx, `INSERT INTO products (sku, title, handle, price_minor, sale_price_minor, state, stock_on_hand)
			VALUES ($1, $2, $3, $4, $5, 'active', $6) RETURNING id`, fmt.Sprintf("INV-%d", i), fmt.Sprintf("Product %d", i),
			fmt.Sprintf("inv-%d", i), price, sale, stock).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		products = append(products, id)
		initial[id] = stock
	}

	w := &inventoryWorld{pool: pool, products: products, placer: &Placer{Pool: pool, CommissionBP: 500}}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	const workers, rounds = 4, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	adjusted := make([]map[int64]int64, workers)
	for i := range workers {
		adjusted[i] = map[int64]int64{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			wr := rand.New(rand.NewPCG(seed, 100+uint64(i)))
			for round := range rounds {
				if err := w.step(ctx, wr, adjusted[i]); err != nil {
					errs <- fmt.Errorf("worker %d, round %d: %w", i, round, err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	checks := 0
	var checker sync.WaitGroup
	checker.Add(1)
	go func() {
		defer checker.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := checkInventory(ctx, pool, initial, nil); err != nil {
				errs <- fmt.Errorf("snapshot %d, while the workers run: %w", checks, err)
				return
			}
			checks++
		}
	}()
	wg.Wait()
	close(done)
	checker.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := map[int64]int64{}
	for _, a := range adjusted {
		for p, n := range a {
			total[p] += n
		}
	}
	if err := checkInventory(ctx, pool, initial, total); err != nil {
		t.Fatalf("at the end: %v", err)
	}
	var placed, paid, cancelled int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE stock_state = 'committed'),
			count(*) FILTER (WHERE status = 'cancelled') FROM orders`).Scan(&placed, &paid, &cancelled); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders placed, %d paid, %d cancelled; %d consistent snapshots while running", placed, paid, cancelled, checks)
	if placed == 0 || checks == 0 {
		t.Fatalf("the test did nothing: %d orders, %d snapshots", placed, checks)
	}
}

// inventoryWorld is the shop the workers share, and the orders they made.
type inventoryWorld struct {
	pool     *pgxpool.Pool
	products []int64
	placer   *Placer

	mu      sync.Mutex
	intents []string // of every order placed
	paid    []string // of orders some worker paid
}

func (w *inventoryWorld) pick(r *rand.Rand, list *[]string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(*list) == 0 {
		return ""
	}
	return (*list)[r.IntN(len(*list))]
}

func (w *inventoryWorld) add(list *[]string, intent string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	*list = append(*list, intent)
}

// step does one random thing. Refusals the shop is meant to give (sold
// out, not enough stock to adjust away) are fine; anything else is not.
func (w *inventoryWorld) step(ctx context.Context, r *rand.Rand, adjusted map[int64]int64) error {
	pool := w.pool
	intent := w.pick(r, &w.intents)
	switch k := r.IntN(10); {
	case k < 3 || intent == "":
		return w.checkout(ctx, r)
	case k < 5:
		// the webhook and the shopper's return report the payment at once
		var total int64
		if err := pool.QueryRow(ctx, `SELECT total_minor FROM orders WHERE payment_intent_id = $1`, intent).Scan(&total); err != nil {
			return err
		}
		var wg sync.WaitGroup
		var errA, errB error
		var a, b orders.Outcome
		wg.Add(2)
		go func() {
			defer wg.Done()
			a, errA = orders.ApplyPaid(ctx, pool, orders.Paid{IntentID: intent, Amount: total, Currency: "EUR", Source: orders.SourceWebhook}, nil)
		}()
		go func() {
			defer wg.Done()
			b, errB = orders.ApplyPaid(ctx, pool, orders.Paid{IntentID: intent, Amount: total, Currency: "EUR", Source: orders.SourceReturn}, nil)
		}()
		wg.Wait()
		if err := errors.Join(errA, errB); err != nil {
			return fmt.Errorf("pay %s: %w", intent, err)
		}
		if a.Applied && b.Applied {
			return fmt.Errorf("pay %s: applied twice", intent)
		}
		w.add(&w.paid, intent)
	case k < 6:
		if _, err := orders.ApplyFailed(ctx, pool, intent, "card declined"); err != nil {
			return fmt.Errorf("fail %s: %w", intent, err)
		}
	case k < 7:
		err := orders.InTx(ctx, pool, func(tx pgx.Tx) error {
			var id int64
			if err := tx.QueryRow(ctx, `SELECT id FROM orders WHERE payment_intent_id = $1`, intent).Scan(&id); err != nil {
				return err
			}
			_, err := orders.CancelPending(ctx, tx, id, "Cancelled by the property test.", 0)
			return err
		})
		if err != nil {
			return fmt.Errorf("cancel %s: %w", intent, err)
		}
	case k < 8:
		if _, err := pool.Exec(ctx, `UPDATE orders SET reserved_until = now() - interval '1 minute'
			WHERE payment_intent_id = $1`, intent); err != nil {
			return err
		}
		if _, err := orders.ReleaseExpired(ctx, pool, time.Now(), 5); err != nil {
			return fmt.Errorf("release expired: %w", err)
		}
	case k < 9:
		paid := w.pick(r, &w.paid)
		if paid == "" {
			return nil
		}
		_, err := orders.ApplyRefund(ctx, pool, orders.RefundNews{IntentID: paid, RefundID: fmt.Sprintf("re_%d", r.Uint64()),
			Amount: 1 + r.Int64N(5000), Status: "succeeded"})
		if err != nil {
			return fmt.Errorf("refund %s: %w", paid, err)
		}
	default:
		p := w.products[r.IntN(len(w.products))]
		m := catalog.Movement{ProductID: p, Kind: catalog.MoveAdjustment, Quantity: int64(r.IntN(7) - 3), Reason: "stocktake"}
		if m.Quantity == 0 {
			m.Kind, m.Quantity = catalog.MoveReceipt, int64(1+r.IntN(5))
		}
		err := orders.InTx(ctx, pool, func(tx pgx.Tx) error {
			_, err := catalog.MoveTx(ctx, tx, m)
			return err
		})
		var se *catalog.StockError
		switch {
		case errors.As(err, &se):
			if m.Quantity > 0 {
				return fmt.Errorf("adding stock refused: %v", err)
			}
		case err != nil:
			return fmt.Errorf("move %+v: %w", m, err)
		default:
			adjusted[p] += m.Quantity
		}
	}
	return nil
}

// checkout fills a new cart and places its order, which then waits for
// payment with a PaymentIntent of its own.
func (w *inventoryWorld) checkout(ctx context.Context, r *rand.Rand) error {
	var cart int64
	var err error
	for range 1 + r.IntN(3) {
		p := w.products[r.IntN(len(w.products))]
		if cart, err = AddToCart(ctx, w.pool, cart, 0, p, 1+r.IntN(3)); err != nil {
			return fmt.Errorf("add to cart: %w", err)
		}
	}
	c, err := LoadCart(ctx, w.pool, cart)
	if err != nil {
		return err
	}
	placed, err := w.placer.Place(ctx, cart, 0, Details{CheckoutKey: NewCheckoutKey(), CartVersion: c.Version,
		Email: "shopper@example.com", ShippingMethodID: 1, ShippingAddress: orders.Address{Name: "Ada", Line1: "1 Rue de la Gare",
			PostalCode: "1611", City: "Luxembourg", Country: "LU"}})
	var we *web.Error
	if errors.As(err, &we) && we.Status == 409 {
		return nil // sold out meanwhile: nothing is held
	}
	if err != nil {
		return fmt.Errorf("place: %w", err)
	}
	intent := fmt.Sprintf("pi_prop_%d", placed.OrderID)
	if _, err := w.pool.Exec(ctx, `UPDATE orders SET payment_intent_id = $2 WHERE id = $1`, placed.OrderID, intent); err != nil {
		return err
	}
	w.add(&w.intents, intent)
	return nil
}

// checkInventory checks the invariants on one consistent snapshot.
// adjusted, if not nil, is what the workers saw adjusted per product, which
// the ledger must agree with.
func checkInventory(ctx context.Context, pool *pgxpool.Pool, initial, adjusted map[int64]int64) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT p.id, p.stock_on_hand, p.stock_reserved,
				coalesce((SELECT sum(ol.quantity) FROM order_lines ol JOIN orders o ON o.id = ol.order_id
					WHERE ol.product_id = p.id AND o.stock_state = 'reserved'), 0),
				coalesce((SELECT sum(ol.quantity) FROM order_lines ol JOIN orders o ON o.id = ol.order_id
					WHERE ol.product_id = p.id AND o.stock_state = 'committed'), 0),
				coalesce((SELECT sum(quantity) FROM inventory_movements m WHERE m.product_id = p.id
					AND m.kind IN ('adjustment', 'receipt')), 0),
				coalesce((SELECT sum(CASE kind WHEN 'reservation' THEN quantity WHEN 'release' THEN -quantity
					WHEN 'sale' THEN -quantity ELSE 0 END) FROM inventory_movements m WHERE m.product_id = p.id), 0),
				(SELECT array[on_hand_after, reserved_after] FROM inventory_movements m WHERE m.product_id = p.id
					ORDER BY id DESC LIMIT 1)
			FROM products p ORDER BY p.id`)
		if err != nil {
			return err
		}
		type stock struct {
			id, onHand, reserved, heldByOrders, soldToOrders, adjustments, ledgerReserved int64
			last                                                                          []int64
		}
		var s stock
		all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (stock, error) {
			err := row.Scan(&s.id, &s.onHand, &s.reserved, &s.heldByOrders, &s.soldToOrders, &s.adjustments, &s.ledgerReserved, &s.last)
			return s, err
		})
		if err != nil {
			return err
		}
		for _, s := range all {
			switch {
			case s.onHand < 0 || s.reserved < 0 || s.reserved > s.onHand:
				return fmt.Errorf("product %d: %d on hand, %d reserved", s.id, s.onHand, s.reserved)
			case s.reserved != s.heldByOrders:
				return fmt.Errorf("product %d: %d reserved, but orders hold %d", s.id, s.reserved, s.heldByOrders)
			case s.onHand != initial[s.id]+s.adjustments-s.soldToOrders:
				return fmt.Errorf("product %d: %d on hand, want %d at the start + %d adjusted - %d sold", s.id, s.onHand,
					initial[s.id], s.adjustments, s.soldToOrders)
			case s.reserved != s.ledgerReserved:
				return fmt.Errorf("product %d: %d reserved, the ledger says %d", s.id, s.reserved, s.ledgerReserved)
			case s.last != nil && (s.last[0] != s.onHand || s.last[1] != s.reserved):
				return fmt.Errorf("product %d: %d on hand, %d reserved; the ledger's last row says %v", s.id, s.onHand, s.reserved, s.last)
			case adjusted != nil && adjusted[s.id] != s.adjustments:
				return fmt.Errorf("product %d: adjusted by %d, the ledger says %d", s.id, adjusted[s.id], s.adjustments)
			}
		}
		rows, err = tx.Query(ctx, `SELECT o.id, o.status, o.payment_status, o.stock_state, o.subtotal_minor, o.shipping_minor,
				o.tax_minor, o.total_minor, o.tax_rate_bp, o.prices_include_tax,
				(SELECT coalesce(sum(line_total_minor), 0) FROM order_lines WHERE order_id = o.id),
				(SELECT count(*) FROM order_lines WHERE order_id = o.id AND line_total_minor <> unit_price_minor * quantity),
				(SELECT count(*) FROM payments WHERE order_id = o.id),
				m.price_minor, m.free_over_minor
			FROM orders o JOIN shipping_methods m ON m.id = o.shipping_method_id ORDER BY o.id`)
		if err != nil {
			return err
		}
		var (
			id, sub, ship, tax, total, lines, badLines, payments, price int64
			freeOver                                                    *int64
			status, payment, state                                      string
			rate                                                        int
			included                                                    bool
		)
		_, err = pgx.ForEachRow(rows, []any{&id, &status, &payment, &state, &sub, &ship, &tax, &total, &rate, &included,
			&lines, &badLines, &payments, &price, &freeOver}, func() error {
			if sub != lines || badLines != 0 {
				return fmt.Errorf("order %d: subtotal %d, its lines sum to %d (%d lines not price × quantity)", id, sub, lines, badLines)
			}
			if want := (ShippingMethod{Price: price, FreeOver: freeOver}).Cost(sub); ship != want {
				return fmt.Errorf("order %d: shipping %d, want %d", id, ship, want)
			}
			if err := checkQuote(sub, ship, Tax{RateBP: rate, PricesIncludeIt: included},
				Quote{Subtotal: sub, Shipping: ship, Tax: tax, Total: total, TaxRateBP: rate, TaxIncluded: included}); err != nil {
				return fmt.Errorf("order %d: %w", id, err)
			}
			ok := true
			switch state {
			case orders.StockReserved:
				ok = status == orders.StatusPending && payment == orders.PaymentUnpaid && payments == 0
			case orders.StockCommitted:
				ok = status == orders.StatusPaid && payments == 1 && payment != orders.PaymentUnpaid
			case orders.StockReleased:
				ok = status == orders.StatusCancelled
			}
			if !ok || payments > 1 {
				return fmt.Errorf("order %d: status %s, payment %s, stock %s, %d payments", id, status, payment, state, payments)
			}
			return nil
		})
		return err
	})
}
