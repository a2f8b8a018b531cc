// Package checkout is where a shopper buys: the cart (anonymous, or a
// customer's, merged at sign-in), the checkout that turns it into an order
// holding its stock, the payment through Stripe Connect on the vendor's
// account, and the order's status page.
//
// Prices, totals and stock are computed here from the vendor's database;
// nothing a client sends about money is read. An order is a copy of the
// cart at checkout; a cart that changes after that is never charged at
// the order's old total (the order is refused and cancelled, and the
// shopper reviews the new one).
package checkout

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/web"
)

// MaxQuantity is the most units of one product in a cart.
const MaxQuantity = 999

// MaxLines is the most products in one cart.
const MaxLines = 100

// Line is a product in a cart, priced now.
type Line struct {
	ProductID int64  `json:"product_id"`
	SKU       string `json:"sku"`
	Handle    string `json:"handle"`
	Title     string `json:"title"`
	Quantity  int    `json:"quantity"`
	// UnitPrice is what one unit costs now (its sale price, if it has one).
	UnitPrice int64 `json:"unit_price"`
	// RegularPrice is the price before a sale (equal to UnitPrice without one).
	RegularPrice int64 `json:"regular_price"`
	LineTotal    int64 `json:"line_total"`
	// Available is how many units can be bought now.
	Available int `json:"available"`
	// Buyable is false for a product no longer on sale (archived, made a
	// draft, or priced in another currency than the shop's).
	Buyable bool   `json:"buyable"`
	MediaID *int64 `json:"-"`
}

// Problem says why a line cannot be bought as it is, or "".
func (l Line) Problem() string {
	switch {
	case !l.Buyable:
		return "This product is no longer on sale. Remove it to check out."
	case l.Available <= 0:
		return "Sold out. Remove it to check out."
	case l.Quantity > l.Available:
		return fmt.Sprintf("Only %d left. Lower the quantity to check out.", l.Available)
	}
	return ""
}

// Cart is a shopper's cart, priced now.
type Cart struct {
	ID       int64  `json:"-"`
	Currency string `json:"currency"`
	Lines    []Line `json:"lines"`
	Subtotal int64  `json:"subtotal"`
	// Version is a digest of the lines (products and quantities): the
	// checkout form carries it, and a cart that changed since is refused.
	Version string `json:"version"`
}

// Count is the number of units in the cart.
func (c *Cart) Count() int {
	n := 0
	for _, l := range c.Lines {
		n += l.Quantity
	}
	return n
}

// Problems reports whether some line cannot be bought as it is.
func (c *Cart) Problems() bool {
	for _, l := range c.Lines {
		if l.Problem() != "" {
			return true
		}
	}
	return false
}

// Querier is a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// shopCurrency is the shop's currency (shop_profile).
func shopCurrency(ctx context.Context, db Querier) (string, error) {
	var cur string
	if err := db.QueryRow(ctx, `SELECT currency FROM shop_profile`).Scan(&cur); err != nil {
		return "", fmt.Errorf("read the shop's currency: %w", err)
	}
	return cur, nil
}

// LoadCart reads a cart with today's prices and stock. id 0 is an empty
// cart.
func LoadCart(ctx context.Context, db Querier, id int64) (*Cart, error) {
	cur, err := shopCurrency(ctx, db)
	if err != nil {
		return nil, err
	}
	c := &Cart{ID: id, Currency: cur, Lines: []Line{}}
	if id != 0 {
		// a product without a handle answers at the one derived from its SKU
		rows, err := db.Query(ctx, `SELECT p.id, p.sku,
				coalesce(p.handle, trim(both '-' from regexp_replace(lower(p.sku), '[^a-z0-9]+', '-', 'g'))), p.title, cl.quantity,
				coalesce(p.sale_price_minor, p.price_minor), p.price_minor,
				-- what this cart's own order waiting for payment holds is
				-- the shopper's to buy again (checking out again replaces it)
				p.stock_on_hand - p.stock_reserved + coalesce((SELECT sum(ol.quantity) FROM orders o
					JOIN order_lines ol ON ol.order_id = o.id AND ol.product_id = p.id
					WHERE o.cart_id = cl.cart_id AND o.status = 'pending' AND o.payment_status = 'unpaid'
						AND o.stock_state = 'reserved'), 0)::int,
				p.state = 'active' AND p.currency = $2,
				(SELECT pm.media_id FROM product_media pm WHERE pm.product_id = p.id ORDER BY pm.position, pm.media_id LIMIT 1)
			FROM cart_lines cl JOIN products p ON p.id = cl.product_id
			WHERE cl.cart_id = $1 ORDER BY cl.added_at, p.id`, id, cur)
		if err != nil {
			return nil, fmt.Errorf("read cart %d: %w", id, err)
		}
		var l Line
		_, err = pgx.ForEachRow(rows, []any{&l.ProductID, &l.SKU, &l.Handle, &l.Title, &l.Quantity, &l.UnitPrice,
			&l.RegularPrice, &l.Available, &l.Buyable, &l.MediaID}, func() error {
			l.LineTotal = l.UnitPrice * int64(l.Quantity)
			c.Lines = append(c.Lines, l)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read cart %d: %w", id, err)
		}
	}
	for _, l := range c.Lines {
		c.Subtotal += l.LineTotal
	}
	c.Version = version(c.Lines)
	return c, nil
}

// version is a digest of the cart's products and quantities.
func version(lines []Line) string {
	h := sha256.New()
	var b [12]byte
	for _, l := range lines {
		binary.BigEndian.PutUint64(b[:8], uint64(l.ProductID))
		binary.BigEndian.PutUint32(b[8:], uint32(l.Quantity))
		h.Write(b[:])
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// ErrNoProduct means the product to add is not on sale in this shop.
var ErrNoProduct = &web.Error{Status: 404, Message: "This product is not on sale in this shop."}

// ensureCart returns the cart's id, making a cart (the customer's, if
// signed in) when there is none yet.
func ensureCart(ctx context.Context, tx pgx.Tx, id, customerID int64) (int64, error) {
	if id != 0 {
		var ok bool
		// a cart that is gone (expired, merged) is replaced
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM carts WHERE id = $1 AND customer_id IS NOT DISTINCT FROM nullif($2, 0))`,
			id, customerID).Scan(&ok)
		if err != nil {
			return 0, fmt.Errorf("find cart %d: %w", id, err)
		}
		if ok {
			return id, nil
		}
	}
	if customerID != 0 {
		err := tx.QueryRow(ctx, `INSERT INTO carts (customer_id) VALUES ($1)
			ON CONFLICT (customer_id) WHERE customer_id IS NOT NULL DO UPDATE SET updated_at = now() RETURNING id`, customerID).Scan(&id)
		if err != nil {
			return 0, fmt.Errorf("make the customer's cart: %w", err)
		}
		return id, nil
	}
	if err := tx.QueryRow(ctx, `INSERT INTO carts DEFAULT VALUES RETURNING id`).Scan(&id); err != nil {
		return 0, fmt.Errorf("make a cart: %w", err)
	}
	return id, nil
}

// AddToCart adds quantity units of a product (at most MaxQuantity in all)
// and returns the cart's id, which is new when the shopper had none.
func AddToCart(ctx context.Context, pool *pgxpool.Pool, cartID, customerID, productID int64, quantity int) (int64, error) {
	if quantity < 1 || quantity > MaxQuantity {
		return cartID, web.FieldError("quantity", fmt.Sprintf("Choose a quantity from 1 to %d.", MaxQuantity))
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var ok bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM products p, shop_profile s
			WHERE p.id = $1 AND p.state = 'active' AND p.currency = s.currency)`, productID).Scan(&ok)
		if err != nil {
			return fmt.Errorf("find product %d: %w", productID, err)
		}
		if !ok {
			return ErrNoProduct
		}
		if cartID, err = ensureCart(ctx, tx, cartID, customerID); err != nil {
			return err
		}
		var lines int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM cart_lines WHERE cart_id = $1 AND product_id <> $2`, cartID, productID).Scan(&lines); err != nil {
			return fmt.Errorf("count the lines of cart %d: %w", cartID, err)
		}
		if lines >= MaxLines {
			return &web.Error{Status: 409, Message: fmt.Sprintf("A cart holds at most %d different products.", MaxLines)}
		}
		_, err = tx.Exec(ctx, `INSERT INTO cart_lines (cart_id, product_id, quantity) VALUES ($1, $2, $3)
			ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = least(cart_lines.quantity + excluded.quantity, $4)`,
			cartID, productID, quantity, MaxQuantity)
		if err != nil {
			return fmt.Errorf("add product %d to cart %d: %w", productID, cartID, err)
		}
		return touch(ctx, tx, cartID)
	})
	return cartID, err
}

// SetQuantity changes a line's quantity; 0 removes it. A product not in
// the cart is a 404.
func SetQuantity(ctx context.Context, pool *pgxpool.Pool, cartID, productID int64, quantity int) error {
	if quantity < 0 || quantity > MaxQuantity {
		return web.FieldError("quantity", fmt.Sprintf("Choose a quantity from 0 (to remove it) to %d.", MaxQuantity))
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var sql string
		if quantity == 0 {
			sql = `DELETE FROM cart_lines WHERE cart_id = $1 AND product_id = $2 AND $3 = 0`
		} else {
			sql = `UPDATE cart_lines SET quantity = $3 WHERE cart_id = $1 AND product_id = $2`
		}
		tag, err := tx.Exec(ctx, sql, cartID, productID, quantity)
		if err != nil {
			return fmt.Errorf("change product %d in cart %d: %w", productID, cartID, err)
		}
		if tag.RowsAffected() == 0 {
			return &web.Error{Status: 404, Message: "This product is not in your cart."}
		}
		return touch(ctx, tx, cartID)
	})
}

func touch(ctx context.Context, tx pgx.Tx, cartID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE carts SET updated_at = now() WHERE id = $1`, cartID); err != nil {
		return fmt.Errorf("touch cart %d: %w", cartID, err)
	}
	return nil
}

// MergeCarts moves an anonymous cart's lines into the customer's cart at
// sign-in (quantities add up, at most MaxQuantity) and returns the
// customer's cart id, or 0 if they have no cart. A cart id that is not an
// anonymous cart (another customer's, or gone) is ignored.
func MergeCarts(ctx context.Context, pool *pgxpool.Pool, anonID, customerID int64) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		id = 0
		err := tx.QueryRow(ctx, `SELECT id FROM carts WHERE customer_id = $1`, customerID).Scan(&id)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("find the customer's cart: %w", err)
		}
		if anonID == 0 || anonID == id {
			return nil
		}
		var anon bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM carts WHERE id = $1 AND customer_id IS NULL)`, anonID).Scan(&anon); err != nil {
			return fmt.Errorf("find the anonymous cart: %w", err)
		}
		if !anon {
			return nil
		}
		if id == 0 {
			// the anonymous cart becomes the customer's
			_, err := tx.Exec(ctx, `UPDATE carts SET customer_id = $2, updated_at = now() WHERE id = $1`, anonID, customerID)
			if err != nil {
				return fmt.Errorf("give the cart to the customer: %w", err)
			}
			id = anonID
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO cart_lines (cart_id, product_id, quantity, added_at)
			SELECT $2, product_id, quantity, added_at FROM cart_lines WHERE cart_id = $1
			ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = least(cart_lines.quantity + excluded.quantity, $3)`,
			anonID, id, MaxQuantity)
		if err != nil {
			return fmt.Errorf("merge the carts: %w", err)
		}
		// orders waiting for payment follow their cart
		if _, err := tx.Exec(ctx, `UPDATE orders SET cart_id = $2 WHERE cart_id = $1`, anonID, id); err != nil {
			return fmt.Errorf("move the cart's orders: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM carts WHERE id = $1`, anonID); err != nil {
			return fmt.Errorf("drop the merged cart: %w", err)
		}
		return touch(ctx, tx, id)
	})
	return id, err
}
