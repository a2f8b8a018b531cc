package backoffice

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// A refund is made in three steps, so that Stripe refunds each one once
// whatever fails in between: the refunds row is written with a fresh
// idempotency key (status 'requested') in one transaction; Stripe is
// called with that key; Stripe's refund id and status are recorded in a
// second transaction. A refund whose call failed stays 'requested' and is
// retried with the same key, which Stripe answers with the same refund.

// refundInput is a refund asked for by staff.
type refundInput struct {
	Amount int64
	Reason string
	// Restock is, per order line id, how many of its units go back to
	// stock on hand.
	Restock map[int64]int64
	// Token is the form's one-time key (a form sent twice makes one
	// refund); "" makes a fresh one.
	Token string
}

var refundToken = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// newRefundToken is a random one-time key for a refund form.
func newRefundToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// canRefund refuses refunds that cannot be made: payments off, an order
// without a Stripe payment, unpaid, refunded in full, or disputed.
func (h *Handler) canRefund(o *lockedOrder) error {
	switch {
	case h.pay().client == nil:
		return &web.Error{Status: http.StatusUnprocessableEntity, Field: "amount",
			Message: "Payments are off on this platform, so nothing can be refunded from here."}
	case o.PaymentStatus == orders.PaymentUnpaid || o.PaymentStatus == orders.PaymentFailed:
		return &web.Error{Status: http.StatusUnprocessableEntity, Field: "amount",
			Message: "The order is not paid, so there is nothing to refund."}
	case o.PaymentStatus == orders.PaymentRefunded:
		return &web.Error{Status: http.StatusUnprocessableEntity, Field: "amount", Message: "The order is refunded in full already."}
	case o.PaymentStatus == orders.PaymentDisputed:
		return &web.Error{Status: http.StatusUnprocessableEntity, Field: "amount",
			Message: "The payment is disputed by the shopper's bank: answer the dispute in Stripe instead of refunding."}
	case o.IntentID == "" || o.Account == "":
		return &web.Error{Status: http.StatusUnprocessableEntity, Field: "amount",
			Message: "The order has no Stripe payment to refund."}
	}
	return nil
}

// refundsUnderWay is the sum of an order's refunds that succeeded or may
// still succeed.
func refundsUnderWay(ctx context.Context, tx pgx.Tx, orderID int64) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT coalesce(sum(amount_minor), 0) FROM refunds
		WHERE order_id = $1 AND status IN ('requested', 'pending', 'succeeded')`, orderID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("total the refunds of order %d: %w", orderID, err)
	}
	return n, nil
}

// insertRefund writes a refund row with status 'requested'. The key is
// made from the vendor, the order and the form's token: the same form
// sent twice finds the row it wrote (fresh false).
func insertRefund(ctx context.Context, tx pgx.Tx, t *tenant.Tenant, o *lockedOrder, amount int64, reason string, restocked bool, staffID int64, token string) (id int64, fresh bool, err error) {
	if token == "" {
		token = newRefundToken()
	}
	key := payments.IdempotencyKey("refund", t.Entry.VendorID, o.ID, token)
	err = tx.QueryRow(ctx, `INSERT INTO refunds (order_id, request_key, amount_minor, reason, status, staff_id, restock)
		VALUES ($1, $2, $3, $4, 'requested', nullif($5, 0), $6) ON CONFLICT (request_key) DO NOTHING RETURNING id`,
		o.ID, key, amount, reason, staffID, restocked).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, `SELECT id FROM refunds WHERE request_key = $1 AND order_id = $2`, key, o.ID).Scan(&id)
		if err != nil {
			return 0, false, fmt.Errorf("find the refund %s of order %d: %w", key, o.ID, err)
		}
		return id, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("record a refund of order %d: %w", o.ID, err)
	}
	return id, true, nil
}

// requestRefund checks and records a refund (step one). It returns the
// refund's id; fresh is false for a form sent again.
func (h *Handler) requestRefund(ctx context.Context, t *tenant.Tenant, id int64, in refundInput, e staff.Entry) (refundID int64, fresh bool, err error) {
	if err := checkText("reason", in.Reason, 0, 500); err != nil {
		return 0, false, err
	}
	if in.Token != "" && !refundToken.MatchString(in.Token) {
		return 0, false, web.FieldError("request_key", "Use 16 to 64 letters, digits, - or _.")
	}
	err = database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		refundID, fresh = 0, false
		o, err := lockOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		if in.Token != "" { // the same form again: the refund it made
			var existing int64
			err := tx.QueryRow(ctx, `SELECT id FROM refunds WHERE request_key = $1 AND order_id = $2`,
				payments.IdempotencyKey("refund", t.Entry.VendorID, o.ID, in.Token), o.ID).Scan(&existing)
			if err == nil {
				refundID = existing
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("find a refund of order %d: %w", o.ID, err)
			}
		}
		if err := h.canRefund(o); err != nil {
			return err
		}
		underWay, err := refundsUnderWay(ctx, tx, o.ID)
		if err != nil {
			return err
		}
		left := o.Total - underWay
		switch {
		case in.Amount <= 0:
			return web.FieldError("amount", "Enter an amount above zero.")
		case in.Amount > left:
			pending := underWay - o.Refunded
			msg := fmt.Sprintf("At most %s can be refunded: the order's total is %s, %s is refunded",
				money.Format(max(left, 0), o.Currency), money.Format(o.Total, o.Currency), money.Format(o.Refunded, o.Currency))
			if pending > 0 {
				msg += fmt.Sprintf(" and %s is being refunded", money.Format(pending, o.Currency))
			}
			return web.FieldError("amount", msg+".")
		}
		units, err := restockUnits(ctx, tx, o, in.Restock)
		if err != nil {
			return err
		}
		refundID, fresh, err = insertRefund(ctx, tx, t, o, in.Amount, in.Reason, len(units) > 0, e.StaffID, in.Token)
		if err != nil {
			return err
		}
		if err := restock(ctx, tx, o.ID, units, fmt.Sprintf("refund %d", refundID), e.StaffID); err != nil {
			return err
		}
		msg := fmt.Sprintf("A refund of %s was asked for%s.", money.Format(in.Amount, o.Currency), suffix(": ", in.Reason))
		var n int64
		for _, u := range units {
			n += u
		}
		if n > 0 {
			msg += fmt.Sprintf(" %d unit(s) went back to stock.", n)
		}
		if err := orders.Event(ctx, tx, o.ID, "refund.requested", msg, true, e.StaffID); err != nil {
			return err
		}
		e.Action, e.TargetType, e.TargetID = "order.refund_requested", "order", fmt.Sprint(o.ID)
		e.After = map[string]any{"refund_id": refundID, "amount_minor": in.Amount, "currency": o.Currency, "reason": in.Reason, "restock": units}
		return staff.Audit(ctx, tx, e)
	})
	return refundID, fresh, err
}

// restockUnits checks the units staff want back in stock (per line) and
// sums them per product: never more than the order took and has not given
// back yet, and only if its stock was taken.
func restockUnits(ctx context.Context, tx pgx.Tx, o *lockedOrder, perLine map[int64]int64) (map[int64]int64, error) {
	units := map[int64]int64{}
	var some bool
	for _, n := range perLine {
		if n < 0 {
			return nil, web.FieldError("restock", "Enter 0 or more units to put back in stock.")
		}
		some = some || n > 0
	}
	if !some {
		return units, nil
	}
	if o.StockState != orders.StockCommitted {
		return nil, web.FieldError("restock", "This order's items were not taken from stock, or were put back already.")
	}
	rows, err := tx.Query(ctx, `SELECT id, product_id, title FROM order_lines WHERE order_id = $1`, o.ID)
	if err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", o.ID, err)
	}
	type lineInfo struct {
		product *int64
		title   string
	}
	lines := map[int64]lineInfo{}
	var lid int64
	var li lineInfo
	if _, err := pgx.ForEachRow(rows, []any{&lid, &li.product, &li.title}, func() error {
		lines[lid] = li
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", o.ID, err)
	}
	titles := map[int64]string{}
	ids := make([]int64, 0, len(perLine))
	for l := range perLine {
		ids = append(ids, l)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, l := range ids {
		n := perLine[l]
		if n == 0 {
			continue
		}
		info, ok := lines[l]
		switch {
		case !ok:
			return nil, web.FieldError("restock", fmt.Sprintf("Line %d is not a line of this order.", l))
		case info.product == nil:
			return nil, web.FieldError("restock", fmt.Sprintf("The product of %q was deleted, so it cannot go back to stock.", info.title))
		}
		units[*info.product] += n
		titles[*info.product] = info.title
	}
	left, err := unitsLeft(ctx, tx, o.ID)
	if err != nil {
		return nil, err
	}
	for p, n := range units {
		if n > left[p] {
			return nil, web.FieldError("restock", fmt.Sprintf("At most %d unit(s) of %q can go back to stock.", max(left[p], 0), titles[p]))
		}
	}
	return units, nil
}

// errRefundCall is a refund Stripe did not take; it stays requested.
type errRefundCall struct {
	RefundID int64
	Msg      string
	Err      error
}

func (e *errRefundCall) Error() string { return e.Err.Error() }
func (e *errRefundCall) Unwrap() error { return e.Err }

// webError is the 502 the API answers with.
func (e *errRefundCall) webError() *web.Error {
	return &web.Error{Status: http.StatusBadGateway, Err: e.Err,
		Message: "Stripe did not take the refund (" + e.Msg + "). It is kept as requested: retry it, and Stripe will make it once.",
		Extra:   map[string]any{"refund_id": e.RefundID}}
}

// sendRefund asks Stripe for a requested refund with its key (step two)
// and records the answer (step three). A refund that is no longer
// requested is left alone. If the call fails, the timeline says so (for
// staff) and an *errRefundCall is returned.
func (h *Handler) sendRefund(ctx context.Context, t *tenant.Tenant, orderID, refundID, staffID int64) error {
	client := h.pay().client
	if client == nil {
		return &web.Error{Status: http.StatusUnprocessableEntity, Message: "Payments are off on this platform, so nothing can be refunded from here."}
	}
	var key, status, account, intent, currency string
	var amount int64
	err := t.Pool.QueryRow(ctx, `SELECT r.request_key, r.status, r.amount_minor, coalesce(o.stripe_account_id, ''),
			coalesce(o.payment_intent_id, ''), o.currency
		FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.id = $1 AND r.order_id = $2`, refundID, orderID).
		Scan(&key, &status, &amount, &account, &intent, &currency)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoRefund
	}
	if err != nil {
		return fmt.Errorf("read refund %d: %w", refundID, err)
	}
	if status != "requested" {
		return nil
	}
	stripeID, stripeStatus, err := client.CreateRefund(ctx, payments.Refund{Account: account, IntentID: intent, Amount: amount,
		Key: key, ReverseFee: true})
	if err != nil {
		msg := payments.Message(err)
		if ctx.Err() == nil {
			note := fmt.Sprintf("Stripe did not take the refund of %s: %s. Retry it from this page.", money.Format(amount, currency), msg)
			_ = orders.InTx(ctx, t.Pool, func(tx pgx.Tx) error {
				return orders.Event(ctx, tx, orderID, "refund.error", truncate(note, 5000), true, staffID)
			})
		}
		return &errRefundCall{RefundID: refundID, Msg: msg, Err: err}
	}
	switch stripeStatus {
	case "succeeded", "pending", "failed", "canceled":
	default: // requires_action and anything new: not final yet
		stripeStatus = "pending"
	}
	return database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		if _, err := lockOrder(ctx, tx, orderID); err != nil {
			return err
		}
		// The webhook may have told of this refund first, as one made at
		// Stripe: that row is this refund.
		if _, err := tx.Exec(ctx, `DELETE FROM refunds WHERE stripe_refund_id = $1 AND id <> $2 AND request_key = 'stripe-' || $1`,
			stripeID, refundID); err != nil {
			return fmt.Errorf("merge refund %s: %w", stripeID, err)
		}
		tag, err := tx.Exec(ctx, `UPDATE refunds SET stripe_refund_id = $2, status = $3, updated_at = now()
			WHERE id = $1 AND status = 'requested'`, refundID, stripeID, stripeStatus)
		if err != nil {
			return fmt.Errorf("record refund %s: %w", stripeID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil // recorded by a retry running at the same time
		}
		if err := orders.SyncRefunded(ctx, tx, orderID); err != nil {
			return err
		}
		msg := money.Format(amount, currency)
		switch stripeStatus {
		case "succeeded":
			msg += " was refunded."
		case "pending":
			msg += " is being refunded."
		default:
			msg = "The refund of " + msg + " " + stripeStatus + "."
		}
		return orders.Event(ctx, tx, orderID, "refund."+stripeStatus, msg, false, staffID)
	})
}

var errNoRefund = &web.Error{Status: http.StatusNotFound, Message: "There is no such refund of this order."}

// retryRefund asks Stripe again for a refund whose call failed, with the
// key it was recorded with.
func (h *Handler) retryRefund(ctx context.Context, t *tenant.Tenant, orderID, refundID int64, e staff.Entry) error {
	var status string
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		if _, err := lockOrder(ctx, tx, orderID); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT status FROM refunds WHERE id = $1 AND order_id = $2`, refundID, orderID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoRefund
		}
		if err != nil {
			return fmt.Errorf("read refund %d: %w", refundID, err)
		}
		if status != "requested" {
			return &web.Error{Status: http.StatusConflict, Message: "This refund is " + status + " already; there is nothing to retry."}
		}
		e.Action, e.TargetType, e.TargetID = "order.refund_retried", "order", fmt.Sprint(orderID)
		e.After = map[string]any{"refund_id": refundID}
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	return h.sendRefund(ctx, t, orderID, refundID, e.StaffID)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
