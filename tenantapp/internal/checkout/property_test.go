package checkout

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"testing/quick"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/internal/web"
)

// propertySeed is the seed of a randomised test: STOREFLEET_PROPERTY_SEED
// if set (to replay a failure), else a fresh one. It is logged, and named
// again if the test fails.
func propertySeed(t *testing.T) uint64 {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("STOREFLEET_PROPERTY_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("STOREFLEET_PROPERTY_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d", seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with STOREFLEET_PROPERTY_SEED=%d go test -run '^%s$' ./tenantapp/internal/checkout/", seed, t.Name())
		}
	})
	return seed
}

// amount draws a price: mostly shop-sized, sometimes at the limits.
func amount(r *rand.Rand) int64 {
	switch r.IntN(6) {
	case 0:
		return 0
	case 1:
		return money.MaxAmount - r.Int64N(1000)
	case 2:
		return r.Int64N(money.MaxAmount + 1)
	}
	return r.Int64N(100_000)
}

// checkQuote checks a quote against exact arithmetic in math/big: the
// total is the goods plus shipping plus the tax when it is added; the
// tax is the rate's share rounded half up (of the total when the prices
// include it); nothing is negative.
func checkQuote(subtotal, shipping int64, tax Tax, q Quote) error {
	if q.Subtotal != subtotal || q.Shipping != shipping || q.TaxRateBP != tax.RateBP || q.TaxIncluded != tax.PricesIncludeIt {
		return fmt.Errorf("quote %+v does not carry its inputs", q)
	}
	base := new(big.Int).Add(big.NewInt(subtotal), big.NewInt(shipping))
	num := new(big.Int).Mul(base, big.NewInt(int64(tax.RateBP)))
	den := big.NewInt(10000)
	if tax.PricesIncludeIt {
		den = big.NewInt(10000 + int64(tax.RateBP))
	}
	// round half up: floor((2·num + den) / (2·den))
	want := new(big.Int).Div(new(big.Int).Add(new(big.Int).Lsh(num, 1), den), new(big.Int).Lsh(den, 1))
	total := new(big.Int).Set(base)
	if !tax.PricesIncludeIt {
		total.Add(total, want)
	}
	if !want.IsInt64() || q.Tax != want.Int64() || !total.IsInt64() || q.Total != total.Int64() {
		return fmt.Errorf("Price(%d, %d, %+v) = tax %d, total %d; want %s, %s", subtotal, shipping, tax, q.Tax, q.Total, want, total)
	}
	if q.Tax < 0 || q.Total < 0 || q.Tax > q.Total {
		return fmt.Errorf("Price(%d, %d, %+v) = %+v: negative, or more tax than total", subtotal, shipping, tax, q)
	}
	return nil
}

// TestPriceProperty checks Price for any goods and shipping a cart can
// come to (up to MaxLines lines of MaxQuantity units at money.MaxAmount)
// and any tax setting the shop's table allows.
func TestPriceProperty(t *testing.T) {
	maxSubtotal := int64(MaxLines * MaxQuantity * money.MaxAmount)
	seed := propertySeed(t)
	cfg := &quick.Config{MaxCount: 20000, Rand: mrand.New(mrand.NewSource(int64(seed)))}
	r := rand.New(rand.NewPCG(seed, 1))
	f := func(a, b, c uint64, included bool) bool {
		subtotal, shipping := int64(a%uint64(maxSubtotal+1)), int64(b%uint64(money.MaxAmount+1))
		switch r.IntN(4) { // the edges more often than uniform draws reach them
		case 0:
			subtotal = maxSubtotal - subtotal%1000
		case 1:
			subtotal %= 100_000
		}
		tax := Tax{RateBP: int(c % 10001), PricesIncludeIt: included}
		if err := checkQuote(subtotal, shipping, tax, Price(subtotal, shipping, tax)); err != nil {
			t.Error(err)
			return false
		}
		return true
	}
	if err := quick.Check(f, cfg); err != nil {
		t.Fatal(err)
	}
}

// cartModel is what the cart should hold: product id to quantity.
type cartModel map[int64]int

type testProduct struct {
	id          int64
	price       int64
	sale        *int64
	buyable     bool // active and in the shop's currency
	currency    string
	state       string
	stockOnHand int
}

// TestCartPropertyRandomOperations runs random sequences of adding,
// changing, removing and clearing products of random prices (sales,
// archived and foreign-currency products among them), re-pricing them
// in the back office and changing the shop's tax and shipping, against a
// real vendor database, and checks after every step that the cart holds
// what a simple model says, every line's total is its unit price (the
// sale price if any) times its quantity, the subtotal is the sum of the
// lines, quantities stay from 1 to MaxQuantity and lines at most
// MaxLines, and every shipping method's quote adds up.
func TestCartPropertyRandomOperations(t *testing.T) {
	t.Parallel()
	seed := propertySeed(t)
	r := rand.New(rand.NewPCG(seed, 2))
	ctx := context.Background()
	e := testenv.New(t)
	_, pool := e.TenantDB(t)

	products := make([]*testProduct, 12)
	for i := range products {
		p := &testProduct{currency: "EUR", state: "active", stockOnHand: r.IntN(20)}
		switch r.IntN(8) {
		case 0:
			p.state = "archived"
		case 1:
			p.state = "draft"
		case 2:
			p.currency = "USD"
		}
		p.buyable = p.state == "active" && p.currency == "EUR"
		repriceModel(r, p)
		err := pool.QueryRow(ctx, `INSERT INTO products (sku, title, handle, price_minor, sale_price_minor, currency, state, stock_on_hand)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, fmt.Sprintf("PROP-%d", i), fmt.Sprintf("Product %d", i),
			fmt.Sprintf("product-%d", i), p.price, p.sale, p.currency, p.state, p.stockOnHand).Scan(&p.id)
		if err != nil {
			t.Fatal(err)
		}
		products[i] = p
	}
	byID := map[int64]*testProduct{}
	for _, p := range products {
		byID[p.id] = p
	}

	var cartID int64
	model := cartModel{}
	const steps = 150
	for step := range steps {
		p := products[r.IntN(len(products))]
		var op string
		var err error
		switch k := r.IntN(20); {
		case k < 8:
			q := 1 + r.IntN(5)
			if r.IntN(4) == 0 {
				q = r.IntN(MaxQuantity+3) - 1 // -1 to MaxQuantity+1: the edges and beyond
			}
			op = fmt.Sprintf("add %d of product %d", q, p.id)
			cartID, err = AddToCart(ctx, pool, cartID, 0, p.id, q)
			switch {
			case q < 1 || q > MaxQuantity:
				err = expectFieldError(err, "quantity")
			case !p.buyable:
				if !errors.Is(err, ErrNoProduct) {
					err = fmt.Errorf("want ErrNoProduct, got %v", err)
				} else {
					err = nil
				}
			case err == nil:
				model[p.id] = min(model[p.id]+q, MaxQuantity)
			}
		case k < 12:
			q := r.IntN(MaxQuantity + 1)
			if r.IntN(6) == 0 {
				q = MaxQuantity + 1
			}
			op = fmt.Sprintf("set product %d to %d", p.id, q)
			err = SetQuantity(ctx, pool, cartID, p.id, q)
			_, inCart := model[p.id]
			switch {
			case q > MaxQuantity:
				err = expectFieldError(err, "quantity")
			case !inCart:
				var we *web.Error
				if !errors.As(err, &we) || we.Status != 404 {
					err = fmt.Errorf("a product not in the cart: want 404, got %v", err)
				} else {
					err = nil
				}
			case err == nil && q == 0:
				delete(model, p.id)
			case err == nil:
				model[p.id] = q
			}
		case k < 13:
			op = "clear the cart"
			for id := range model {
				if err = SetQuantity(ctx, pool, cartID, id, 0); err != nil {
					break
				}
				delete(model, id)
			}
		case k < 16:
			repriceModel(r, p)
			op = fmt.Sprintf("re-price product %d to %d (sale %v)", p.id, p.price, p.sale)
			_, err = pool.Exec(ctx, `UPDATE products SET price_minor = $2, sale_price_minor = $3 WHERE id = $1`, p.id, p.price, p.sale)
		case k < 17:
			p.buyable = !p.buyable
			p.state = map[bool]string{true: "active", false: "archived"}[p.buyable]
			if p.currency != "EUR" {
				p.buyable = false
			}
			op = fmt.Sprintf("make product %d %s", p.id, p.state)
			_, err = pool.Exec(ctx, `UPDATE products SET state = $2 WHERE id = $1`, p.id, p.state)
		default:
			rate, incl := r.IntN(10001), r.IntN(2) == 0
			if r.IntN(3) == 0 {
				rate = []int{0, 1, 9999, 10000}[r.IntN(4)]
			}
			price, free := amount(r), amount(r)
			op = fmt.Sprintf("tax %d bp (included %v), shipping %d free over %d", rate, incl, price, free)
			_, err = pool.Exec(ctx, `UPDATE shop_profile SET tax_rate_bp = $1, prices_include_tax = $2`, rate, incl)
			if err == nil {
				_, err = pool.Exec(ctx, `UPDATE shipping_methods SET price_minor = $1, free_over_minor = nullif($2::bigint, 0) WHERE id = 1`, price, free)
			}
		}
		if err != nil {
			t.Fatalf("step %d, %s: %v", step, op, err)
		}
		if err := checkCart(ctx, pool, cartID, model, byID); err != nil {
			t.Fatalf("step %d, after %s: %v", step, op, err)
		}
	}
}

// repriceModel gives a product a random price and, sometimes, a sale
// price below it.
func repriceModel(r *rand.Rand, p *testProduct) {
	p.price, p.sale = amount(r), nil
	if p.price > 0 && r.IntN(3) == 0 {
		s := r.Int64N(p.price)
		p.sale = &s
	}
}

func expectFieldError(err error, field string) error {
	var we *web.Error
	if !errors.As(err, &we) || we.Field != field {
		return fmt.Errorf("want a field error on %s, got %v", field, err)
	}
	return nil
}

// checkCart compares the cart as LoadCart prices it with the model, and
// the quote of every shipping method with exact arithmetic.
func checkCart(ctx context.Context, pool *pgxpool.Pool, cartID int64, model cartModel, products map[int64]*testProduct) error {
	c, err := LoadCart(ctx, pool, cartID)
	if err != nil {
		return err
	}
	if len(c.Lines) != len(model) || len(c.Lines) > MaxLines {
		return fmt.Errorf("cart has %d lines, want %d", len(c.Lines), len(model))
	}
	var sum int64
	count := 0
	for _, l := range c.Lines {
		p := products[l.ProductID]
		want, ok := model[l.ProductID]
		if p == nil || !ok || l.Quantity != want {
			return fmt.Errorf("line %+v: want quantity %d (in the model: %v)", l, want, ok)
		}
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			return fmt.Errorf("line %+v: quantity out of range", l)
		}
		unit := p.price
		if p.sale != nil {
			unit = *p.sale
		}
		if l.UnitPrice != unit || l.RegularPrice != p.price || l.Buyable != p.buyable {
			return fmt.Errorf("line %+v: want unit %d, regular %d, buyable %v", l, unit, p.price, p.buyable)
		}
		if l.LineTotal != l.UnitPrice*int64(l.Quantity) || l.LineTotal < 0 {
			return fmt.Errorf("line %+v: total is not unit price × quantity", l)
		}
		sum += l.LineTotal
		count += l.Quantity
	}
	if c.Subtotal != sum || c.Subtotal < 0 || c.Count() != count {
		return fmt.Errorf("subtotal %d, count %d; the lines sum to %d, %d", c.Subtotal, c.Count(), sum, count)
	}
	tax, err := loadTax(ctx, pool)
	if err != nil {
		return err
	}
	methods, err := ShippingMethods(ctx, pool)
	if err != nil {
		return err
	}
	for _, m := range methods {
		ship := m.Cost(c.Subtotal)
		if ship != m.Price && (ship != 0 || m.FreeOver == nil || c.Subtotal < *m.FreeOver) {
			return fmt.Errorf("method %+v costs %d for %d", m, ship, c.Subtotal)
		}
		if err := checkQuote(c.Subtotal, ship, tax, Price(c.Subtotal, ship, tax)); err != nil {
			return err
		}
	}
	return nil
}
