package backoffice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/notify"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// orderTransitions is what staff may change an order's status to, from
// each status. The payment moves an order from pending to paid (package
// orders); cancelling a pending order gives its reserved stock back;
// cancelling a paid or fulfilled order refunds what is left of its payment
// in full. Shipped is reached only by marking the order shipped, with its
// carrier and tracking number, from paid (a shop that packs and ships in
// one go) or fulfilled.
var orderTransitions = map[string][]string{
	orders.StatusPending:   {orders.StatusCancelled},
	orders.StatusPaid:      {orders.StatusFulfilled, orders.StatusShipped, orders.StatusCancelled},
	orders.StatusFulfilled: {orders.StatusShipped, orders.StatusCancelled},
	orders.StatusShipped:   {orders.StatusDelivered},
}

// allowedNext is the statuses an order of status s may change to.
func allowedNext(s string) []string {
	if next := orderTransitions[s]; next != nil {
		return next
	}
	return []string{}
}

// transitionRefused is the 409 for a status change the table does not
// allow, saying what is allowed.
func transitionRefused(from, to string) *web.Error {
	next := allowedNext(from)
	msg := fmt.Sprintf("The order is %s and cannot become %s: ", from, to)
	switch {
	case len(next) == 0:
		msg += "the status of a " + from + " order does not change any more."
	default:
		msg += "from " + from + " it can become " + strings.Join(next, " or ") + "."
	}
	if from == orders.StatusPaid || from == orders.StatusFulfilled {
		msg += " Cancelling it refunds its payment in full."
	}
	if contains(next, orders.StatusShipped) {
		msg += " Mark it shipped with its carrier and tracking number."
	}
	return &web.Error{Status: http.StatusConflict, Message: msg, Field: "status",
		Extra: map[string]any{"current_status": from, "allowed": next}}
}

// statusMessages are the timeline's lines, which the shopper may see, for
// each status staff set.
var statusMessages = map[string]string{
	orders.StatusFulfilled: "Your order is packed and ready to ship.",
	orders.StatusDelivered: "Your order was delivered.",
}

// lockedOrder is an order read FOR UPDATE by the back office.
type lockedOrder struct {
	ID                                 int64
	Status, PaymentStatus, StockState  string
	Currency, Email, Account, IntentID string
	AccessToken, CustomerName          string
	Total, Refunded                    int64
	CustomerID                         *int64
}

func lockOrder(ctx context.Context, tx pgx.Tx, id int64) (*lockedOrder, error) {
	var o lockedOrder
	err := tx.QueryRow(ctx, `SELECT o.id, o.status, o.payment_status, o.stock_state, o.currency, o.email,
			coalesce(o.stripe_account_id, ''), coalesce(o.payment_intent_id, ''), o.access_token,
			coalesce(nullif(c.name, ''), o.shipping_address->>'name', ''), o.total_minor, o.refunded_minor, o.customer_id
		FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id = $1 FOR UPDATE OF o`, id).
		Scan(&o.ID, &o.Status, &o.PaymentStatus, &o.StockState, &o.Currency, &o.Email, &o.Account, &o.IntentID, &o.AccessToken,
			&o.CustomerName, &o.Total, &o.Refunded, &o.CustomerID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoOrder
	}
	if err != nil {
		return nil, fmt.Errorf("lock order %d: %w", id, err)
	}
	return &o, nil
}

// statusChange is a status change asked for by staff. Reason and Restock
// apply to cancellations (Restock: put a paid order's items back in
// stock); Token is the form's one-time key for the refund a cancellation
// makes ("": a fresh one).
type statusChange struct {
	To, Reason, Token string
	Restock           bool
}

// changeStatus changes an order's status along orderTransitions, under the
// order's row lock: of two members changing one order at once, the second
// finds the status the first set and is refused if the table no longer
// allows its change. A paid order that is cancelled gets a refund of what
// is left of its payment, asked for at Stripe after the commit; its id is
// returned (0: none).
func (h *Handler) changeStatus(ctx context.Context, t *tenant.Tenant, id int64, c statusChange, e staff.Entry) (int64, error) {
	if !contains(orderStatuses, c.To) {
		return 0, web.FieldError("status", "Choose one of "+strings.Join(orderStatuses, ", ")+".")
	}
	if c.To == orders.StatusShipped {
		return 0, web.FieldError("status", "Mark the order shipped with its carrier and tracking number instead.")
	}
	if err := checkText("reason", c.Reason, 0, 500); err != nil {
		return 0, err
	}
	var refundID int64
	var unpaidIntent, account string // of a pending order cancelled: its PaymentIntent is cancelled at Stripe
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		refundID, unpaidIntent = 0, ""
		o, err := lockOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		if !contains(allowedNext(o.Status), c.To) {
			return transitionRefused(o.Status, c.To)
		}
		after := map[string]any{"status": c.To}
		switch {
		case c.To == orders.StatusCancelled && o.Status == orders.StatusPending:
			ok, err := orders.CancelPending(ctx, tx, id, "The order was cancelled by the shop.", e.StaffID)
			if err != nil {
				return err
			}
			if !ok {
				return transitionRefused(o.Status, c.To)
			}
			unpaidIntent, account = o.IntentID, o.Account
		case c.To == orders.StatusCancelled:
			if refundID, err = h.cancelPaid(ctx, t, tx, o, c, e.StaffID); err != nil {
				return err
			}
			after["restock"], after["refund_id"] = c.Restock, refundID
		default:
			if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, updated_at = now() WHERE id = $1`, id, c.To); err != nil {
				return fmt.Errorf("change the status of order %d: %w", id, err)
			}
			if err := orders.Event(ctx, tx, id, "order."+c.To, statusMessages[c.To], false, e.StaffID); err != nil {
				return err
			}
		}
		if c.Reason != "" {
			if err := orders.Event(ctx, tx, id, "note", "Reason for the change to "+c.To+": "+c.Reason, true, e.StaffID); err != nil {
				return err
			}
			after["reason"] = c.Reason
		}
		e.Action, e.TargetType, e.TargetID = "order.status_changed", "order", fmt.Sprint(id)
		e.Before, e.After = map[string]any{"status": o.Status, "payment_status": o.PaymentStatus}, after
		return staff.Audit(ctx, tx, e)
	})
	if err == nil && unpaidIntent != "" && h.pay().client != nil {
		// Should the shopper still pay it (the call fails, or a payment
		// was under way), the payment arrives for a cancelled order and is
		// refunded in full (orders.ApplyPaid).
		if cerr := h.pay().client.CancelPaymentIntent(ctx, account, unpaidIntent); cerr != nil {
			h.log.Warn("cannot cancel the payment of a cancelled order; a late payment will be refunded",
				"vendor", t.Entry.Slug, "order", id, "err", cerr)
		}
	}
	return refundID, err
}

// cancelPaid cancels a paid or fulfilled order: what is left of its
// payment (total less refunds made or under way) is refunded in the same
// transaction's refund row, and, if asked, the units not yet given back go
// back to stock.
func (h *Handler) cancelPaid(ctx context.Context, t *tenant.Tenant, tx pgx.Tx, o *lockedOrder, c statusChange, staffID int64) (int64, error) {
	committed, err := refundsUnderWay(ctx, tx, o.ID)
	if err != nil {
		return 0, err
	}
	var refundID int64
	if left := o.Total - committed; left > 0 {
		if err := h.canRefund(o); err != nil {
			return 0, err
		}
		refundID, _, err = insertRefund(ctx, tx, t, o, left, "order cancelled"+suffix(": ", c.Reason), c.Restock, staffID, c.Token)
		if err != nil {
			return 0, err
		}
		if err := orders.Event(ctx, tx, o.ID, "refund.requested", fmt.Sprintf("A refund of %s was asked for, as the order is cancelled.",
			money.Format(left, o.Currency)), true, staffID); err != nil {
			return 0, err
		}
	}
	stock := o.StockState
	if c.Restock && o.StockState == orders.StockCommitted {
		units, err := unitsLeft(ctx, tx, o.ID)
		if err != nil {
			return 0, err
		}
		if err := restock(ctx, tx, o.ID, units, "order cancelled", staffID); err != nil {
			return 0, err
		}
		stock = orders.StockReleased
	}
	_, err = tx.Exec(ctx, `UPDATE orders SET status = 'cancelled', stock_state = $2, cancelled_at = now(), updated_at = now()
		WHERE id = $1`, o.ID, stock)
	if err != nil {
		return 0, fmt.Errorf("cancel order %d: %w", o.ID, err)
	}
	return refundID, orders.Event(ctx, tx, o.ID, "order.cancelled", "The order was cancelled by the shop; its payment is refunded in full.", false, staffID)
}

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// checkText refuses text outside min..max characters, or with control
// characters (field errors named field).
func checkText(field, s string, minLen, maxLen int) error {
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen && minLen == 1:
		return web.FieldError(field, "This cannot be empty.")
	case n < minLen:
		return web.FieldError(field, fmt.Sprintf("Use at least %d characters.", minLen))
	case n > maxLen:
		return web.FieldError(field, fmt.Sprintf("Use at most %d characters.", maxLen))
	case !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return web.FieldError(field, "Remove the control characters.")
	}
	return nil
}

// shipment is a parcel staff send an order in.
type shipment struct{ Carrier, Tracking string }

func (s *shipment) check() error {
	s.Carrier, s.Tracking = strings.TrimSpace(s.Carrier), strings.TrimSpace(s.Tracking)
	if err := checkText("carrier", s.Carrier, 1, 100); err != nil {
		return err
	}
	if err := checkText("tracking_number", s.Tracking, 1, 100); err != nil {
		return err
	}
	if strings.ContainsAny(s.Carrier+s.Tracking, "\r\n\t") {
		f := "carrier"
		if strings.ContainsAny(s.Tracking, "\r\n\t") {
			f = "tracking_number"
		}
		return web.FieldError(f, "Use one line.")
	}
	return nil
}

// ship marks a fulfilled order shipped with its carrier and tracking
// number, and queues the shipping notice in the same transaction; the
// vendor's mail work is asked for once it has committed.
func (h *Handler) ship(ctx context.Context, t *tenant.Tenant, id int64, s shipment, e staff.Entry) error {
	if err := s.check(); err != nil {
		return err
	}
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		o, err := lockOrder(ctx, tx, id)
		if err != nil {
			return err
		}
		if !contains(allowedNext(o.Status), orders.StatusShipped) {
			return transitionRefused(o.Status, orders.StatusShipped)
		}
		link, err := h.absURL(t, "/orders/"+o.AccessToken)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE orders SET status = 'shipped', carrier = $2, tracking_number = $3, shipped_at = now(), updated_at = now()
			WHERE id = $1`, id, s.Carrier, s.Tracking)
		if err != nil {
			return fmt.Errorf("mark order %d shipped: %w", id, err)
		}
		if err := orders.Event(ctx, tx, id, "order.shipped", fmt.Sprintf("Your order was shipped with %s, tracking number %s.",
			s.Carrier, s.Tracking), false, e.StaffID); err != nil {
			return err
		}
		var customerID int64
		if o.CustomerID != nil {
			customerID = *o.CustomerID
		}
		_, err = notify.Enqueue(ctx, tx, notify.Message{Kind: notify.ShippingNotice, To: o.Email, OrderID: id, CustomerID: customerID,
			Data: map[string]any{"shop_name": t.Entry.Name, "order_id": id, "order_url": link, "carrier": s.Carrier,
				"tracking_number": s.Tracking, "customer_name": o.CustomerName}})
		if err != nil {
			return err
		}
		e.Action, e.TargetType, e.TargetID = "order.shipped", "order", fmt.Sprint(id)
		e.Before = map[string]any{"status": o.Status}
		e.After = map[string]any{"status": orders.StatusShipped, "carrier": s.Carrier, "tracking_number": s.Tracking}
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	h.sendQueued(ctx, t)
	return nil
}

// addNote adds a staff note to an order's timeline; shoppers never see it.
func addNote(ctx context.Context, t *tenant.Tenant, id int64, text string, e staff.Entry) (int64, error) {
	text = strings.TrimSpace(text)
	if err := checkText("note", text, 1, 5000); err != nil {
		return 0, err
	}
	var eventID int64
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM orders WHERE id = $1)`, id).Scan(&ok); err != nil {
			return fmt.Errorf("find order %d: %w", id, err)
		}
		if !ok {
			return errNoOrder
		}
		err := tx.QueryRow(ctx, `INSERT INTO order_events (order_id, kind, message, internal, staff_id)
			VALUES ($1, 'note', $2, true, nullif($3, 0)) RETURNING id`, id, text, e.StaffID).Scan(&eventID)
		if err != nil {
			return fmt.Errorf("add a note to order %d: %w", id, err)
		}
		e.Action, e.TargetType, e.TargetID = "order.note_added", "order", fmt.Sprint(id)
		e.After = map[string]any{"event_id": eventID}
		return staff.Audit(ctx, tx, e)
	})
	return eventID, err
}

// unitsLeft is, per product, the units of an order not yet put back in
// stock.
func unitsLeft(ctx context.Context, tx pgx.Tx, orderID int64) (map[int64]int64, error) {
	rows, err := tx.Query(ctx, `SELECT product_id, sum(quantity) FROM order_lines
		WHERE order_id = $1 AND product_id IS NOT NULL GROUP BY product_id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", orderID, err)
	}
	out := map[int64]int64{}
	var p, n int64
	if _, err := pgx.ForEachRow(rows, []any{&p, &n}, func() error {
		out[p] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", orderID, err)
	}
	returned, err := returnedUnits(ctx, tx, orderID)
	if err != nil {
		return nil, err
	}
	for p := range out {
		out[p] -= returned[p]
	}
	return out, nil
}

// restock puts units of an order's products back in stock on hand, each
// with a 'return' movement referring to the order, in product id order (as
// package orders takes stock, so that two transactions never wait on each
// other's products).
func restock(ctx context.Context, tx pgx.Tx, orderID int64, units map[int64]int64, reason string, staffID int64) error {
	ids := make([]int64, 0, len(units))
	for p, n := range units {
		if n > 0 {
			ids = append(ids, p)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, p := range ids {
		var onHand, reserved int64
		err := tx.QueryRow(ctx, `UPDATE products SET stock_on_hand = stock_on_hand + $2 WHERE id = $1
			RETURNING stock_on_hand, stock_reserved`, p, units[p]).Scan(&onHand, &reserved)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // deleted since
		}
		if err != nil {
			return fmt.Errorf("return product %d of order %d to stock: %w", p, orderID, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO inventory_movements (product_id, kind, quantity, on_hand_after, reserved_after, reason, reference, staff_id)
			VALUES ($1, 'return', $2, $3, $4, $5, $6, nullif($7, 0))`, p, units[p], onHand, reserved, reason, orderRef(orderID), staffID)
		if err != nil {
			return fmt.Errorf("record the return of product %d of order %d: %w", p, orderID, err)
		}
	}
	return nil
}
