package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/money"
)

// OrderSummary is an order in a customer's order history.
type OrderSummary struct {
	ID            int64     `json:"id"`
	Status        string    `json:"status"`
	StatusLabel   string    `json:"status_label"`
	PaymentStatus string    `json:"payment_status"`
	Currency      string    `json:"currency"`
	TotalMinor    int64     `json:"total_minor"`
	Total         string    `json:"total"` // formatted, e.g. "€24.90"
	Items         int       `json:"items"` // the quantities of its lines, added up
	CreatedAt     time.Time `json:"created_at"`
	Date          string    `json:"-"`
}

// OrderLine is a line of an order, as it was bought.
type OrderLine struct {
	ProductID      *int64 `json:"product_id"` // nil once the product is deleted
	SKU            string `json:"sku"`
	Title          string `json:"title"`
	UnitPriceMinor int64  `json:"unit_price_minor"`
	Quantity       int    `json:"quantity"`
	LineTotalMinor int64  `json:"line_total_minor"`
	UnitPrice      string `json:"unit_price"`
	LineTotal      string `json:"line_total"`
}

// OrderEvent is a step of an order's timeline that the shopper may see.
type OrderEvent struct {
	Kind      string    `json:"kind"`
	Label     string    `json:"label"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
	When      string    `json:"-"`
}

// Order is one of a customer's orders with its lines, totals,
// addresses, shipping and the timeline (staff notes left out).
type Order struct {
	OrderSummary
	Lines            []OrderLine  `json:"lines"`
	SubtotalMinor    int64        `json:"subtotal_minor"`
	ShippingMinor    int64        `json:"shipping_minor"`
	TaxMinor         int64        `json:"tax_minor"`
	RefundedMinor    int64        `json:"refunded_minor"`
	Subtotal         string       `json:"subtotal"`
	Shipping         string       `json:"shipping"`
	Tax              string       `json:"tax"`
	Refunded         string       `json:"refunded"`
	TaxRateBP        int          `json:"tax_rate_bp"`
	TaxRate          string       `json:"-"`
	PricesIncludeTax bool         `json:"prices_include_tax"`
	TaxLabel         string       `json:"tax_label"`
	ShippingMethod   string       `json:"shipping_method"`
	ShippingAddress  *Address     `json:"shipping_address"`
	BillingAddress   *Address     `json:"billing_address"` // nil: as the shipping address
	Carrier          string       `json:"carrier"`
	TrackingNumber   string       `json:"tracking_number"`
	PaidAt           *time.Time   `json:"paid_at"`
	ShippedAt        *time.Time   `json:"shipped_at"`
	CancelledAt      *time.Time   `json:"cancelled_at"`
	Events           []OrderEvent `json:"events"`
}

// statusLabels say an order's status in the shopper's words.
var statusLabels = map[string]string{
	"pending":   "Awaiting payment",
	"paid":      "Paid",
	"fulfilled": "Being prepared",
	"shipped":   "Shipped",
	"delivered": "Delivered",
	"cancelled": "Cancelled",
}

// paymentLabels override the status for payments that went back.
var paymentLabels = map[string]string{
	"failed":             "Payment failed",
	"refunded":           "Refunded",
	"partially_refunded": "Partly refunded",
}

func (o *OrderSummary) fill() {
	o.StatusLabel = statusLabels[o.Status]
	if l, ok := paymentLabels[o.PaymentStatus]; ok && o.Status != "cancelled" {
		o.StatusLabel = l
	}
	if o.StatusLabel == "" {
		o.StatusLabel = o.Status
	}
	o.Total = money.Format(o.TotalMinor, o.Currency)
	o.Date = formatDate(o.CreatedAt)
}

// OrdersPerPage is the length of a page of the order history.
const OrdersPerPage = 20

// listOrders is a page (from 1) of a customer's orders, newest first,
// and whether there are more.
func listOrders(ctx context.Context, db *pgxpool.Pool, customerID int64, page, perPage int) ([]OrderSummary, bool, error) {
	rows, err := db.Query(ctx, `SELECT o.id, o.status, o.payment_status, o.currency, o.total_minor, o.created_at,
			coalesce((SELECT sum(quantity) FROM order_lines l WHERE l.order_id = o.id), 0)
		FROM orders o WHERE o.customer_id = $1 ORDER BY o.created_at DESC, o.id DESC LIMIT $2 OFFSET $3`,
		customerID, perPage+1, (page-1)*perPage)
	if err != nil {
		return nil, false, fmt.Errorf("list orders of customer %d: %w", customerID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (OrderSummary, error) {
		var o OrderSummary
		err := row.Scan(&o.ID, &o.Status, &o.PaymentStatus, &o.Currency, &o.TotalMinor, &o.CreatedAt, &o.Items)
		o.fill()
		return o, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list orders of customer %d: %w", customerID, err)
	}
	more := len(out) > perPage
	if more {
		out = out[:perPage]
	}
	return out, more, nil
}

// getOrder loads one of a customer's orders; errNotFound if the id is
// not one of theirs.
func getOrder(ctx context.Context, db *pgxpool.Pool, customerID, id int64) (*Order, error) {
	var o Order
	var ship, bill []byte
	err := db.QueryRow(ctx, `SELECT id, status, payment_status, currency, total_minor, created_at, subtotal_minor, shipping_minor,
			tax_minor, refunded_minor, tax_rate_bp, prices_include_tax, tax_label, shipping_method_name, shipping_address,
			billing_address, carrier, tracking_number, paid_at, shipped_at, cancelled_at
		FROM orders WHERE id = $1 AND customer_id = $2`, id, customerID).
		Scan(&o.ID, &o.Status, &o.PaymentStatus, &o.Currency, &o.TotalMinor, &o.CreatedAt, &o.SubtotalMinor, &o.ShippingMinor,
			&o.TaxMinor, &o.RefundedMinor, &o.TaxRateBP, &o.PricesIncludeTax, &o.TaxLabel, &o.ShippingMethod, &ship,
			&bill, &o.Carrier, &o.TrackingNumber, &o.PaidAt, &o.ShippedAt, &o.CancelledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load order %d: %w", id, err)
	}
	o.fill()
	cur := o.Currency
	o.Subtotal, o.Shipping, o.Tax, o.Refunded = money.Format(o.SubtotalMinor, cur), money.Format(o.ShippingMinor, cur),
		money.Format(o.TaxMinor, cur), money.Format(o.RefundedMinor, cur)
	o.TaxRate = formatRate(o.TaxRateBP)
	o.ShippingAddress = decodeAddress(ship)
	o.BillingAddress = decodeAddress(bill)

	rows, err := db.Query(ctx, `SELECT product_id, sku, title, unit_price_minor, quantity, line_total_minor
		FROM order_lines WHERE order_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("load the lines of order %d: %w", id, err)
	}
	o.Lines, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (OrderLine, error) {
		var l OrderLine
		err := row.Scan(&l.ProductID, &l.SKU, &l.Title, &l.UnitPriceMinor, &l.Quantity, &l.LineTotalMinor)
		l.UnitPrice, l.LineTotal = money.Format(l.UnitPriceMinor, cur), money.Format(l.LineTotalMinor, cur)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("load the lines of order %d: %w", id, err)
	}
	// Staff notes (internal) never leave the back office.
	rows, err = db.Query(ctx, `SELECT kind, message, created_at FROM order_events
		WHERE order_id = $1 AND NOT internal ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("load the timeline of order %d: %w", id, err)
	}
	o.Events, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (OrderEvent, error) {
		var e OrderEvent
		err := row.Scan(&e.Kind, &e.Message, &e.CreatedAt)
		e.Label, e.When = eventLabel(e.Kind), e.CreatedAt.UTC().Format("2 Jan 2006, 15:04 UTC")
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("load the timeline of order %d: %w", id, err)
	}
	if o.Lines == nil {
		o.Lines = []OrderLine{}
	}
	if o.Events == nil {
		o.Events = []OrderEvent{}
	}
	return &o, nil
}

// decodeAddress reads an order's address (Address's JSON shape); nil if
// there is none.
func decodeAddress(b []byte) *Address {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	var a Address
	if err := json.Unmarshal(b, &a); err != nil {
		return nil
	}
	a.ID, a.IsDefault = 0, false
	return &a
}

// eventLabel says an event kind in words: "order.placed" → "Order placed".
func eventLabel(kind string) string {
	s := strings.NewReplacer(".", " ", "_", " ").Replace(kind)
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// formatRate writes a rate in basis points as a percentage: 2000 → "20 %",
// 550 → "5.5 %".
func formatRate(bp int) string {
	whole, frac := bp/100, bp%100
	switch {
	case frac == 0:
		return fmt.Sprintf("%d %%", whole)
	case frac%10 == 0:
		return fmt.Sprintf("%d.%d %%", whole, frac/10)
	}
	return fmt.Sprintf("%d.%02d %%", whole, frac)
}
