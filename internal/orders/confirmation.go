package orders

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/notify"
)

// QueueConfirmation writes an order's confirmation e-mail to the vendor's
// outbox, in the transaction that marks the order paid, and returns its
// id. shopURL is the absolute address of the shop on the vendor's domain
// as the control plane knows it ("https://shop.example"); the order's link
// is built from it, never from a request.
func QueueConfirmation(ctx context.Context, tx pgx.Tx, orderID int64, shopURL string) (int64, error) {
	var (
		email, token, cur, method, taxLabel, shopName, customerName string
		subtotal, shipping, tax, total                              int64
		included                                                    bool
		customerID                                                  *int64
		addr                                                        []byte
	)
	err := tx.QueryRow(ctx, `SELECT o.email, o.access_token, o.currency, o.shipping_method_name, o.tax_label,
			o.subtotal_minor, o.shipping_minor, o.tax_minor, o.total_minor, o.prices_include_tax, o.customer_id,
			o.shipping_address, coalesce((SELECT display_name FROM shop_profile), ''), coalesce(c.name, '')
		FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id = $1`, orderID).
		Scan(&email, &token, &cur, &method, &taxLabel, &subtotal, &shipping, &tax, &total, &included, &customerID,
			&addr, &shopName, &customerName)
	if err != nil {
		return 0, fmt.Errorf("read order %d for its confirmation: %w", orderID, err)
	}
	// an empty shop_name is the vendor's name as the control plane knows
	// it, filled in by the sender (notify.Drain)
	var a Address
	if err := json.Unmarshal(addr, &a); err != nil {
		return 0, fmt.Errorf("read the address of order %d: %w", orderID, err)
	}
	if customerName == "" {
		customerName = a.Name
	}
	rows, err := tx.Query(ctx, `SELECT title, sku, quantity, unit_price_minor, line_total_minor
		FROM order_lines WHERE order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		return 0, fmt.Errorf("read the lines of order %d: %w", orderID, err)
	}
	var lines []map[string]string
	var title, sku string
	var qty int
	var unit, lineTotal int64
	_, err = pgx.ForEachRow(rows, []any{&title, &sku, &qty, &unit, &lineTotal}, func() error {
		lines = append(lines, map[string]string{"title": title, "sku": sku, "quantity": strconv.Itoa(qty),
			"unit_price": money.Format(unit, cur), "line_total": money.Format(lineTotal, cur)})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read the lines of order %d: %w", orderID, err)
	}
	taxText := money.Format(tax, cur)
	if included {
		taxText += " (included)"
	}
	data := map[string]any{
		"shop_name":        shopName,
		"order_id":         strconv.FormatInt(orderID, 10),
		"order_url":        strings.TrimSuffix(shopURL, "/") + "/orders/" + token,
		"email":            email,
		"customer_name":    customerName,
		"lines":            lines,
		"subtotal":         money.Format(subtotal, cur),
		"shipping":         money.Format(shipping, cur),
		"tax":              taxText,
		"tax_label":        taxLabel,
		"total":            money.Format(total, cur),
		"shipping_method":  method,
		"shipping_address": a.Lines(),
	}
	m := notify.Message{Kind: notify.OrderConfirmation, To: email, Data: data, OrderID: orderID}
	if customerID != nil {
		m.CustomerID = *customerID
	}
	return notify.Enqueue(ctx, tx, m)
}

// Address is a postal address as orders keep it (orders.shipping_address
// and billing_address).
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	Country    string `json:"country"` // ISO 3166-1 alpha-2
	Phone      string `json:"phone,omitempty"`
}

// Lines is the address as it is written on a parcel.
func (a Address) Lines() []string {
	out := []string{a.Name, a.Line1}
	if a.Line2 != "" {
		out = append(out, a.Line2)
	}
	city := strings.TrimSpace(a.PostalCode + " " + a.City)
	if a.Region != "" {
		city += ", " + a.Region
	}
	return append(out, city, a.Country)
}
