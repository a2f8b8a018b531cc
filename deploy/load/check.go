package main

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/jackc/pgx/v5"
)

// checkResult is what the consistency check found.
type checkResult struct {
	Vendors         int `json:"vendors"`
	Products        int `json:"products"`
	OrdersChecked   int `json:"orders_checked"`
	PaidChecked     int `json:"paid_checked"`
	UnitsSold       int `json:"units_sold"`
	UnitsReserved   int `json:"units_reserved"`
	OrdersInDBs     int `json:"orders_in_databases"`
	UnknownToDriver int `json:"orders_unknown_to_driver"`
	// UncertainCheckouts are the checkouts whose outcome the driver does
	// not know (failed or timed out): the most orders unknown to the
	// driver a vendor may hold.
	UncertainCheckouts int      `json:"uncertain_checkouts"`
	Problems           []string `json:"problems"`
}

// OK says whether nothing was lost and stock is consistent.
func (c *checkResult) OK() bool { return len(c.Problems) == 0 }

func (c *checkResult) print(w io.Writer) {
	fmt.Fprintf(w, "consistency: %d vendors, %d products, %d accepted orders found with their lines (%d paid as the driver paid them), "+
		"%d orders in the databases (%d not seen accepted by the driver, %d checkouts of unknown outcome), %d units sold, %d units reserved by unpaid orders\n",
		c.Vendors, c.Products, c.OrdersChecked, c.PaidChecked, c.OrdersInDBs, c.UnknownToDriver, c.UncertainCheckouts, c.UnitsSold, c.UnitsReserved)
	if c.OK() {
		fmt.Fprintln(w, "consistency: OK: every accepted order present, paid ones paid, unpaid ones unpaid, no order beyond those of checkouts of unknown outcome; "+
			"on hand = initial - sold, reserved = held by unpaid orders, nothing negative")
		return
	}
	fmt.Fprintf(w, "consistency: FAILED, %d problems:\n", len(c.Problems))
	for i, p := range c.Problems {
		if i == 50 {
			fmt.Fprintf(w, "  ... and %d more\n", len(c.Problems)-50)
			break
		}
		fmt.Fprintln(w, "  "+p)
	}
}

// runCheck compares every vendor's database with what the driver saw and
// with the stock recorded at seed time. uncertain counts, per vendor (index
// in state.Vendors), the checkouts whose outcome the driver does not know.
func runCheck(ctx context.Context, state *State, placed []placedOrder, uncertain map[int]int) (*checkResult, error) {
	p, err := openPlatform(ctx)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	byVendor := make([][]placedOrder, len(state.Vendors))
	for _, o := range placed {
		byVendor[o.Vendor] = append(byVendor[o.Vendor], o)
	}
	total := &checkResult{Vendors: len(state.Vendors)}
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	for range 4 {
		wg.Go(func() {
			for i := range jobs {
				vs := &state.Vendors[i]
				c, err := func() (*checkResult, error) {
					v, err := p.Store.VendorByID(ctx, vs.ID)
					if err != nil {
						return nil, err
					}
					u, err := p.Prov.VendorDatabaseURL(ctx, v)
					if err != nil {
						return nil, err
					}
					conn, err := pgx.Connect(ctx, u)
					if err != nil {
						return nil, fmt.Errorf("connect to %s: %w", vs.Slug, err)
					}
					defer conn.Close(context.WithoutCancel(ctx))
					return checkVendor(ctx, conn, vs, byVendor[i], uncertain[i])
				}()
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("check %s: %w", vs.Slug, err)
				}
				if c != nil {
					total.Products += c.Products
					total.OrdersChecked += c.OrdersChecked
					total.PaidChecked += c.PaidChecked
					total.UnitsSold += c.UnitsSold
					total.UnitsReserved += c.UnitsReserved
					total.OrdersInDBs += c.OrdersInDBs
					total.UnknownToDriver += c.UnknownToDriver
					total.UncertainCheckouts += c.UncertainCheckouts
					total.Problems = append(total.Problems, c.Problems...)
				}
				mu.Unlock()
			}
		})
	}
	for i := range state.Vendors {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return total, nil
}

// checkVendor checks one vendor's database; uncertain is the number of its
// checkouts whose outcome the driver does not know.
func checkVendor(ctx context.Context, conn *pgx.Conn, vs *VendorState, placed []placedOrder, uncertain int) (*checkResult, error) {
	c := &checkResult{UncertainCheckouts: uncertain}
	bad := func(format string, args ...any) {
		c.Problems = append(c.Problems, vs.Slug+": "+fmt.Sprintf(format, args...))
	}
	// Every order the shop accepted is there, with the cart's lines, and
	// paid when the driver paid it.
	seen := map[int64]bool{}
	for _, o := range placed {
		seen[o.ID] = true
		var status, payment, stock string
		var total int64
		var payments int
		err := conn.QueryRow(ctx, `SELECT status, payment_status, stock_state, total_minor,
				(SELECT count(*) FROM payments WHERE order_id = o.id)
			FROM orders o WHERE id = $1 AND access_token = $2`, o.ID, o.Token).Scan(&status, &payment, &stock, &total, &payments)
		if err == pgx.ErrNoRows {
			bad("order %d was accepted but is not in the database", o.ID)
			continue
		}
		if err != nil {
			return nil, err
		}
		c.OrdersChecked++
		rows, err := conn.Query(ctx, `SELECT product_id, sum(quantity)::int FROM order_lines WHERE order_id = $1 GROUP BY product_id`, o.ID)
		if err != nil {
			return nil, err
		}
		lines := map[int64]int{}
		var pid int64
		var q int
		_, err = pgx.ForEachRow(rows, []any{&pid, &q}, func() error { lines[pid] = q; return nil })
		if err != nil {
			return nil, err
		}
		if fmt.Sprint(lines) != fmt.Sprint(o.Lines) {
			bad("order %d has lines %v, the cart checked out had %v", o.ID, lines, o.Lines)
		}
		if total != o.Total {
			bad("order %d totals %d, the shop answered %d", o.ID, total, o.Total)
		}
		switch {
		case o.Paid && (payment != "paid" || status == "cancelled" || stock != "committed" || payments != 1):
			bad("order %d was paid but is %s/%s, stock %s, %d payments", o.ID, status, payment, stock, payments)
		case o.Paid:
			c.PaidChecked++
		case o.PayFailed:
			// its payment request failed: it may be in any payment state,
			// which the checks of every order below still hold to account
		case payment != "unpaid":
			bad("order %d was never paid by the driver but is %s/%s, stock %s, %d payments", o.ID, status, payment, stock, payments)
		case status != "pending" || stock != "reserved":
			bad("order %d was left unpaid within its reservation but is %s, stock %s", o.ID, status, stock)
		}
	}
	// every order in the database
	rows, err := conn.Query(ctx, `SELECT id FROM orders`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	c.OrdersInDBs = len(ids)
	var unknown []int64
	for _, id := range ids {
		if !seen[id] {
			c.UnknownToDriver++
			unknown = append(unknown, id)
		}
	}
	// The driver never retries: each order it did not see accepted needs a
	// checkout of its own whose answer was lost. More than that is an
	// order nobody placed, or one checkout placed twice.
	if c.UnknownToDriver > uncertain {
		bad("%d orders the driver never saw accepted (%v), but only %d checkouts of unknown outcome: phantom or duplicate orders",
			c.UnknownToDriver, unknown[:min(len(unknown), 10)], uncertain)
	}
	var orphanPaid int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM orders o WHERE payment_status = 'paid'
			AND (SELECT count(*) FROM payments WHERE order_id = o.id) <> 1`).Scan(&orphanPaid); err != nil {
		return nil, err
	}
	if orphanPaid > 0 {
		bad("%d paid orders without exactly one payment", orphanPaid)
	}
	var oddReserved int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM orders WHERE stock_state = 'reserved'
			AND NOT (status = 'pending' AND payment_status = 'unpaid')`).Scan(&oddReserved); err != nil {
		return nil, err
	}
	if oddReserved > 0 {
		bad("%d orders hold stock but are not unpaid and pending", oddReserved)
	}

	// Stock: never negative; reserved = what unpaid live orders hold;
	// on hand = initial - what paid orders sold.
	initial := map[int64]int{}
	for _, p := range vs.Products {
		initial[p.ID] = p.Stock
	}
	rows, err = conn.Query(ctx, `SELECT p.id, p.stock_on_hand, p.stock_reserved,
			coalesce((SELECT sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id
				WHERE l.product_id = p.id AND o.stock_state = 'reserved' AND o.status = 'pending' AND o.payment_status = 'unpaid'), 0)::int,
			coalesce((SELECT sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id
				WHERE l.product_id = p.id AND o.stock_state = 'committed'), 0)::int
		FROM products p ORDER BY p.id`)
	if err != nil {
		return nil, err
	}
	var id int64
	var onHand, reserved, held, sold int
	_, err = pgx.ForEachRow(rows, []any{&id, &onHand, &reserved, &held, &sold}, func() error {
		c.Products++
		c.UnitsSold += sold
		c.UnitsReserved += reserved
		init, ok := initial[id]
		switch {
		case !ok:
			bad("product %d was not seeded", id)
		case onHand < 0 || reserved < 0:
			bad("product %d has negative stock: %d on hand, %d reserved", id, onHand, reserved)
		case reserved != held:
			bad("product %d has %d reserved, but unpaid orders hold %d", id, reserved, held)
		case init-sold != onHand:
			bad("product %d: %d on hand, but %d seeded - %d sold = %d", id, onHand, init, sold, init-sold)
		case onHand < reserved:
			bad("product %d: %d reserved of %d on hand", id, reserved, onHand)
		}
		delete(initial, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id := range initial {
		bad("product %d is gone", id)
	}
	return c, nil
}
