package backoffice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/web"
)

// Order statuses and payment statuses in the order the back office lists
// them.
var (
	orderStatuses   = []string{orders.StatusPending, orders.StatusPaid, orders.StatusFulfilled, orders.StatusShipped, orders.StatusDelivered, orders.StatusCancelled}
	paymentStatuses = []string{orders.PaymentUnpaid, orders.PaymentPaid, orders.PaymentFailed, orders.PaymentPartiallyRefunded, orders.PaymentRefunded, orders.PaymentDisputed}
)

// orderPageSize is how many orders (or customers) a list shows at once;
// the API allows up to orderMaxLimit.
const (
	orderPageSize = 50
	orderMaxLimit = 200
)

var errNoOrder = &web.Error{Status: http.StatusNotFound, Message: "There is no such order in this shop."}

// orderFilter is a list of orders' filter: status, payment status, a
// date range (days in UTC, both included), text (an order number, an
// e-mail address or a customer's name) and the keyset cursor (orders
// older than the order Before).
type orderFilter struct {
	Status, Payment, From, To, Q string
	Before                       int64
	Limit                        int

	from, to time.Time // parsed From, and the day after To
}

var orderNumber = regexp.MustCompile(`^#?([0-9]{1,18})$`)

// parseOrderFilter reads a filter from a query string; payment names the
// payment status's parameter ("payment" on the page, "payment_status" in
// the API). It returns what is wrong, by parameter.
func parseOrderFilter(q url.Values, payment string) (orderFilter, map[string]string) {
	f := orderFilter{Status: strings.TrimSpace(q.Get("status")), Payment: strings.TrimSpace(q.Get(payment)),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), Q: strings.TrimSpace(q.Get("q")), Limit: orderPageSize}
	errs := map[string]string{}
	if f.Status != "" && !contains(orderStatuses, f.Status) {
		errs["status"] = "Choose one of " + strings.Join(orderStatuses, ", ") + "."
	}
	if f.Payment != "" && !contains(paymentStatuses, f.Payment) {
		errs[payment] = "Choose one of " + strings.Join(paymentStatuses, ", ") + "."
	}
	for _, d := range []struct {
		name, text string
		dst        *time.Time
	}{{"from", f.From, &f.from}, {"to", f.To, &f.to}} {
		if d.text == "" {
			continue
		}
		day, err := time.Parse("2006-01-02", d.text)
		if err != nil {
			errs[d.name] = "Enter a date as YYYY-MM-DD."
			continue
		}
		*d.dst = day
	}
	if !f.to.IsZero() {
		f.to = f.to.AddDate(0, 0, 1)
		if !f.from.IsZero() && !f.from.Before(f.to) {
			errs["to"] = "The end date is before the start date."
		}
	}
	if len(f.Q) > 200 {
		errs["q"] = "Search for at most 200 characters."
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			errs["before"] = "Use an order id."
		}
		f.Before = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > orderMaxLimit {
			errs["limit"] = fmt.Sprintf("Use a whole number from 1 to %d.", orderMaxLimit)
		}
		f.Limit = n
	}
	return f, errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// likePattern matches text anywhere, with LIKE's wildcards escaped.
func likePattern(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// where is the filter as SQL conditions on orders o (joined with
// customers c); withStatus leaves the status out (for the counts).
func (f orderFilter) where(withStatus bool) (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if withStatus && f.Status != "" {
		conds = append(conds, "o.status = "+arg(f.Status))
	}
	if f.Payment != "" {
		conds = append(conds, "o.payment_status = "+arg(f.Payment))
	}
	if !f.from.IsZero() {
		conds = append(conds, "o.created_at >= "+arg(f.from))
	}
	if !f.to.IsZero() {
		conds = append(conds, "o.created_at < "+arg(f.to))
	}
	if f.Q != "" {
		p := arg(likePattern(f.Q))
		text := "o.email ILIKE " + p + " OR c.name ILIKE " + p + " OR o.shipping_address->>'name' ILIKE " + p
		if m := orderNumber.FindStringSubmatch(f.Q); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			text = "o.id = " + arg(n) + " OR " + text
		}
		conds = append(conds, "("+text+")")
	}
	if len(conds) == 0 {
		return "true", args
	}
	return strings.Join(conds, " AND "), args
}

// orderRow is an order in a list.
type orderRow struct {
	ID            int64     `json:"id"`
	CreatedAt     time.Time `json:"created_at"`
	Status        string    `json:"status"`
	PaymentStatus string    `json:"payment_status"`
	Email         string    `json:"email"`
	CustomerID    *int64    `json:"customer_id"`
	CustomerName  string    `json:"customer_name"`
	Currency      string    `json:"currency"`
	Total         int64     `json:"total_minor"`
	Refunded      int64     `json:"refunded_minor"`
	Items         int64     `json:"item_count"`
}

// orderList is a page of orders, newest first, and whether older ones
// follow (NextBefore: the cursor for them).
type orderList struct {
	Rows       []orderRow
	NextBefore int64
	// Counts is the number of orders of each status that match the
	// filter's other conditions.
	Counts map[string]int64
}

func listOrders(ctx context.Context, db *pgxpool.Pool, f orderFilter) (*orderList, error) {
	where, args := f.where(true)
	if f.Before != 0 {
		args = append(args, f.Before)
		where += fmt.Sprintf(" AND (o.created_at, o.id) < (SELECT created_at, id FROM orders WHERE id = $%d)", len(args))
	}
	args = append(args, f.Limit+1)
	rows, err := db.Query(ctx, `SELECT o.id, o.created_at, o.status, o.payment_status, o.email, o.customer_id,
			coalesce(nullif(c.name, ''), o.shipping_address->>'name', ''), o.currency, o.total_minor, o.refunded_minor,
			(SELECT coalesce(sum(quantity), 0) FROM order_lines l WHERE l.order_id = o.id)
		FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
		WHERE `+where+`
		ORDER BY o.created_at DESC, o.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	var r orderRow
	out := &orderList{Rows: []orderRow{}, Counts: map[string]int64{}}
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.CreatedAt, &r.Status, &r.PaymentStatus, &r.Email, &r.CustomerID, &r.CustomerName,
		&r.Currency, &r.Total, &r.Refunded, &r.Items}, func() error {
		r.CreatedAt = r.CreatedAt.UTC()
		out.Rows = append(out.Rows, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	if len(out.Rows) > f.Limit {
		out.Rows = out.Rows[:f.Limit]
		out.NextBefore = out.Rows[f.Limit-1].ID
	}
	where, args = f.where(false)
	rows, err = db.Query(ctx, `SELECT o.status, count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
		WHERE `+where+` GROUP BY o.status`, args...)
	if err != nil {
		return nil, fmt.Errorf("count orders: %w", err)
	}
	var status string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out.Counts[status] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count orders: %w", err)
	}
	return out, nil
}

// orderDetail is one order in full.
type orderDetail struct {
	ID                                  int64
	AccessToken                         string
	CustomerID                          *int64
	CustomerName, CustomerEmail         string
	Email, Status, PaymentStatus        string
	StockState, Currency                string
	Subtotal, Shipping, Tax, Total      int64
	Refunded, Fee                       int64
	TaxRateBP                           int
	PricesIncludeTax                    bool
	TaxLabel, ShippingMethod            string
	ShippingAddress, BillingAddress     map[string]any
	StripeAccount, IntentID             string
	Carrier, Tracking                   string
	CreatedAt, UpdatedAt, ReservedUntil time.Time
	PaidAt, ShippedAt, CancelledAt      *time.Time
	Lines                               []orderLine
	Events                              []orderEvent
	Refunds                             []refundRow
}

type orderLine struct {
	ID        int64  `json:"id"`
	ProductID *int64 `json:"product_id"`
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	UnitPrice int64  `json:"unit_price_minor"`
	Quantity  int64  `json:"quantity"`
	LineTotal int64  `json:"line_total_minor"`
	// Returned is how many units of the line's product were put back in
	// stock for this order (by refunds and cancellations).
	Returned int64 `json:"returned_to_stock"`
}

type orderEvent struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Message    string    `json:"message"`
	Internal   bool      `json:"internal"`
	StaffID    *int64    `json:"staff_id"`
	StaffName  string    `json:"staff_name"`
	StaffEmail string    `json:"-"`
	CreatedAt  time.Time `json:"created_at"`
}

type refundRow struct {
	ID             int64     `json:"id"`
	Amount         int64     `json:"amount_minor"`
	Reason         string    `json:"reason"`
	Status         string    `json:"status"`
	StripeRefundID *string   `json:"stripe_refund_id"`
	Restock        bool      `json:"restock"`
	StaffID        *int64    `json:"staff_id"`
	StaffName      string    `json:"staff_name"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	key            string
}

// orderRef is the reference stock movements of an order carry (as
// package orders writes them).
func orderRef(id int64) string { return fmt.Sprintf("order %d", id) }

// loadOrder reads an order with its lines, timeline and refunds.
func loadOrder(ctx context.Context, db *pgxpool.Pool, id int64) (*orderDetail, error) {
	var o orderDetail
	var ship, bill []byte
	err := db.QueryRow(ctx, `SELECT o.id, o.access_token, o.customer_id, coalesce(c.name, ''), coalesce(c.email, ''), o.email,
			o.status, o.payment_status, o.stock_state, o.currency, o.subtotal_minor, o.shipping_minor, o.tax_minor, o.total_minor,
			o.refunded_minor, o.application_fee_minor, o.tax_rate_bp, o.prices_include_tax, o.tax_label, o.shipping_method_name,
			o.shipping_address, o.billing_address, coalesce(o.stripe_account_id, ''), coalesce(o.payment_intent_id, ''),
			o.carrier, o.tracking_number, o.created_at, o.updated_at, o.reserved_until, o.paid_at, o.shipped_at, o.cancelled_at
		FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id = $1`, id).
		Scan(&o.ID, &o.AccessToken, &o.CustomerID, &o.CustomerName, &o.CustomerEmail, &o.Email, &o.Status, &o.PaymentStatus,
			&o.StockState, &o.Currency, &o.Subtotal, &o.Shipping, &o.Tax, &o.Total, &o.Refunded, &o.Fee, &o.TaxRateBP,
			&o.PricesIncludeTax, &o.TaxLabel, &o.ShippingMethod, &ship, &bill, &o.StripeAccount, &o.IntentID, &o.Carrier,
			&o.Tracking, &o.CreatedAt, &o.UpdatedAt, &o.ReservedUntil, &o.PaidAt, &o.ShippedAt, &o.CancelledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoOrder
	}
	if err != nil {
		return nil, fmt.Errorf("read order %d: %w", id, err)
	}
	o.ShippingAddress, o.BillingAddress = addressOf(ship), addressOf(bill)

	rows, err := db.Query(ctx, `SELECT l.id, l.product_id, l.sku, l.title, l.unit_price_minor, l.quantity, l.line_total_minor
		FROM order_lines l WHERE l.order_id = $1 ORDER BY l.id`, id)
	if err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", id, err)
	}
	var l orderLine
	o.Lines = []orderLine{}
	if _, err = pgx.ForEachRow(rows, []any{&l.ID, &l.ProductID, &l.SKU, &l.Title, &l.UnitPrice, &l.Quantity, &l.LineTotal}, func() error {
		o.Lines = append(o.Lines, l)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the lines of order %d: %w", id, err)
	}
	returned, err := returnedUnits(ctx, db, id)
	if err != nil {
		return nil, err
	}
	for i := range o.Lines { // units returned per product go to its first lines first
		if p := o.Lines[i].ProductID; p != nil {
			n := min(returned[*p], o.Lines[i].Quantity)
			o.Lines[i].Returned, returned[*p] = n, returned[*p]-n
		}
	}

	rows, err = db.Query(ctx, `SELECT e.id, e.kind, e.message, e.internal, e.staff_id, coalesce(nullif(s.name, ''), s.email, ''),
			coalesce(s.email, ''), e.created_at
		FROM order_events e LEFT JOIN staff s ON s.id = e.staff_id WHERE e.order_id = $1 ORDER BY e.id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("read the timeline of order %d: %w", id, err)
	}
	var e orderEvent
	o.Events = []orderEvent{}
	if _, err = pgx.ForEachRow(rows, []any{&e.ID, &e.Kind, &e.Message, &e.Internal, &e.StaffID, &e.StaffName, &e.StaffEmail, &e.CreatedAt}, func() error {
		e.CreatedAt = e.CreatedAt.UTC()
		o.Events = append(o.Events, e)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the timeline of order %d: %w", id, err)
	}

	rows, err = db.Query(ctx, `SELECT r.id, r.amount_minor, r.reason, r.status, r.stripe_refund_id, r.restock, r.staff_id,
			coalesce(nullif(s.name, ''), s.email, ''), r.created_at, r.updated_at, r.request_key
		FROM refunds r LEFT JOIN staff s ON s.id = r.staff_id WHERE r.order_id = $1 ORDER BY r.id`, id)
	if err != nil {
		return nil, fmt.Errorf("read the refunds of order %d: %w", id, err)
	}
	var rf refundRow
	o.Refunds = []refundRow{}
	if _, err = pgx.ForEachRow(rows, []any{&rf.ID, &rf.Amount, &rf.Reason, &rf.Status, &rf.StripeRefundID, &rf.Restock, &rf.StaffID,
		&rf.StaffName, &rf.CreatedAt, &rf.UpdatedAt, &rf.key}, func() error {
		rf.CreatedAt, rf.UpdatedAt = rf.CreatedAt.UTC(), rf.UpdatedAt.UTC()
		o.Refunds = append(o.Refunds, rf)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the refunds of order %d: %w", id, err)
	}
	return &o, nil
}

// addressOf decodes an address kept as JSON (nil: none).
func addressOf(b []byte) map[string]any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// addressLines is an address as the lines of a label.
func addressLines(a map[string]any) []string {
	if a == nil {
		return nil
	}
	str := func(k string) string { s, _ := a[k].(string); return strings.TrimSpace(s) }
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s)
		}
	}
	add(str("name"))
	add(str("company"))
	add(str("line1"))
	add(str("line2"))
	add(strings.TrimSpace(str("postal_code") + " " + str("city")))
	add(str("region"))
	add(str("country"))
	if p := str("phone"); p != "" {
		add("Tel. " + p)
	}
	return out
}

// returnedUnits is how many units of each product were put back in stock
// for an order.
func returnedUnits(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, orderID int64) (map[int64]int64, error) {
	rows, err := db.Query(ctx, `SELECT m.product_id, sum(m.quantity) FROM inventory_movements m
		WHERE m.product_id IN (SELECT product_id FROM order_lines WHERE order_id = $1 AND product_id IS NOT NULL)
			AND m.kind = 'return' AND m.reference = $2
		GROUP BY m.product_id`, orderID, orderRef(orderID))
	if err != nil {
		return nil, fmt.Errorf("read the returns of order %d: %w", orderID, err)
	}
	out := map[int64]int64{}
	var p, n int64
	if _, err := pgx.ForEachRow(rows, []any{&p, &n}, func() error {
		out[p] = n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the returns of order %d: %w", orderID, err)
	}
	return out, nil
}
