package backoffice

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// orderForm is what was typed into the order page's forms, given back
// with the page when one of them is refused. Action names the form
// (status, ship, refund, note).
type orderForm struct {
	Action               string
	Carrier, Tracking    string
	Amount, Reason, Note string
	CancelReason         string
	Restock              map[int64]string
	NoRestock            bool // the cancel form's box was left unticked
	Token                string
}

type orderLineView struct {
	orderLine
	ProductURL   string
	Unit, Total  string
	RestockMax   int64
	RestockValue string
}

type orderEventView struct {
	orderEvent
	Label string
}

type refundView struct {
	refundRow
	AmountText, StatusClass, RetryURL string
}

// statusButton is a status change the page offers.
type statusButton struct {
	To, Label, Hint string
	Danger          bool
}

type orderShowPage struct {
	page
	O                         *orderDetail
	URL                       string
	StatusClass, PaymentClass string
	Payment                   string
	Lines                     []orderLineView
	Events                    []orderEventView
	Refunds                   []refundView
	Shipping, Billing         []string
	CustomerURL               string
	// Money, formatted in the order's currency.
	Subtotal, ShippingCost, Tax, Total, Refunded, Fee, Left, Net string
	TaxText                                                      string
	LeftInput                                                    string // what is left to refund, as the amount field shows it
	// Actions (orders.write).
	CanWrite, CanShip, CanRefund, CanCancelPaid bool
	Buttons                                     []statusButton
	PaymentsOff                                 bool
	RefundBlocked                               string // why no refund can be made, if none can
	CancelText, CancelBlocked                   string // what cancelling a paid order does, or why it cannot
	Form                                        orderForm
	Errors                                      map[string]string
	Problem                                     string
}

// GET /admin/orders/{id}: an order with its lines, totals, customer,
// addresses, payment, refunds and timeline, and what staff may do with it.
func (h *Handler) orderShow(w http.ResponseWriter, r *http.Request) error {
	return h.renderOrder(w, r, pathID(r, "id"), http.StatusOK, orderForm{}, nil)
}

// bpPercent is basis points as a percentage ("20", "7.5").
func bpPercent(bp int) string {
	s := strconv.FormatFloat(float64(bp)/100, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// eventLabels name the timeline's kinds of lines.
var eventLabels = map[string]string{
	"note": "Note", "order.cancelled": "Cancelled", "order.fulfilled": "Fulfilled", "order.shipped": "Shipped",
	"order.delivered": "Delivered", "payment.succeeded": "Paid", "payment.failed": "Payment failed",
	"payment.mismatch": "Payment differs", "payment.after_cancel": "Paid after cancelling",
	"reservation.expired": "Reservation ran out", "refund.requested": "Refund asked for", "refund.succeeded": "Refunded",
	"refund.pending": "Refund pending", "refund.failed": "Refund failed", "refund.canceled": "Refund cancelled",
	"refund.error": "Refund not taken",
}

func eventLabel(kind string) string {
	if l, ok := eventLabels[kind]; ok {
		return l
	}
	if strings.HasPrefix(kind, "dispute.") {
		return "Dispute " + strings.TrimPrefix(kind, "dispute.")
	}
	return kind
}

// renderOrder shows an order's page with status: 200, or a refused form
// (409, 422) with what was typed and why it was refused.
func (h *Handler) renderOrder(w http.ResponseWriter, r *http.Request, id int64, status int, form orderForm, problem *web.Error) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	o, err := loadOrder(ctx, t.Pool, id)
	if err != nil {
		return err
	}
	m := Current(ctx)
	p := &orderShowPage{page: h.page(r, fmt.Sprintf("Order %d", o.ID)), O: o, URL: fmt.Sprintf("%s/admin/orders/%d", t.Base, o.ID),
		StatusClass: statusClass(o.Status), PaymentClass: paymentClass(o.PaymentStatus), Payment: label(o.PaymentStatus),
		Shipping: addressLines(o.ShippingAddress), Billing: addressLines(o.BillingAddress), Form: form, Errors: map[string]string{},
		CanWrite: m.Can("orders.write"), PaymentsOff: h.pay().client == nil}
	if p.Form.Token == "" {
		p.Form.Token = newRefundToken()
	}
	if problem != nil {
		p.Problem = problem.Message
		if problem.Field != "" && problem.Status == http.StatusUnprocessableEntity {
			p.Errors[form.Action+"."+problem.Field] = problem.Message
		}
	}
	cur := o.Currency
	f := func(n int64) string { return money.Format(n, cur) }
	p.Subtotal, p.ShippingCost, p.Tax, p.Total, p.Refunded, p.Fee = f(o.Subtotal), f(o.Shipping), f(o.Tax), f(o.Total), f(o.Refunded), f(o.Fee)
	p.Net = f(o.Total - o.Refunded)
	if o.TaxRateBP > 0 || o.Tax > 0 {
		how := "added"
		if o.PricesIncludeTax {
			how = "included"
		}
		p.TaxText = fmt.Sprintf("%s %s %% (%s)", o.TaxLabel, bpPercent(o.TaxRateBP), how)
	}
	if o.CustomerID != nil && m.Can("customers.read") {
		p.CustomerURL = fmt.Sprintf("%s/admin/customers/%d", t.Base, *o.CustomerID)
	}
	var underWay int64
	for _, rf := range o.Refunds {
		v := refundView{refundRow: rf, AmountText: f(rf.Amount)}
		switch rf.Status {
		case "succeeded":
			v.StatusClass = "ok"
		case "failed", "canceled":
			v.StatusClass = "bad"
		case "requested":
			v.StatusClass = "warn"
			v.RetryURL = fmt.Sprintf("%s/admin/orders/%d/refunds/%d/retry", t.Base, o.ID, rf.ID)
		default:
			v.StatusClass = "info"
		}
		if rf.Status == "requested" || rf.Status == "pending" || rf.Status == "succeeded" {
			underWay += rf.Amount
		}
		p.Refunds = append(p.Refunds, v)
	}
	left := max(o.Total-underWay, 0)
	digits, _ := money.CurrencyDigits(cur)
	p.Left, p.LeftInput = f(left), money.FormatAmount(left, digits)
	for _, l := range o.Lines {
		v := orderLineView{orderLine: l, Unit: f(l.UnitPrice), Total: f(l.LineTotal), RestockMax: l.Quantity - l.Returned,
			RestockValue: form.Restock[l.ID]}
		if l.ProductID != nil && m.Can("catalog.read") {
			v.ProductURL = fmt.Sprintf("%s/admin/products/%d", t.Base, *l.ProductID)
		}
		if l.ProductID == nil || o.StockState != orders.StockCommitted {
			v.RestockMax = 0
		}
		p.Lines = append(p.Lines, v)
	}
	for _, e := range o.Events {
		p.Events = append(p.Events, orderEventView{orderEvent: e, Label: eventLabel(e.Kind)})
	}

	lo := &lockedOrder{PaymentStatus: o.PaymentStatus, Account: o.StripeAccount, IntentID: o.IntentID}
	if err := h.canRefund(lo); err != nil {
		var we *web.Error
		if errors.As(err, &we) {
			p.RefundBlocked = we.Message
		}
	} else if left == 0 {
		p.RefundBlocked = "Everything paid is refunded or being refunded."
	}
	if p.CanWrite {
		p.CanRefund = p.RefundBlocked == "" && o.Status != orders.StatusPending
		for _, next := range allowedNext(o.Status) {
			switch {
			case next == orders.StatusShipped:
				p.CanShip = true
			case next == orders.StatusCancelled && o.Status == orders.StatusPending:
				p.Buttons = append(p.Buttons, statusButton{To: next, Label: "Cancel the order", Danger: true,
					Hint: "The order is not paid: cancelling it puts its reserved items back on sale."})
			case next == orders.StatusCancelled:
				p.CanCancelPaid = true
				p.CancelText = "The order is paid: cancelling it refunds " + p.Left + ", what is left of its payment, in full."
				if left == 0 {
					p.CancelText = "Everything paid for this order is refunded or being refunded already."
				} else if err := h.canRefund(lo); err != nil {
					p.CancelBlocked = err.(*web.Error).Message
				}
			case next == orders.StatusFulfilled:
				p.Buttons = append(p.Buttons, statusButton{To: next, Label: "Mark fulfilled", Hint: "Packed and ready to ship."})
			case next == orders.StatusDelivered:
				p.Buttons = append(p.Buttons, statusButton{To: next, Label: "Mark delivered", Hint: "The parcel has arrived."})
			}
		}
	}
	return h.templates.Render(w, status, "admin_order", p)
}

// orderFailed gives the order page back for a refused form (409, 422);
// other errors are returned as they are.
func (h *Handler) orderFailed(w http.ResponseWriter, r *http.Request, id int64, err error, form orderForm) error {
	var we *web.Error
	if !errors.As(err, &we) || we.Status == http.StatusNotFound || we.Status < 400 || we.Status >= 500 {
		return err
	}
	return h.renderOrder(w, r, id, we.Status, form, we)
}

// afterRefund sends a refund to Stripe and says how it went on the next
// page: a call that failed is shown, and the refund waits for a retry.
func (h *Handler) afterRefund(r *http.Request, t *tenant.Tenant, orderID, refundID int64, done string) error {
	ctx := r.Context()
	err := h.sendRefund(ctx, t, orderID, refundID, Current(ctx).ID)
	var call *errRefundCall
	if errors.As(err, &call) {
		h.sessions.Put(ctx, keyFlashError, "Stripe did not take the refund ("+call.Msg+"). It is kept as requested: use Retry refund below.")
		return nil
	}
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, done)
	return nil
}

func (h *Handler) backToOrder(w http.ResponseWriter, r *http.Request, id int64) {
	http.Redirect(w, r, fmt.Sprintf("%s/admin/orders/%d", tenant.FromContext(r.Context()).Base, id), http.StatusSeeOther)
}

// POST /admin/orders/{id}/status: change the status (fulfilled,
// delivered, cancelled).
func (h *Handler) orderStatus(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id := pathID(r, "id")
	c := statusChange{To: r.PostFormValue("status"), Reason: strings.TrimSpace(r.PostFormValue("reason")),
		Restock: r.PostFormValue("restock") == "1", Token: r.PostFormValue("request_key")}
	refundID, err := h.changeStatus(ctx, t, id, c, actor(r, Current(ctx)))
	if err != nil {
		return h.orderFailed(w, r, id, err, orderForm{Action: "status", CancelReason: c.Reason, NoRestock: !c.Restock, Token: c.Token})
	}
	done := "The order is now " + c.To + "."
	if refundID != 0 {
		if err := h.afterRefund(r, t, id, refundID, done+" Its payment is refunded."); err != nil {
			return err
		}
	} else {
		h.sessions.Put(ctx, keyFlash, done)
	}
	h.backToOrder(w, r, id)
	return nil
}

// POST /admin/orders/{id}/ship: mark the order shipped with its carrier
// and tracking number; the shopper is e-mailed the shipping notice.
func (h *Handler) orderShip(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := pathID(r, "id")
	s := shipment{Carrier: r.PostFormValue("carrier"), Tracking: r.PostFormValue("tracking_number")}
	if err := h.ship(ctx, tenant.FromContext(ctx), id, s, actor(r, Current(ctx))); err != nil {
		return h.orderFailed(w, r, id, err, orderForm{Action: "ship", Carrier: s.Carrier, Tracking: s.Tracking})
	}
	h.sessions.Put(ctx, keyFlash, "The order is marked shipped; the shopper is sent the tracking number.")
	h.backToOrder(w, r, id)
	return nil
}

// POST /admin/orders/{id}/refunds: refund part or all of the payment, and
// put units back in stock if asked.
func (h *Handler) orderRefund(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id := pathID(r, "id")
	if err := r.ParseForm(); err != nil {
		return &web.Error{Status: http.StatusBadRequest, Message: "The form could not be read."}
	}
	form := orderForm{Action: "refund", Amount: r.PostFormValue("amount"), Reason: strings.TrimSpace(r.PostFormValue("reason")),
		Token: r.PostFormValue("request_key"), Restock: map[int64]string{}}
	in := refundInput{Reason: form.Reason, Token: form.Token, Restock: map[int64]int64{}}
	for k, vs := range r.PostForm {
		line, ok := strings.CutPrefix(k, "restock_")
		if !ok || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		lid, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			continue
		}
		form.Restock[lid] = vs[0]
		n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 64)
		if err != nil || n < 0 {
			return h.orderFailed(w, r, id, web.FieldError("restock", "Enter a whole number of units, 0 or more."), form)
		}
		in.Restock[lid] = n
	}
	// The amount is read in the order's currency.
	var currency string
	if err := t.Pool.QueryRow(ctx, `SELECT currency FROM orders WHERE id = $1`, id).Scan(&currency); err != nil {
		return orNoOrder(err)
	}
	digits, _ := money.CurrencyDigits(currency)
	amount, err := money.ParseAmount(form.Amount, digits)
	if err != nil {
		return h.orderFailed(w, r, id, web.FieldError("amount", err.Error()), form)
	}
	in.Amount = amount
	refundID, fresh, err := h.requestRefund(ctx, t, id, in, actor(r, Current(ctx)))
	if err != nil {
		return h.orderFailed(w, r, id, err, form)
	}
	done := money.Format(amount, currency) + " is refunded."
	if !fresh {
		done = "This refund was asked for already."
	}
	if err := h.afterRefund(r, t, id, refundID, done); err != nil {
		return err
	}
	h.backToOrder(w, r, id)
	return nil
}

// POST /admin/orders/{id}/refunds/{refund}/retry: ask Stripe again for a
// refund whose call failed, with the same idempotency key.
func (h *Handler) orderRefundRetry(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, refundID := pathID(r, "id"), pathID(r, "refund")
	err := h.retryRefund(ctx, t, id, refundID, actor(r, Current(ctx)))
	var call *errRefundCall
	switch {
	case errors.As(err, &call):
		h.sessions.Put(ctx, keyFlashError, "Stripe did not take the refund again ("+call.Msg+"). It is kept as requested; try again later.")
	case err != nil:
		return h.orderFailed(w, r, id, err, orderForm{Action: "retry"})
	default:
		h.sessions.Put(ctx, keyFlash, "Stripe took the refund.")
	}
	h.backToOrder(w, r, id)
	return nil
}

// POST /admin/orders/{id}/notes: add an internal note to the timeline.
func (h *Handler) orderNote(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := pathID(r, "id")
	note := r.PostFormValue("note")
	if _, err := addNote(ctx, tenant.FromContext(ctx), id, note, actor(r, Current(ctx))); err != nil {
		return h.orderFailed(w, r, id, err, orderForm{Action: "note", Note: note})
	}
	h.sessions.Put(ctx, keyFlash, "The note is added. Only staff see it.")
	h.backToOrder(w, r, id)
	return nil
}

// orNoOrder turns "no row" into the order's 404.
func orNoOrder(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoOrder
	}
	return err
}
