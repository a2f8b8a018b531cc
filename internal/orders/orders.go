// Package orders keeps a vendor's orders consistent with their payments
// and its stock. The tenant app (the shopper coming back from paying, the
// back office) and the control plane (the Stripe webhook) both apply
// payment news here, in the vendor's database, and each function can be
// run any number of times, in any order and concurrently, with one effect:
// the webhook racing the shopper's return ends in one order and one
// payment.
//
// An order holds its stock as a reservation (products.stock_reserved)
// from checkout until it is paid (the stock is then taken from stock on
// hand), its payment fails or its reservation runs out (the stock is given
// back).
package orders

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Order statuses.
const (
	StatusPending   = "pending"
	StatusPaid      = "paid"
	StatusFulfilled = "fulfilled"
	StatusShipped   = "shipped"
	StatusDelivered = "delivered"
	StatusCancelled = "cancelled"
)

// Payment statuses.
const (
	PaymentUnpaid            = "unpaid"
	PaymentPaid              = "paid"
	PaymentFailed            = "failed"
	PaymentPartiallyRefunded = "partially_refunded"
	PaymentRefunded          = "refunded"
	PaymentDisputed          = "disputed"
)

// Stock states.
const (
	StockReserved  = "reserved"
	StockCommitted = "committed"
	StockReleased  = "released"
)

// ErrNoOrder means no order of this vendor has the payment.
var ErrNoOrder = errors.New("no order has this payment")

// InTx runs fn in a transaction on the vendor's pool.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, fn)
}

// Event adds a line to an order's timeline. staffID 0: no member.
func Event(ctx context.Context, tx pgx.Tx, orderID int64, kind, message string, internal bool, staffID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO order_events (order_id, kind, message, internal, staff_id)
		VALUES ($1, $2, $3, $4, nullif($5, 0))`, orderID, kind, message, internal, staffID)
	if err != nil {
		return fmt.Errorf("record %s on order %d: %w", kind, orderID, err)
	}
	return nil
}

// locked is an order read FOR UPDATE.
type locked struct {
	ID                                 int64
	Status, PaymentStatus, StockState  string
	Total, Refunded                    int64
	Currency, Email, Account, IntentID string
	CustomerID, CartID                 *int64
}

func lockByIntent(ctx context.Context, tx pgx.Tx, intentID string) (*locked, error) {
	return lock(ctx, tx, `payment_intent_id = $1`, intentID)
}

// LockByID reads an order FOR UPDATE (tests and the back office).
func lockByID(ctx context.Context, tx pgx.Tx, id int64) (*locked, error) {
	return lock(ctx, tx, `id = $1`, id)
}

func lock(ctx context.Context, tx pgx.Tx, where string, arg any) (*locked, error) {
	var o locked
	err := tx.QueryRow(ctx, `SELECT id, status, payment_status, stock_state, total_minor, refunded_minor, currency, email,
			coalesce(stripe_account_id, ''), coalesce(payment_intent_id, ''), customer_id, cart_id
		FROM orders WHERE `+where+` FOR UPDATE`, arg).
		Scan(&o.ID, &o.Status, &o.PaymentStatus, &o.StockState, &o.Total, &o.Refunded, &o.Currency, &o.Email,
			&o.Account, &o.IntentID, &o.CustomerID, &o.CartID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNoOrder
	}
	if err != nil {
		return nil, fmt.Errorf("lock order: %w", err)
	}
	return &o, nil
}

// Reserve holds quantity of a product for an order: it fails with
// ErrOutOfStock when fewer are available, and never lets stock go below
// zero (the UPDATE's guard, and the table's CHECK behind it).
func Reserve(ctx context.Context, tx pgx.Tx, orderID, productID int64, quantity int) error {
	var onHand, reserved int
	err := tx.QueryRow(ctx, `UPDATE products SET stock_reserved = stock_reserved + $2
		WHERE id = $1 AND state = 'active' AND stock_on_hand - stock_reserved >= $2
		RETURNING stock_on_hand, stock_reserved`, productID, quantity).Scan(&onHand, &reserved)
	if errors.Is(err, pgx.ErrNoRows) {
		return &OutOfStockError{ProductID: productID}
	}
	if err != nil {
		return fmt.Errorf("reserve product %d: %w", productID, err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO inventory_movements (product_id, kind, quantity, on_hand_after, reserved_after, reference)
		VALUES ($1, 'reservation', $2, $3, $4, $5)`, productID, quantity, onHand, reserved, orderRef(orderID))
	if err != nil {
		return fmt.Errorf("record the reservation of product %d: %w", productID, err)
	}
	return nil
}

// OutOfStockError says which product could not be reserved.
type OutOfStockError struct{ ProductID int64 }

func (e *OutOfStockError) Error() string {
	return fmt.Sprintf("product %d is no longer available in the quantity asked for", e.ProductID)
}

// ErrOutOfStock matches every OutOfStockError.
var ErrOutOfStock = errors.New("out of stock")

// Is makes errors.Is(err, ErrOutOfStock) true.
func (e *OutOfStockError) Is(target error) bool { return target == ErrOutOfStock }

func orderRef(id int64) string { return fmt.Sprintf("order %d", id) }

type line struct {
	productID int64
	quantity  int
}

func lines(ctx context.Context, tx pgx.Tx, orderID int64) ([]line, error) {
	rows, err := tx.Query(ctx, `SELECT product_id, sum(quantity)::int FROM order_lines
		WHERE order_id = $1 AND product_id IS NOT NULL GROUP BY product_id ORDER BY product_id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", orderID, err)
	}
	var out []line
	var l line
	_, err = pgx.ForEachRow(rows, []any{&l.productID, &l.quantity}, func() error {
		out = append(out, l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", orderID, err)
	}
	return out, nil
}

// moveStock changes the stock of every line of an order: commit takes the
// reserved units from stock on hand (a sale); release gives them back.
func moveStock(ctx context.Context, tx pgx.Tx, orderID int64, how string) error {
	ls, err := lines(ctx, tx, orderID)
	if err != nil {
		return err
	}
	for _, l := range ls { // in product id order: two orders never lock products in opposite orders
		var q, kind string
		switch how {
		case "commit":
			q, kind = `UPDATE products SET stock_on_hand = stock_on_hand - $2, stock_reserved = stock_reserved - $2
				WHERE id = $1 RETURNING stock_on_hand, stock_reserved`, "sale"
		case "release":
			q, kind = `UPDATE products SET stock_reserved = stock_reserved - $2
				WHERE id = $1 RETURNING stock_on_hand, stock_reserved`, "release"
		}
		var onHand, reserved int
		err := tx.QueryRow(ctx, q, l.productID, l.quantity).Scan(&onHand, &reserved)
		if errors.Is(err, pgx.ErrNoRows) {
			return &OutOfStockError{ProductID: l.productID}
		}
		if err != nil {
			return fmt.Errorf("%s stock of product %d for order %d: %w", how, l.productID, orderID, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO inventory_movements (product_id, kind, quantity, on_hand_after, reserved_after, reference)
			VALUES ($1, $2, $3, $4, $5, $6)`, l.productID, kind, l.quantity, onHand, reserved, orderRef(orderID))
		if err != nil {
			return fmt.Errorf("record the %s of product %d: %w", kind, l.productID, err)
		}
	}
	return nil
}

// Source says who told us about a payment.
const (
	SourceWebhook   = "webhook"
	SourceReturn    = "return"
	SourceReconcile = "reconcile"
)

// Paid is news that a PaymentIntent succeeded.
type Paid struct {
	IntentID string
	Amount   int64
	Currency string // upper case
	Source   string
}

// Outcome is what applying payment news did.
type Outcome struct {
	OrderID int64
	// Applied is false when the news had been applied before.
	Applied bool
	// Refund is set when the payment arrived for an order that can no
	// longer be served (cancelled, its stock sold to someone else since):
	// the caller must refund it at Stripe with RefundKey as the
	// idempotency key (the refund row is written already).
	Refund    bool
	RefundKey string
	Account   string
	// Confirmation is the id of the order confirmation queued in the
	// outbox (0: none); the caller asks for the vendor's mail work.
	Confirmation int64
}

// Confirm is called once an order is paid, inside the transaction that
// marks it paid: it queues the order confirmation and returns its id.
type Confirm func(ctx context.Context, tx pgx.Tx, orderID int64) (int64, error)

// ApplyPaid records a succeeded payment: the order becomes paid, its
// reserved stock is sold, the cart it came from is emptied of its lines
// and confirm queues the confirmation, all in one transaction. A payment
// seen before changes nothing. A payment for an order that was cancelled
// meanwhile (by staff, because its cart changed, or because its
// reservation ran out; the shopper may have paid a new order for the same
// things since) never brings it back: the payment is recorded and a full
// refund is asked for (Outcome.Refund).
func ApplyPaid(ctx context.Context, pool *pgxpool.Pool, p Paid, confirm Confirm) (Outcome, error) {
	var out Outcome
	err := InTx(ctx, pool, func(tx pgx.Tx) error {
		out = Outcome{}
		o, err := lockByIntent(ctx, tx, p.IntentID)
		if err != nil {
			return err
		}
		out.OrderID, out.Account = o.ID, o.Account
		tag, err := tx.Exec(ctx, `INSERT INTO payments (order_id, payment_intent_id, amount_minor, currency, source)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (payment_intent_id) DO NOTHING`, o.ID, p.IntentID, p.Amount, p.Currency, p.Source)
		if err != nil {
			return fmt.Errorf("record the payment of order %d: %w", o.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil // applied before
		}
		out.Applied = true
		if p.Amount != o.Total || p.Currency != o.Currency {
			if err := Event(ctx, tx, o.ID, "payment.mismatch", fmt.Sprintf("Stripe reports %d %s paid; the order's total is %d %s.",
				p.Amount, p.Currency, o.Total, o.Currency), true, 0); err != nil {
				return err
			}
		}
		if o.Status == StatusCancelled || o.StockState != StockReserved {
			return refundUnservable(ctx, tx, o, p, &out)
		}
		if err := moveStock(ctx, tx, o.ID, "commit"); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE orders SET status = CASE WHEN status = 'pending' THEN 'paid' ELSE status END,
				payment_status = 'paid', stock_state = 'committed', paid_at = now(), updated_at = now()
			WHERE id = $1`, o.ID)
		if err != nil {
			return fmt.Errorf("mark order %d paid: %w", o.ID, err)
		}
		if o.CartID != nil {
			if _, err := tx.Exec(ctx, `DELETE FROM cart_lines cl USING order_lines ol
				WHERE cl.cart_id = $1 AND ol.order_id = $2 AND cl.product_id = ol.product_id`, *o.CartID, o.ID); err != nil {
				return fmt.Errorf("empty the cart of order %d: %w", o.ID, err)
			}
		}
		if err := Event(ctx, tx, o.ID, "payment.succeeded", "Payment received.", false, 0); err != nil {
			return err
		}
		if confirm != nil {
			if out.Confirmation, err = confirm(ctx, tx, o.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// AutoRefundKey is the idempotency key (and refunds.request_key) of the
// full refund of a payment that arrived for an order that can no longer be
// served.
func AutoRefundKey(intentID string) string { return "sf-autorefund-" + intentID }

// refundUnservable records a payment that arrived for an order that was
// cancelled: the order stays cancelled, and a full refund is requested.
func refundUnservable(ctx context.Context, tx pgx.Tx, o *locked, p Paid, out *Outcome) error {
	out.Refund = true
	out.RefundKey = AutoRefundKey(p.IntentID)
	_, err := tx.Exec(ctx, `INSERT INTO refunds (order_id, request_key, amount_minor, reason, status)
		VALUES ($1, $2, $3, 'paid after the order was cancelled', 'requested')
		ON CONFLICT (request_key) DO NOTHING`, o.ID, out.RefundKey, p.Amount)
	if err != nil {
		return fmt.Errorf("request the refund of order %d: %w", o.ID, err)
	}
	_, err = tx.Exec(ctx, `UPDATE orders SET payment_status = 'paid', updated_at = now() WHERE id = $1`, o.ID)
	if err != nil {
		return fmt.Errorf("record the payment of order %d: %w", o.ID, err)
	}
	return Event(ctx, tx, o.ID, "payment.after_cancel",
		"A payment arrived after the order was cancelled; it is refunded in full.", false, 0)
}

// ApplyFailed records that an attempt to pay an order failed (a declined
// card). The PaymentIntent stays usable, so the shopper may try another
// card: the order keeps its reservation until it runs out, and only the
// timeline says what happened. News about an order that is not pending
// and unpaid changes nothing.
func ApplyFailed(ctx context.Context, pool *pgxpool.Pool, intentID, reason string) (Outcome, error) {
	var out Outcome
	err := InTx(ctx, pool, func(tx pgx.Tx) error {
		out = Outcome{}
		o, err := lockByIntent(ctx, tx, intentID)
		if err != nil {
			return err
		}
		out.OrderID, out.Account = o.ID, o.Account
		if o.Status != StatusPending || o.PaymentStatus != PaymentUnpaid {
			return nil
		}
		out.Applied = true
		return Event(ctx, tx, o.ID, "payment.failed", "A payment attempt failed: "+reason, false, 0)
	})
	return out, err
}

// cancel gives back a pending order's stock and cancels it.
func cancel(ctx context.Context, tx pgx.Tx, o *locked, paymentStatus, kind, message string) error {
	if o.StockState == StockReserved {
		if err := moveStock(ctx, tx, o.ID, "release"); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `UPDATE orders SET status = 'cancelled', payment_status = $2, stock_state = 'released',
			cancelled_at = now(), updated_at = now()
		WHERE id = $1`, o.ID, paymentStatus)
	if err != nil {
		return fmt.Errorf("cancel order %d: %w", o.ID, err)
	}
	return Event(ctx, tx, o.ID, kind, message, false, 0)
}

// Expired is an order whose reservation ran out, cancelled by
// ReleaseExpired: its PaymentIntent should be cancelled at Stripe.
type Expired struct {
	OrderID           int64
	Account, IntentID string
}

// ReleaseExpired cancels up to limit unpaid orders whose reservations ran
// out before now and gives their stock back, each order in a transaction
// of its own (so products are locked in id order, as checkout and payment
// lock them, and a long batch holds no locks). Orders locked by another
// transaction (being paid right now) are skipped and looked at next time.
func ReleaseExpired(ctx context.Context, pool *pgxpool.Pool, now time.Time, limit int) ([]Expired, error) {
	rows, err := pool.Query(ctx, `SELECT id FROM orders
		WHERE stock_state = 'reserved' AND reserved_until < $1 AND payment_status = 'unpaid' AND status = 'pending'
		ORDER BY reserved_until LIMIT $2`, now, limit)
	if err != nil {
		return nil, fmt.Errorf("find expired reservations: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("find expired reservations: %w", err)
	}
	var out []Expired
	for _, id := range ids {
		var e *Expired
		err := InTx(ctx, pool, func(tx pgx.Tx) error {
			e = nil
			var o locked
			err := tx.QueryRow(ctx, `SELECT id, status, payment_status, stock_state, coalesce(stripe_account_id, ''),
					coalesce(payment_intent_id, '')
				FROM orders WHERE id = $1 AND stock_state = 'reserved' AND reserved_until < $2 AND payment_status = 'unpaid'
					AND status = 'pending'
				FOR UPDATE SKIP LOCKED`, id, now).Scan(&o.ID, &o.Status, &o.PaymentStatus, &o.StockState, &o.Account, &o.IntentID)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // paid, cancelled or being paid meanwhile
			}
			if err != nil {
				return fmt.Errorf("lock expired order %d: %w", id, err)
			}
			if err := cancel(ctx, tx, &o, PaymentUnpaid, "reservation.expired",
				"The order was not paid in time; its items were put back on sale."); err != nil {
				return err
			}
			e = &Expired{OrderID: o.ID, Account: o.Account, IntentID: o.IntentID}
			return nil
		})
		if err != nil {
			return out, err
		}
		if e != nil {
			out = append(out, *e)
		}
	}
	return out, nil
}

// CancelPending cancels an unpaid order on the shopper's or staff's
// request (a re-priced checkout, a cancelled order): its stock is given
// back. It returns false if the order was no longer pending and unpaid.
func CancelPending(ctx context.Context, tx pgx.Tx, orderID int64, message string, staffID int64) (bool, error) {
	o, err := lockByID(ctx, tx, orderID)
	if err != nil {
		return false, err
	}
	if o.Status != StatusPending || o.PaymentStatus != PaymentUnpaid {
		return false, nil
	}
	if err := cancel(ctx, tx, o, PaymentUnpaid, "order.cancelled", message); err != nil {
		return false, err
	}
	if staffID != 0 {
		_, err = tx.Exec(ctx, `UPDATE order_events SET staff_id = $2 WHERE id = (SELECT max(id) FROM order_events WHERE order_id = $1)`, orderID, staffID)
	}
	return true, err
}

// RefundNews is what Stripe reports of a refund.
type RefundNews struct {
	IntentID string
	RefundID string
	Amount   int64
	Status   string // pending, succeeded, failed, canceled
	// RequestKey is the idempotency key the refund was made with, when
	// it was made by us (Stripe echoes it in the refund's metadata).
	RequestKey string
}

// ApplyRefund records a refund's state: it matches the refund we asked
// for (by Stripe's id, or by our key), or records one made elsewhere (the
// Stripe dashboard); the order's refunded total and payment status follow
// the refunds that succeeded. Applying the same news again changes nothing.
func ApplyRefund(ctx context.Context, pool *pgxpool.Pool, n RefundNews) (Outcome, error) {
	var out Outcome
	err := InTx(ctx, pool, func(tx pgx.Tx) error {
		out = Outcome{}
		o, err := lockByIntent(ctx, tx, n.IntentID)
		if err != nil {
			return err
		}
		out.OrderID, out.Account = o.ID, o.Account
		var before string
		err = tx.QueryRow(ctx, `SELECT status FROM refunds WHERE stripe_refund_id = $1 OR (request_key = $2 AND $2 <> '')`,
			n.RefundID, n.RequestKey).Scan(&before)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			_, err = tx.Exec(ctx, `INSERT INTO refunds (order_id, request_key, stripe_refund_id, amount_minor, status, reason)
				VALUES ($1, $2, $3, $4, $5, 'made at Stripe')`, o.ID, "stripe-"+n.RefundID, n.RefundID, n.Amount, n.Status)
		case err == nil:
			// Stripe does not promise the order of its news, and an
			// answer to our own call may come after the webhook's: a
			// refund only moves forward, and a final state stays.
			if refundRank(n.Status) <= refundRank(before) {
				return nil
			}
			_, err = tx.Exec(ctx, `UPDATE refunds SET status = $3, stripe_refund_id = $1, updated_at = now()
				WHERE stripe_refund_id = $1 OR (request_key = $2 AND $2 <> '')`, n.RefundID, n.RequestKey, n.Status)
		}
		if err != nil {
			return fmt.Errorf("record refund %s of order %d: %w", n.RefundID, o.ID, err)
		}
		out.Applied = true
		if err := syncRefunded(ctx, tx, o.ID); err != nil {
			return err
		}
		msg := fmt.Sprintf("Refund %s: %s.", n.RefundID, n.Status)
		return Event(ctx, tx, o.ID, "refund."+n.Status, msg, false, 0)
	})
	return out, err
}

// refundRank orders refund states: requested, then pending, then the
// final ones (succeeded, failed, canceled), which never change again.
func refundRank(status string) int {
	switch status {
	case "requested":
		return 0
	case "pending", "requires_action":
		return 1
	}
	return 2
}

// syncRefunded sets an order's refunded total and payment status from its
// refunds that succeeded.
func syncRefunded(ctx context.Context, tx pgx.Tx, orderID int64) error {
	_, err := tx.Exec(ctx, `UPDATE orders o SET refunded_minor = least(r.sum, o.total_minor),
			payment_status = CASE WHEN o.payment_status = 'disputed' THEN 'disputed'
				WHEN r.sum >= o.total_minor THEN 'refunded'
				WHEN r.sum > 0 THEN 'partially_refunded'
				ELSE o.payment_status END,
			updated_at = now()
		FROM (SELECT coalesce(sum(amount_minor), 0) AS sum FROM refunds WHERE order_id = $1 AND status = 'succeeded') r
		WHERE o.id = $1`, orderID)
	if err != nil {
		return fmt.Errorf("total the refunds of order %d: %w", orderID, err)
	}
	return nil
}

// SyncRefunded is syncRefunded for callers that record refunds themselves
// (the back office, when Stripe answers a refund at once).
func SyncRefunded(ctx context.Context, tx pgx.Tx, orderID int64) error {
	return syncRefunded(ctx, tx, orderID)
}

// ApplyDispute records that the shopper's bank disputes the payment
// (status "needs_response", "won", "lost", …).
func ApplyDispute(ctx context.Context, pool *pgxpool.Pool, intentID, disputeID, status string) (Outcome, error) {
	var out Outcome
	err := InTx(ctx, pool, func(tx pgx.Tx) error {
		out = Outcome{}
		o, err := lockByIntent(ctx, tx, intentID)
		if err != nil {
			return err
		}
		out.OrderID, out.Account = o.ID, o.Account
		kind := "dispute." + status
		var seen bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM order_events WHERE order_id = $1 AND kind = $2
			AND data->>'dispute' = $3)`, o.ID, kind, disputeID).Scan(&seen); err != nil {
			return fmt.Errorf("read the disputes of order %d: %w", o.ID, err)
		}
		if seen {
			return nil
		}
		out.Applied = true
		ps := PaymentDisputed
		if status == "won" {
			ps = PaymentPaid
		}
		if _, err := tx.Exec(ctx, `UPDATE orders SET payment_status = $2, updated_at = now() WHERE id = $1`, o.ID, ps); err != nil {
			return fmt.Errorf("record the dispute of order %d: %w", o.ID, err)
		}
		if status == "won" {
			if err := syncRefunded(ctx, tx, o.ID); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO order_events (order_id, kind, message, internal, data)
			VALUES ($1, $2, $3, true, jsonb_build_object('dispute', $4::text))`,
			o.ID, kind, "The payment is disputed by the shopper's bank ("+status+").", disputeID)
		if err != nil {
			return fmt.Errorf("record the dispute of order %d: %w", o.ID, err)
		}
		return nil
	})
	return out, err
}
