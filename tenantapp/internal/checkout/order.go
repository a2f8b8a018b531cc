package checkout

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Order is an order as its shopper sees it.
type Order struct {
	ID              int64          `json:"id"`
	Status          string         `json:"status"`
	PaymentStatus   string         `json:"payment_status"`
	Email           string         `json:"email"`
	Currency        string         `json:"currency"`
	Subtotal        int64          `json:"subtotal"`
	Shipping        int64          `json:"shipping"`
	Tax             int64          `json:"tax"`
	TaxIncluded     bool           `json:"tax_included"`
	TaxLabel        string         `json:"tax_label"`
	Total           int64          `json:"total"`
	Refunded        int64          `json:"refunded"`
	ShippingMethod  string         `json:"shipping_method"`
	ShippingAddress orders.Address `json:"shipping_address"`
	Carrier         string         `json:"carrier,omitempty"`
	TrackingNumber  string         `json:"tracking_number,omitempty"`
	CreatedAt       time.Time      `json:"created_at"`
	PaidAt          *time.Time     `json:"paid_at,omitempty"`
	ReservedUntil   time.Time      `json:"reserved_until"`
	Lines           []OrderLine    `json:"lines"`
	Events          []OrderEvent   `json:"events"`

	token, account, intentID, stockState string
	cartID                               *int64
	cartDigest                           []byte
}

// OrderLine is a line of an order.
type OrderLine struct {
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	UnitPrice int64  `json:"unit_price"`
	Quantity  int    `json:"quantity"`
	LineTotal int64  `json:"line_total"`
}

// OrderEvent is a step of an order's timeline that its shopper may see.
type OrderEvent struct {
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// Token is the secret of the order's status link.
func (o *Order) Token() string { return o.token }

// Payable says whether the shopper can still pay the order.
func (o *Order) Payable() bool {
	return o.Status == orders.StatusPending && o.PaymentStatus == orders.PaymentUnpaid && o.stockState == orders.StockReserved
}

// loadOrder reads the order with this status-link secret.
func loadOrder(ctx context.Context, db Querier, token string) (*Order, error) {
	var o Order
	var addr []byte
	err := db.QueryRow(ctx, `SELECT id, status, payment_status, email, currency, subtotal_minor, shipping_minor, tax_minor,
			prices_include_tax, tax_label, total_minor, refunded_minor, shipping_method_name, shipping_address, carrier,
			tracking_number, created_at, paid_at, reserved_until, access_token, coalesce(stripe_account_id, ''),
			coalesce(payment_intent_id, ''), stock_state, cart_id, cart_digest
		FROM orders WHERE access_token = $1`, token).
		Scan(&o.ID, &o.Status, &o.PaymentStatus, &o.Email, &o.Currency, &o.Subtotal, &o.Shipping, &o.Tax, &o.TaxIncluded,
			&o.TaxLabel, &o.Total, &o.Refunded, &o.ShippingMethod, &addr, &o.Carrier, &o.TrackingNumber, &o.CreatedAt,
			&o.PaidAt, &o.ReservedUntil, &o.token, &o.account, &o.intentID, &o.stockState, &o.cartID, &o.cartDigest)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &web.Error{Status: http.StatusNotFound, Message: "There is no such order in this shop. Check the link in your e-mail."}
	}
	if err != nil {
		return nil, fmt.Errorf("read an order: %w", err)
	}
	if err := json.Unmarshal(addr, &o.ShippingAddress); err != nil {
		return nil, fmt.Errorf("read the address of order %d: %w", o.ID, err)
	}
	rows, err := db.Query(ctx, `SELECT sku, title, unit_price_minor, quantity, line_total_minor FROM order_lines WHERE order_id = $1 ORDER BY id`, o.ID)
	if err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", o.ID, err)
	}
	if o.Lines, err = pgx.CollectRows(rows, pgx.RowToStructByPos[OrderLine]); err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", o.ID, err)
	}
	rows, err = db.Query(ctx, `SELECT kind, message, created_at FROM order_events WHERE order_id = $1 AND NOT internal ORDER BY id`, o.ID)
	if err != nil {
		return nil, fmt.Errorf("read the timeline of order %d: %w", o.ID, err)
	}
	if o.Events, err = pgx.CollectRows(rows, pgx.RowToStructByPos[OrderEvent]); err != nil {
		return nil, fmt.Errorf("read the timeline of order %d: %w", o.ID, err)
	}
	return &o, nil
}

// cartChanged says whether the cart the order was made from has changed
// since: such an order is not charged at its old total.
func cartChanged(ctx context.Context, db Querier, o *Order) (bool, error) {
	if o.cartID == nil || o.cartDigest == nil {
		return false, nil
	}
	c, err := LoadCart(ctx, db, *o.cartID)
	if err != nil {
		return false, err
	}
	v, _ := base64.RawURLEncoding.DecodeString(c.Version)
	return !bytes.Equal(v, o.cartDigest), nil
}

// ErrRepriced says the order was cancelled because its cart changed.
var ErrRepriced = &web.Error{Status: http.StatusConflict,
	Message: "Your cart changed after this order was made, so it was cancelled and nothing was charged. Check out again to pay the new total."}

// checkPayable refuses to take a payment for an order that cannot be paid
// (any more), cancelling it when its cart changed since.
func (h *Handler) checkPayable(ctx context.Context, t *tenant.Tenant, o *Order) error {
	if time.Now().After(o.ReservedUntil) && o.Payable() {
		h.releaseExpired(ctx, t)
		return &web.Error{Status: http.StatusConflict, Message: "This order was not paid in time and was cancelled. Check out again."}
	}
	if !o.Payable() {
		return &web.Error{Status: http.StatusConflict, Message: "This order cannot be paid: it is " + o.Status + "."}
	}
	changed, err := cartChanged(ctx, t.Pool, o)
	if err != nil || !changed {
		return err
	}
	var cancelled bool
	err = pgx.BeginFunc(ctx, t.Pool, func(tx pgx.Tx) error {
		cancelled, err = orders.CancelPending(ctx, tx, o.ID, "Cancelled before payment: the cart changed after the order was made.", 0)
		return err
	})
	if err != nil {
		return err
	}
	if cancelled && o.intentID != "" {
		if err := h.o.Stripe.CancelPaymentIntent(ctx, o.account, o.intentID); err != nil {
			h.o.Logger.Warn("cannot cancel the payment of a re-priced order", "vendor", t.Entry.Slug, "order", o.ID, "err", err)
		}
	}
	return ErrRepriced
}

type orderPage struct {
	storefront.Page
	Title    string
	Order    *Order
	Money    func(int64) string
	Error    *web.Error
	Pay      *payView
	JustPaid bool
}

// payView is the payment part of an unpaid order's page.
type payView struct {
	TestPayments   bool
	PublishableKey string
	Account        string
	ClientSecret   string
	ReturnURL      string
	Unavailable    string
	Until          time.Time
}

// orderPage serves GET /orders/{token}: the order's status, and while it
// is unpaid, the payment.
func (h *Handler) orderPage(w http.ResponseWriter, r *http.Request) error {
	return h.renderOrder(w, r, http.StatusOK, nil)
}

func (h *Handler) renderOrder(w http.ResponseWriter, r *http.Request, status int, pageErr *web.Error) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	o, err := loadOrder(ctx, t.Pool, mux.Vars(r)["token"])
	if err != nil {
		return err
	}
	p, _, err := storefront.LoadPage(ctx, t)
	if err != nil {
		return err
	}
	page := orderPage{Page: p, Title: fmt.Sprintf("Order %d", o.ID), Order: o, Error: pageErr,
		Money: func(v int64) string { return money.Format(v, o.Currency) }}
	if o.Payable() && pageErr == nil {
		if err := h.checkPayable(ctx, t, o); err != nil {
			var we *web.Error
			if !errors.As(err, &we) {
				return err
			}
			page.Error = we
			if o, err = loadOrder(ctx, t.Pool, o.token); err != nil {
				return err
			}
			page.Order = o
		}
	}
	if o.Payable() {
		pv := &payView{TestPayments: h.o.TestPayments, PublishableKey: h.o.PublishableKey, Account: o.account, Until: o.ReservedUntil}
		pi, err := h.ensureIntent(ctx, t, o.ID)
		if err != nil {
			pv.Unavailable = "The payment cannot be started right now. Please reload this page in a minute."
			h.o.Logger.Warn("cannot start a payment", "vendor", t.Entry.Slug, "order", o.ID, "err", err)
		} else if !pv.TestPayments {
			full, err := h.o.Stripe.GetPaymentIntent(ctx, o.account, pi.ID)
			if err != nil {
				pv.Unavailable = "The payment cannot be started right now. Please reload this page in a minute."
				h.o.Logger.Warn("cannot read a payment", "vendor", t.Entry.Slug, "order", o.ID, "err", err)
			} else {
				pv.ClientSecret = full.ClientSecret
				pv.ReturnURL, _ = tenant.AbsURL(h.o.PublicURL, t, "/orders/"+o.token+"/complete")
				// Stripe's card form comes from Stripe, and only on this page.
				w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "+
					"script-src 'self' 'unsafe-eval' https://js.stripe.com; frame-src https://js.stripe.com https://hooks.stripe.com; "+
					"connect-src 'self' https://api.stripe.com; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
			}
		}
		page.Pay = pv
	}
	return h.o.Templates.Render(w, status, "order", page)
}

// pay serves POST /orders/{token}/pay: with test payments on, the order is
// paid with Stripe's test card.
func (h *Handler) pay(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	token := mux.Vars(r)["token"]
	if err := h.payTest(ctx, t, token); err != nil {
		var we *web.Error
		if errors.As(err, &we) && we.Status < 500 {
			return h.renderOrder(w, r, we.Status, we)
		}
		return err
	}
	http.Redirect(w, r, t.Base+"/orders/"+token, http.StatusSeeOther)
	return nil
}

// payTest pays an order with Stripe's test card.
func (h *Handler) payTest(ctx context.Context, t *tenant.Tenant, token string) error {
	if !h.o.TestPayments {
		return &web.Error{Status: http.StatusNotFound, Message: "Test payments are not available in this shop."}
	}
	o, err := loadOrder(ctx, t.Pool, token)
	if err != nil {
		return err
	}
	if o.PaymentStatus == orders.PaymentPaid {
		return nil // paid already: the same button pressed twice
	}
	if err := h.checkPayable(ctx, t, o); err != nil {
		return err
	}
	pi, err := h.ensureIntent(ctx, t, o.ID)
	if err != nil {
		return err
	}
	returnURL, err := tenant.AbsURL(h.o.PublicURL, t, "/orders/"+token+"/complete")
	if err != nil {
		return err
	}
	res, err := h.o.Stripe.ConfirmTestPayment(ctx, o.account, pi.ID, returnURL)
	if err != nil {
		return &web.Error{Status: http.StatusBadGateway, Message: "The payment could not be made: " + payments.Message(err), Err: err}
	}
	switch {
	case res.Status == "succeeded":
		return h.applyPaid(ctx, t, orders.Paid{IntentID: pi.ID, Amount: res.Amount, Currency: res.Currency, Source: orders.SourceReturn})
	case h.o.Emulated:
		// stripe-mock keeps no state: what it confirms stays
		// "requires_payment_method", so the emulator's confirmation is
		// taken as the success Stripe's test card would give.
		return h.applyPaid(ctx, t, orders.Paid{IntentID: pi.ID, Amount: o.Total, Currency: o.Currency, Source: orders.SourceReturn})
	}
	return nil // processing: the webhook tells
}

// complete serves GET /orders/{token}/complete, where Stripe sends the
// shopper back after paying: the payment is read from Stripe and applied
// (the webhook may have done so already; both end in one payment).
func (h *Handler) complete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	token := mux.Vars(r)["token"]
	o, err := loadOrder(ctx, t.Pool, token)
	if err != nil {
		return err
	}
	if o.intentID != "" && o.PaymentStatus == orders.PaymentUnpaid {
		pi, err := h.o.Stripe.GetPaymentIntent(ctx, o.account, o.intentID)
		if err != nil {
			h.o.Logger.Warn("cannot read a payment on return; the webhook will tell", "vendor", t.Entry.Slug, "order", o.ID, "err", err)
		} else if pi.Status == "succeeded" {
			if err := h.applyPaid(ctx, t, orders.Paid{IntentID: pi.ID, Amount: pi.Amount, Currency: pi.Currency, Source: orders.SourceReturn}); err != nil {
				return err
			}
		}
	}
	http.Redirect(w, r, t.Base+"/orders/"+token, http.StatusSeeOther)
	return nil
}
