package checkout

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Tax is the shop's tax setting (shop_profile).
type Tax struct {
	RateBP          int  // basis points: 2000 is 20 %
	PricesIncludeIt bool // catalog prices include the tax
	Label           string
}

// ShippingMethod is one of the shop's ways to deliver, with its rate.
type ShippingMethod struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Price       int64    `json:"price"`
	FreeOver    *int64   `json:"free_over,omitempty"`
	Countries   []string `json:"countries"` // empty: everywhere
}

// Serves says whether the method delivers to a country.
func (m ShippingMethod) Serves(country string) bool {
	return len(m.Countries) == 0 || slices.Contains(m.Countries, country)
}

// Cost is what the method costs for goods worth subtotal.
func (m ShippingMethod) Cost(subtotal int64) int64 {
	if m.FreeOver != nil && subtotal >= *m.FreeOver {
		return 0
	}
	return m.Price
}

// Quote is what an order costs.
type Quote struct {
	Subtotal int64 `json:"subtotal"`
	Shipping int64 `json:"shipping"`
	// Tax is the tax in the total: included in the prices, or added.
	Tax         int64  `json:"tax"`
	TaxIncluded bool   `json:"tax_included"`
	TaxRateBP   int    `json:"tax_rate_bp"`
	TaxLabel    string `json:"tax_label"`
	Total       int64  `json:"total"`
}

// Price computes an order's total from its goods and shipping: with prices
// that include the tax, the tax is the part of the total it accounts for;
// otherwise it is added. Amounts are rounded half up to the minor unit.
func Price(subtotal, shipping int64, tax Tax) Quote {
	q := Quote{Subtotal: subtotal, Shipping: shipping, TaxIncluded: tax.PricesIncludeIt, TaxRateBP: tax.RateBP, TaxLabel: tax.Label}
	base := subtotal + shipping
	r := int64(tax.RateBP)
	switch {
	case r == 0:
		q.Total = base
	case tax.PricesIncludeIt:
		// tax = base × r / (10000 + r)
		q.Tax = mulDiv(base, r, 10000+r, true)
		q.Total = base
	default:
		q.Tax = mulDiv(base, r, 10000, true)
		q.Total = base + q.Tax
	}
	return q
}

// mulDiv is a × b / c, rounded half up or down, for a, b ≥ 0 and c > 0,
// with a 128-bit product: a cart of MaxLines lines of MaxQuantity units
// at money.MaxAmount times a rate in basis points does not fit in 64 bits.
// A result above math.MaxInt64 is math.MaxInt64.
func mulDiv(a, b, c int64, halfUp bool) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return math.MaxInt64
	}
	q, rem := bits.Div64(hi, lo, uint64(c))
	if halfUp && 2*rem >= uint64(c) {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// loadTax reads the shop's tax setting.
func loadTax(ctx context.Context, db Querier) (Tax, error) {
	var t Tax
	err := db.QueryRow(ctx, `SELECT tax_rate_bp, prices_include_tax, tax_label FROM shop_profile`).
		Scan(&t.RateBP, &t.PricesIncludeIt, &t.Label)
	if err != nil {
		return t, fmt.Errorf("read the shop's tax setting: %w", err)
	}
	return t, nil
}

// ShippingMethods are the shop's active methods, in its order.
func ShippingMethods(ctx context.Context, db Querier) ([]ShippingMethod, error) {
	rows, err := db.Query(ctx, `SELECT id, name, description, price_minor, free_over_minor, countries
		FROM shipping_methods WHERE active ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("read the shipping methods: %w", err)
	}
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ShippingMethod, error) {
		var m ShippingMethod
		err := row.Scan(&m.ID, &m.Name, &m.Description, &m.Price, &m.FreeOver, &m.Countries)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the shipping methods: %w", err)
	}
	return ms, nil
}
