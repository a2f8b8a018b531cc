package stripehook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v76"

	"github.com/storefleet/storefleet/internal/notify"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/platform"
)

// applier applies one type of event to a vendor's database.
type applier func(h *Handler, ctx context.Context, x *eventCtx) (result, error)

// eventCtx is an event on its way into one vendor's database.
type eventCtx struct {
	ev   stripe.Event
	v    *platform.Vendor
	pool *pgxpool.Pool
	log  *slog.Logger
}

// appliers are the events the platform subscribes to (docs/payments.md).
var appliers = map[stripe.EventType]applier{
	"payment_intent.succeeded":      (*Handler).paymentSucceeded,
	"payment_intent.payment_failed": (*Handler).paymentFailed,
	"charge.refunded":               (*Handler).chargeRefunded,
	"charge.refund.updated":         (*Handler).refundChanged,
	"refund.created":                (*Handler).refundChanged,
	"refund.updated":                (*Handler).refundChanged,
	"charge.dispute.created":        (*Handler).disputeChanged,
	"charge.dispute.updated":        (*Handler).disputeChanged,
	"charge.dispute.closed":         (*Handler).disputeChanged,
	"account.updated":               (*Handler).accountUpdated,
}

// HandledEvents are the event types the webhook acts on; others are
// recorded as ignored.
func HandledEvents() []string {
	out := make([]string, 0, len(appliers))
	for t := range appliers {
		out = append(out, string(t))
	}
	return out
}

// process routes an event to its vendor and applies it. It returns the
// vendor's id once known (0 before).
func (h *Handler) process(ctx context.Context, log *slog.Logger, ev stripe.Event) (result, int64, error) {
	v, reason, err := h.route(ctx, ev.Account)
	if err != nil {
		return result{}, 0, err
	}
	if v == nil {
		log.Info("stripe webhook: event for no vendor", "reason", reason)
		return ignored("%s", reason), 0, nil
	}
	log = log.With("vendor", v.Slug)
	switch v.State {
	case platform.StateActive:
	case platform.StateDeleting, platform.StateDeleted:
		return ignored("vendor %s is deleted", v.Slug), v.ID, nil
	default:
		return result{}, v.ID, &errRetry{reason: fmt.Sprintf("vendor %s is %s; the event is applied once it is active again",
			v.Slug, strings.ToLower(v.State.Label())), after: 300}
	}
	var readOnly bool
	if err := h.o.Store.Pool().QueryRow(ctx, `SELECT read_only FROM vendors WHERE id = $1`, v.ID).Scan(&readOnly); err != nil {
		return result{}, v.ID, fmt.Errorf("read vendor %s: %w", v.Slug, err)
	}
	if readOnly {
		return result{}, v.ID, &errRetry{reason: fmt.Sprintf("vendor %s is read-only for a moment (being moved or restored)", v.Slug), after: 60}
	}
	apply, ok := appliers[ev.Type]
	if !ok {
		return ignored("events of type %s are not used", ev.Type), v.ID, nil
	}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return ignored("the event carries no object"), v.ID, nil
	}
	if named, ok := metadataVendor(ev.Data.Raw); ok && named != strconv.FormatInt(v.ID, 10) {
		return h.foreign(log, "the %s names vendor %s in its metadata, but comes from the account of vendor %d (%s)",
			objectName(ev.Data.Raw), named, v.ID, v.Slug), v.ID, nil
	}
	u, err := h.o.DBs.VendorDatabaseURL(ctx, v)
	if err != nil {
		return result{}, v.ID, fmt.Errorf("vendor %s: %w", v.Slug, err)
	}
	pool, release, err := h.pools.get(ctx, v.ID, u)
	if err != nil {
		return result{}, v.ID, fmt.Errorf("connect to the database of vendor %s: %w", v.Slug, err)
	}
	defer release()
	res, err := apply(h, ctx, &eventCtx{ev: ev, v: v, pool: pool, log: log})
	return res, v.ID, err
}

// foreign records an event that does not belong to the vendor its account
// routes to: nothing is written in any vendor's database, and the event is
// logged for someone to look at.
func (h *Handler) foreign(log *slog.Logger, format string, args ...any) result {
	r := ignored(format, args...)
	log.Warn("stripe webhook: event does not belong to the routed vendor", "reason", r.detail)
	return r
}

// metadataVendor is the vendor_id the event's object names in its
// metadata, if any.
func metadataVendor(raw json.RawMessage) (string, bool) {
	var o struct {
		Metadata map[string]string `json:"metadata"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return "", false
	}
	v, ok := o.Metadata["vendor_id"]
	return v, ok && v != ""
}

func objectName(raw json.RawMessage) string {
	var o struct {
		Object string `json:"object"`
		ID     string `json:"id"`
	}
	_ = json.Unmarshal(raw, &o)
	return strings.TrimSpace(strings.ReplaceAll(o.Object, "_", " ") + " " + o.ID)
}

func decode(x *eventCtx, v any) error {
	if err := json.Unmarshal(x.ev.Data.Raw, v); err != nil {
		return fmt.Errorf("read the %s of event %s: %w", x.ev.Type, x.ev.ID, err)
	}
	return nil
}

// notOurs is ApplyX's ErrNoOrder as an ignored event.
func (h *Handler) notOurs(x *eventCtx, intentID string) result {
	return h.foreign(x.log, "payment %s is not an order of vendor %d (%s)", intentID, x.v.ID, x.v.Slug)
}

// paymentSucceeded marks the order paid, sells its stock and queues its
// confirmation; then asks for the vendor's mail to be sent, and refunds a
// payment that came for an order that can no longer be served.
func (h *Handler) paymentSucceeded(ctx context.Context, x *eventCtx) (result, error) {
	var pi stripe.PaymentIntent
	if err := decode(x, &pi); err != nil {
		return result{}, err
	}
	if pi.ID == "" {
		return ignored("the event carries no PaymentIntent"), nil
	}
	shopURL, err := h.shopURL(x.v)
	if err != nil {
		return result{}, err
	}
	amount := pi.AmountReceived
	if amount == 0 {
		amount = pi.Amount
	}
	out, err := orders.ApplyPaid(ctx, x.pool, orders.Paid{IntentID: pi.ID, Amount: amount,
		Currency: strings.ToUpper(string(pi.Currency)), Source: orders.SourceWebhook},
		func(ctx context.Context, tx pgx.Tx, orderID int64) (int64, error) {
			return orders.QueueConfirmation(ctx, tx, orderID, shopURL)
		})
	if errors.Is(err, orders.ErrNoOrder) {
		return h.notOurs(x, pi.ID), nil
	}
	if err != nil {
		return result{}, err
	}
	// Mail is asked for when a confirmation was queued now, and also when
	// one still waits (this is a retry after a failed request).
	if out.Confirmation != 0 || h.mailWaits(ctx, x, out.OrderID) {
		if _, err := h.o.Store.Pool().Exec(ctx, `SELECT request_vendor_work($1, $2)`, x.v.ID, notify.WorkKind); err != nil {
			return result{}, fmt.Errorf("ask for the mail of vendor %s: %w", x.v.Slug, err)
		}
	}
	refunded, err := h.refundUnservable(ctx, x, pi.ID, out.Account)
	if err != nil {
		return result{}, err
	}
	switch {
	case refunded:
		return applied("order %d was paid after it was cancelled and its items sold: refunded in full", out.OrderID), nil
	case out.Applied:
		return applied("order %d paid", out.OrderID), nil
	}
	return applied("order %d had this payment already", out.OrderID), nil
}

// mailWaits reports whether an order's confirmation is still in the
// outbox.
func (h *Handler) mailWaits(ctx context.Context, x *eventCtx, orderID int64) bool {
	var waits bool
	err := x.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM notifications WHERE order_id = $1 AND state = 'pending')`, orderID).Scan(&waits)
	return err == nil && waits
}

// refundUnservable makes the full refund ApplyPaid asked for (now, or on
// an earlier delivery that failed before making it), with the key written
// in the vendor's database, and records Stripe's answer.
func (h *Handler) refundUnservable(ctx context.Context, x *eventCtx, intentID, account string) (bool, error) {
	key := orders.AutoRefundKey(intentID)
	var amount int64
	err := x.pool.QueryRow(ctx, `SELECT amount_minor FROM refunds WHERE request_key = $1 AND status = 'requested'
		AND stripe_refund_id IS NULL`, key).Scan(&amount)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the refund of payment %s: %w", intentID, err)
	}
	if account == "" {
		account = x.ev.Account
	}
	id, status, err := h.o.Stripe.CreateRefund(ctx, payments.Refund{Account: account, IntentID: intentID, Amount: amount,
		Key: key, ReverseFee: true})
	if err != nil {
		return false, err
	}
	_, err = orders.ApplyRefund(ctx, x.pool, orders.RefundNews{IntentID: intentID, RefundID: id, Amount: amount,
		Status: status, RequestKey: key})
	if err != nil {
		return false, err
	}
	x.log.Info("stripe webhook: refunded a payment for an order that could not be served", "payment", intentID, "refund", id)
	return true, nil
}

// paymentFailed cancels the order and gives its stock back.
func (h *Handler) paymentFailed(ctx context.Context, x *eventCtx) (result, error) {
	var pi stripe.PaymentIntent
	if err := decode(x, &pi); err != nil {
		return result{}, err
	}
	if pi.ID == "" {
		return ignored("the event carries no PaymentIntent"), nil
	}
	reason := "no reason given"
	if pi.LastPaymentError != nil && pi.LastPaymentError.Msg != "" {
		reason = pi.LastPaymentError.Msg
	}
	out, err := orders.ApplyFailed(ctx, x.pool, pi.ID, reason)
	if errors.Is(err, orders.ErrNoOrder) {
		return h.notOurs(x, pi.ID), nil
	}
	if err != nil {
		return result{}, err
	}
	if !out.Applied {
		return applied("order %d was not waiting for this payment any more", out.OrderID), nil
	}
	return applied("order %d cancelled: the payment failed (%s)", out.OrderID, reason), nil
}

// chargeRefunded records every refund of the charge.
func (h *Handler) chargeRefunded(ctx context.Context, x *eventCtx) (result, error) {
	var ch stripe.Charge
	if err := decode(x, &ch); err != nil {
		return result{}, err
	}
	if ch.PaymentIntent == nil || ch.PaymentIntent.ID == "" {
		return ignored("charge %s has no PaymentIntent", ch.ID), nil
	}
	intent := ch.PaymentIntent.ID
	var list []payments.RefundState
	if ch.Refunds != nil {
		for _, r := range ch.Refunds.Data {
			s := payments.RefundStateOf(r)
			s.IntentID = intent
			list = append(list, s)
		}
	}
	if len(list) == 0 && h.o.Stripe != nil { // recent API versions leave the list out
		var err error
		if list, err = h.o.Stripe.ListRefunds(ctx, x.ev.Account, intent); err != nil {
			return result{}, err
		}
	}
	if len(list) == 0 {
		return ignored("charge %s lists no refunds", ch.ID), nil
	}
	return h.applyRefunds(ctx, x, intent, list)
}

// refundChanged records one refund's state.
func (h *Handler) refundChanged(ctx context.Context, x *eventCtx) (result, error) {
	var rf stripe.Refund
	if err := decode(x, &rf); err != nil {
		return result{}, err
	}
	s := payments.RefundStateOf(&rf)
	if s.ID == "" || s.IntentID == "" {
		return ignored("refund %s has no PaymentIntent", s.ID), nil
	}
	return h.applyRefunds(ctx, x, s.IntentID, []payments.RefundState{s})
}

func (h *Handler) applyRefunds(ctx context.Context, x *eventCtx, intent string, list []payments.RefundState) (result, error) {
	var orderID int64
	changed := 0
	for _, s := range list {
		if s.Amount <= 0 || s.Status == "" {
			continue
		}
		out, err := orders.ApplyRefund(ctx, x.pool, orders.RefundNews{IntentID: intent, RefundID: s.ID, Amount: s.Amount,
			Status: s.Status, RequestKey: s.RequestKey})
		if errors.Is(err, orders.ErrNoOrder) {
			return h.notOurs(x, intent), nil
		}
		if err != nil {
			return result{}, err
		}
		orderID = out.OrderID
		if out.Applied {
			changed++
		}
	}
	if orderID == 0 {
		return ignored("no refund to record"), nil
	}
	return applied("order %d: %d of %d refunds changed", orderID, changed, len(list)), nil
}

// disputeChanged records a dispute's state on its order.
func (h *Handler) disputeChanged(ctx context.Context, x *eventCtx) (result, error) {
	var d stripe.Dispute
	if err := decode(x, &d); err != nil {
		return result{}, err
	}
	if d.ID == "" || d.PaymentIntent == nil || d.PaymentIntent.ID == "" {
		return ignored("dispute %s has no PaymentIntent", d.ID), nil
	}
	out, err := orders.ApplyDispute(ctx, x.pool, d.PaymentIntent.ID, d.ID, string(d.Status))
	if errors.Is(err, orders.ErrNoOrder) {
		return h.notOurs(x, d.PaymentIntent.ID), nil
	}
	if err != nil {
		return result{}, err
	}
	if !out.Applied {
		return applied("order %d: dispute %s was %s already", out.OrderID, d.ID, d.Status), nil
	}
	return applied("order %d: dispute %s %s", out.OrderID, d.ID, d.Status), nil
}

// accountUpdated keeps the shop's view of its account (may it take
// charges, did its owner finish onboarding) in step with Stripe.
func (h *Handler) accountUpdated(ctx context.Context, x *eventCtx) (result, error) {
	var a stripe.Account
	if err := decode(x, &a); err != nil {
		return result{}, err
	}
	if a.ID != x.ev.Account {
		return h.foreign(x.log, "the event about account %s comes from account %s", a.ID, x.ev.Account), nil
	}
	tag, err := x.pool.Exec(ctx, `UPDATE shop_profile SET stripe_charges_enabled = $2, stripe_details_submitted = $3
		WHERE stripe_account_id = $1`, a.ID, a.ChargesEnabled, a.DetailsSubmitted)
	if err != nil {
		return result{}, fmt.Errorf("record the state of account %s: %w", a.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return h.foreign(x.log, "the shop of vendor %d (%s) is not connected to account %s", x.v.ID, x.v.Slug, a.ID), nil
	}
	return applied("charges enabled: %t, details submitted: %t", a.ChargesEnabled, a.DetailsSubmitted), nil
}
