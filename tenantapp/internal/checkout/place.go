package checkout

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/web"
)

// ReserveFor is how long an order holds its stock while the shopper pays.
const ReserveFor = 30 * time.Minute

// Details are what the shopper tells at checkout. Nothing about money:
// prices, totals and the currency come from the shop's database.
type Details struct {
	CheckoutKey      string         `json:"checkout_key"`
	CartVersion      string         `json:"cart_version"`
	Email            string         `json:"email"`
	ShippingAddress  orders.Address `json:"shipping_address"`
	ShippingMethodID int64          `json:"shipping_method_id"`
}

var (
	checkoutKeyRe = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
	countryRe     = regexp.MustCompile(`^[A-Z]{2}$`)
)

// Validate checks the details and returns every problem as a field error.
func (d *Details) Validate() error {
	d.Email = strings.ToLower(strings.TrimSpace(d.Email))
	a := &d.ShippingAddress
	for _, s := range []*string{&a.Name, &a.Line1, &a.Line2, &a.PostalCode, &a.City, &a.Region, &a.Phone} {
		*s = strings.TrimSpace(*s)
	}
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	fields := map[string]string{}
	var first string
	bad := func(field, msg string) {
		if _, ok := fields[field]; !ok {
			fields[field] = msg
		}
		if first == "" {
			first = field
		}
	}
	if !checkoutKeyRe.MatchString(d.CheckoutKey) {
		bad("checkout_key", "The checkout form is out of date. Reload the page and try again.")
	}
	if addr, err := mail.ParseAddress(d.Email); err != nil || addr.Address != d.Email || len(d.Email) > 254 {
		bad("email", "Enter the e-mail address your confirmation should go to, like name@example.com.")
	}
	text := func(field, v string, min, max int, what string) {
		n := utf8.RuneCountInString(v)
		switch {
		case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
			bad(field, what+" has characters that cannot be used.")
		case n < min:
			bad(field, "Enter "+strings.ToLower(what[:1])+what[1:]+".")
		case n > max:
			bad(field, fmt.Sprintf("%s is too long (at most %d characters).", what, max))
		}
	}
	text("shipping_address.name", a.Name, 1, 200, "The name")
	text("shipping_address.line1", a.Line1, 1, 200, "The street and number")
	text("shipping_address.line2", a.Line2, 0, 200, "The second address line")
	text("shipping_address.postal_code", a.PostalCode, 1, 20, "The postal code")
	text("shipping_address.city", a.City, 1, 100, "The city")
	text("shipping_address.region", a.Region, 0, 100, "The region")
	text("shipping_address.phone", a.Phone, 0, 40, "The phone number")
	if !countryRe.MatchString(a.Country) {
		bad("shipping_address.country", "Choose the country.")
	}
	if d.ShippingMethodID <= 0 {
		bad("shipping_method_id", "Choose how to ship the order.")
	}
	if first != "" {
		return &web.Error{Status: http.StatusUnprocessableEntity, Message: fields[first], Field: first,
			Extra: map[string]any{"fields": fields}}
	}
	return nil
}

// ErrCartChanged means the cart is not the one the shopper reviewed.
var ErrCartChanged = &web.Error{Status: http.StatusConflict,
	Message: "Your cart changed since you reviewed it. Check the new total and place the order again."}

// ErrEmptyCart means there is nothing to check out.
var ErrEmptyCart = &web.Error{Status: http.StatusConflict, Message: "Your cart is empty."}

// SoldOutError says which product sold out while the shopper checked out.
type SoldOutError struct{ Title string }

func (e *SoldOutError) Error() string {
	return fmt.Sprintf("Sorry, %s just sold out (or fewer are left than you asked for). Your cart is kept: change it and try again.", e.Title)
}

// Placed is an order made by Place.
type Placed struct {
	OrderID int64
	Token   string // the secret of the order's status link
	// Existing is true when the checkout had been placed before (the same
	// form sent twice): nothing new was made.
	Existing bool
	// Replaced are the cart's earlier unpaid orders that this one
	// cancelled: their PaymentIntents are to be cancelled at Stripe.
	Replaced []orders.Expired
}

// ErrKeyTaken means a client sent a checkout key another checkout used.
var ErrKeyTaken = web.FieldError("checkout_key", "This checkout key was used for another cart. Send a new key for every checkout.")

// Placer makes orders in one vendor's database.
type Placer struct {
	Pool         *pgxpool.Pool
	CommissionBP int // the platform's commission, basis points of the total
	Now          func() time.Time
}

// Place turns the cart into an order holding its stock, in one
// transaction: the order, its lines and every reservation, or nothing.
// The same checkout key gives back the order it made. A cart that is not
// the version the shopper reviewed is refused (ErrCartChanged); a product
// that sold out meanwhile is refused (SoldOutError) and nothing is held.
func (p *Placer) Place(ctx context.Context, cartID, customerID int64, d Details) (*Placed, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if placed, err := p.existing(ctx, d.CheckoutKey, cartID); placed != nil || err != nil {
		return placed, err
	}
	var taken bool
	if err := p.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE checkout_key = $1)`, d.CheckoutKey).Scan(&taken); err != nil {
		return nil, fmt.Errorf("look up a checkout key: %w", err)
	}
	if taken {
		return nil, ErrKeyTaken
	}
	if cartID == 0 {
		return nil, ErrEmptyCart
	}
	var placed *Placed
	err := pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		placed = nil
		// One checkout of a cart at a time: the same form sent twice
		// waits here for the first, then finds its order.
		var locked bool
		err := tx.QueryRow(ctx, `SELECT true FROM carts WHERE id = $1 AND customer_id IS NOT DISTINCT FROM nullif($2, 0) FOR UPDATE`,
			cartID, customerID).Scan(&locked)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrEmptyCart
		}
		if err != nil {
			return fmt.Errorf("lock cart %d: %w", cartID, err)
		}
		var prior int64
		var token string
		err = tx.QueryRow(ctx, `SELECT id, access_token FROM orders WHERE checkout_key = $1 AND cart_id = $2`, d.CheckoutKey, cartID).Scan(&prior, &token)
		if err == nil {
			placed = &Placed{OrderID: prior, Token: token, Existing: true}
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("find the order of checkout: %w", err)
		}
		// A cart has one order waiting for payment at a time: the earlier
		// one (the shopper went back and checked out again) is cancelled
		// and its stock given back before this one is priced and reserves;
		// if this checkout fails, the rollback keeps the earlier one.
		replaced, err := replaceUnpaid(ctx, tx, cartID)
		if err != nil {
			return err
		}
		c, err := LoadCart(ctx, tx, cartID)
		if err != nil {
			return err
		}
		if len(c.Lines) == 0 {
			return ErrEmptyCart
		}
		if c.Version != d.CartVersion {
			return ErrCartChanged
		}
		for _, l := range c.Lines {
			switch {
			case l.Buyable && l.Quantity > l.Available:
				return &web.Error{Status: http.StatusConflict, Message: (&SoldOutError{Title: l.Title}).Error()}
			case l.Problem() != "":
				return &web.Error{Status: http.StatusConflict, Message: l.Title + ": " + l.Problem()}
			}
		}
		methods, err := ShippingMethods(ctx, tx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(methods, func(m ShippingMethod) bool { return m.ID == d.ShippingMethodID })
		if i < 0 {
			return web.FieldError("shipping_method_id", "This shipping method is not offered any more. Choose another.")
		}
		method := methods[i]
		if !method.Serves(d.ShippingAddress.Country) {
			return web.FieldError("shipping_method_id", method.Name+" does not deliver to this country. Choose another method.")
		}
		tax, err := loadTax(ctx, tx)
		if err != nil {
			return err
		}
		q := Price(c.Subtotal, method.Cost(c.Subtotal), tax)
		var account *string
		if err := tx.QueryRow(ctx, `SELECT stripe_account_id FROM shop_profile`).Scan(&account); err != nil {
			return fmt.Errorf("read the shop's payment account: %w", err)
		}
		addr, err := json.Marshal(d.ShippingAddress)
		if err != nil {
			return err
		}
		token = newToken()
		digest, _ := base64.RawURLEncoding.DecodeString(c.Version)
		fee := mulDiv(q.Total, int64(max(p.CommissionBP, 0)), 10000, false)
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO orders (checkout_key, access_token, customer_id, cart_id, cart_digest, email,
				reserved_until, currency, subtotal_minor, shipping_minor, tax_minor, total_minor, tax_rate_bp,
				prices_include_tax, tax_label, shipping_method_id, shipping_method_name, shipping_address,
				stripe_account_id, application_fee_minor)
			VALUES ($1, $2, nullif($3, 0), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
			RETURNING id`,
			d.CheckoutKey, token, customerID, cartID, digest, d.Email, p.now().Add(ReserveFor), c.Currency,
			q.Subtotal, q.Shipping, q.Tax, q.Total, q.TaxRateBP, q.TaxIncluded, q.TaxLabel, method.ID, method.Name, addr,
			account, fee).Scan(&id)
		if err != nil {
			return fmt.Errorf("make the order: %w", err)
		}
		byProduct := slices.Clone(c.Lines)
		slices.SortFunc(byProduct, func(a, b Line) int { return int(a.ProductID - b.ProductID) })
		for _, l := range c.Lines {
			_, err := tx.Exec(ctx, `INSERT INTO order_lines (order_id, product_id, sku, title, unit_price_minor, quantity, line_total_minor)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, l.ProductID, l.SKU, l.Title, l.UnitPrice, l.Quantity, l.LineTotal)
			if err != nil {
				return fmt.Errorf("add %s to order %d: %w", l.SKU, id, err)
			}
		}
		// in product id order: two checkouts never wait on each other in a circle
		for _, l := range byProduct {
			if err := orders.Reserve(ctx, tx, id, l.ProductID, l.Quantity); err != nil {
				if errors.Is(err, orders.ErrOutOfStock) {
					return &web.Error{Status: http.StatusConflict, Message: (&SoldOutError{Title: l.Title}).Error(), Err: err}
				}
				return err
			}
		}
		if err := orders.Event(ctx, tx, id, "order.placed", "Order placed.", false, 0); err != nil {
			return err
		}
		placed = &Placed{OrderID: id, Token: token, Replaced: replaced}
		return nil
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "orders_checkout_key_key" {
		placed, err = p.existing(ctx, d.CheckoutKey, cartID)
		if placed == nil && err == nil {
			return nil, ErrKeyTaken
		}
	}
	return placed, err
}

// replaceUnpaid cancels the cart's orders that wait for payment, giving
// their stock back.
func replaceUnpaid(ctx context.Context, tx pgx.Tx, cartID int64) ([]orders.Expired, error) {
	rows, err := tx.Query(ctx, `SELECT id, coalesce(stripe_account_id, ''), coalesce(payment_intent_id, '') FROM orders
		WHERE cart_id = $1 AND status = 'pending' AND payment_status = 'unpaid' ORDER BY id`, cartID)
	if err != nil {
		return nil, fmt.Errorf("find the cart's unpaid orders: %w", err)
	}
	earlier, err := pgx.CollectRows(rows, pgx.RowToStructByPos[orders.Expired])
	if err != nil {
		return nil, fmt.Errorf("find the cart's unpaid orders: %w", err)
	}
	for _, e := range earlier {
		if _, err := orders.CancelPending(ctx, tx, e.OrderID, "Replaced by a newer order placed from the same cart.", 0); err != nil {
			return nil, err
		}
	}
	return earlier, nil
}

// existing finds the order a checkout key made from this cart.
func (p *Placer) existing(ctx context.Context, key string, cartID int64) (*Placed, error) {
	var pl Placed
	err := p.Pool.QueryRow(ctx, `SELECT id, access_token FROM orders WHERE checkout_key = $1 AND cart_id = $2`, key, cartID).
		Scan(&pl.OrderID, &pl.Token)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find the order of a checkout: %w", err)
	}
	pl.Existing = true
	return &pl, nil
}

func (p *Placer) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// newToken is a fresh secret for links and forms.
func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewCheckoutKey is the one-time key of a checkout form.
func NewCheckoutKey() string { return newToken() }
