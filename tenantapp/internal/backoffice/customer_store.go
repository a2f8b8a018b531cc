package backoffice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/web"
)

var errNoCustomer = &web.Error{Status: http.StatusNotFound, Message: "There is no such customer in this shop."}

// customerFilter is a customer list's search (e-mail or name) and keyset
// cursor (customers who signed up before the customer Before).
type customerFilter struct {
	Q      string
	Before int64
	Limit  int
}

func parseCustomerFilter(q url.Values) (customerFilter, map[string]string) {
	f := customerFilter{Q: strings.TrimSpace(q.Get("q")), Limit: orderPageSize}
	errs := map[string]string{}
	if len(f.Q) > 200 {
		errs["q"] = "Search for at most 200 characters."
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			errs["before"] = "Use a customer id."
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

// spent is money a customer paid in one currency (less refunds).
type spent struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount_minor"`
}

// spentText is what a customer spent, in each currency ("–": nothing).
func spentText(s []spent) string {
	if len(s) == 0 {
		return "–"
	}
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = money.Format(x.Amount, x.Currency)
	}
	return strings.Join(parts, " + ")
}

// customerRow is a customer in a list, with their orders' count and what
// they paid for them (orders that were paid, less refunds).
type customerRow struct {
	ID         int64      `json:"id"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	Phone      string     `json:"phone"`
	CreatedAt  time.Time  `json:"created_at"`
	LastLogin  *time.Time `json:"last_login_at"`
	OrderCount int64      `json:"order_count"`
	Spent      []spent    `json:"spent"`
}

// customerStats is the SQL of a customer's order count and spending, per
// customer c.
const customerStats = `(SELECT count(*) FROM orders o WHERE o.customer_id = c.id),
	(SELECT coalesce(jsonb_agg(jsonb_build_object('currency', s.currency, 'amount_minor', s.amount) ORDER BY s.currency), '[]')
		FROM (SELECT o.currency, sum(o.total_minor - o.refunded_minor) AS amount FROM orders o
			WHERE o.customer_id = c.id AND o.payment_status IN ('paid', 'partially_refunded', 'refunded', 'disputed')
			GROUP BY o.currency) s)`

type customerList struct {
	Rows       []customerRow
	NextBefore int64
}

func listCustomers(ctx context.Context, db *pgxpool.Pool, f customerFilter) (*customerList, error) {
	conds := []string{"true"}
	var args []any
	if f.Q != "" {
		args = append(args, likePattern(f.Q))
		conds = append(conds, "(c.email ILIKE $1 OR c.name ILIKE $1)")
	}
	if f.Before != 0 {
		args = append(args, f.Before)
		conds = append(conds, fmt.Sprintf("(c.created_at, c.id) < (SELECT created_at, id FROM customers WHERE id = $%d)", len(args)))
	}
	args = append(args, f.Limit+1)
	rows, err := db.Query(ctx, `SELECT c.id, c.email, c.name, c.phone, c.created_at, c.last_login_at, `+customerStats+`
		FROM customers c WHERE `+strings.Join(conds, " AND ")+`
		ORDER BY c.created_at DESC, c.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	out := &customerList{Rows: []customerRow{}}
	var r customerRow
	if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.Email, &r.Name, &r.Phone, &r.CreatedAt, &r.LastLogin, &r.OrderCount, &r.Spent}, func() error {
		r.CreatedAt = r.CreatedAt.UTC()
		out.Rows = append(out.Rows, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	if len(out.Rows) > f.Limit {
		out.Rows = out.Rows[:f.Limit]
		out.NextBefore = out.Rows[f.Limit-1].ID
	}
	return out, nil
}

// customerAddress is one of a customer's saved addresses.
type customerAddress struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Region     string `json:"region"`
	Country    string `json:"country"`
	Phone      string `json:"phone"`
	IsDefault  bool   `json:"is_default"`
}

// Lines is the address as the lines of a label.
func (a customerAddress) Lines() []string {
	return addressLines(map[string]any{"name": a.Name, "line1": a.Line1, "line2": a.Line2, "postal_code": a.PostalCode,
		"city": a.City, "region": a.Region, "country": a.Country, "phone": a.Phone})
}

// customerDetail is a customer with their addresses and latest orders.
type customerDetail struct {
	customerRow
	Addresses []customerAddress
	Orders    []orderRow
	// MoreOrders is set when the customer has more orders than shown.
	MoreOrders bool
}

// customerOrdersShown is how many orders a customer's page lists.
const customerOrdersShown = 50

func loadCustomer(ctx context.Context, db *pgxpool.Pool, id int64) (*customerDetail, error) {
	var c customerDetail
	err := db.QueryRow(ctx, `SELECT c.id, c.email, c.name, c.phone, c.created_at, c.last_login_at, `+customerStats+`
		FROM customers c WHERE c.id = $1`, id).
		Scan(&c.ID, &c.Email, &c.Name, &c.Phone, &c.CreatedAt, &c.LastLogin, &c.OrderCount, &c.Spent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoCustomer
	}
	if err != nil {
		return nil, fmt.Errorf("read customer %d: %w", id, err)
	}
	c.CreatedAt = c.CreatedAt.UTC()
	rows, err := db.Query(ctx, `SELECT id, name, line1, line2, postal_code, city, region, country, phone, is_default
		FROM customer_addresses WHERE customer_id = $1 ORDER BY is_default DESC, id`, id)
	if err != nil {
		return nil, fmt.Errorf("read the addresses of customer %d: %w", id, err)
	}
	if c.Addresses, err = pgx.CollectRows(rows, pgx.RowToStructByPos[customerAddress]); err != nil {
		return nil, fmt.Errorf("read the addresses of customer %d: %w", id, err)
	}
	rows, err = db.Query(ctx, `SELECT o.id, o.created_at, o.status, o.payment_status, o.email, o.customer_id,
			coalesce(nullif(c.name, ''), o.shipping_address->>'name', ''), o.currency, o.total_minor, o.refunded_minor,
			(SELECT coalesce(sum(quantity), 0) FROM order_lines l WHERE l.order_id = o.id)
		FROM orders o JOIN customers c ON c.id = o.customer_id
		WHERE o.customer_id = $1 ORDER BY o.created_at DESC, o.id DESC LIMIT $2`, id, customerOrdersShown+1)
	if err != nil {
		return nil, fmt.Errorf("read the orders of customer %d: %w", id, err)
	}
	c.Orders = []orderRow{}
	var r orderRow
	if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.CreatedAt, &r.Status, &r.PaymentStatus, &r.Email, &r.CustomerID, &r.CustomerName,
		&r.Currency, &r.Total, &r.Refunded, &r.Items}, func() error {
		r.CreatedAt = r.CreatedAt.UTC()
		c.Orders = append(c.Orders, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the orders of customer %d: %w", id, err)
	}
	if len(c.Orders) > customerOrdersShown {
		c.Orders, c.MoreOrders = c.Orders[:customerOrdersShown], true
	}
	return &c, nil
}
