package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
)

// MaxBulk is the most products one bulk edit changes.
const MaxBulk = 500

// Bulk edit kinds.
const (
	BulkSetPrice    = "set_price"
	BulkAdjustPrice = "adjust_price"
	BulkSetState    = "set_state"
)

// BulkEdit is a change to many products at once, as typed: a new price
// (decimal text in each product's currency), a percentage change of price
// and sale price, or a new state. Field error keys: ids, kind, price,
// percent, state.
type BulkEdit struct {
	IDs     []int64
	Kind    string
	Price   string
	Percent string
	State   string
}

// Check says what is wrong with the edit itself (not with its products).
func (b *BulkEdit) Check() FieldErrors {
	errs := FieldErrors{}
	slices.Sort(b.IDs)
	b.IDs = slices.Compact(b.IDs)
	switch {
	case len(b.IDs) == 0:
		errs["ids"] = "Select at least one product."
	case len(b.IDs) > MaxBulk:
		errs["ids"] = fmt.Sprintf("Select at most %d products at once.", MaxBulk)
	}
	switch b.Kind {
	case BulkSetPrice:
		if strings.TrimSpace(b.Price) == "" {
			errs["price"] = "Enter the new price, such as 12.90."
		} else if _, err := ParseAmount(b.Price, 3); err != nil { // each product's currency decides later
			errs["price"] = err.Error()
		}
	case BulkAdjustPrice:
		if _, err := ParsePercent(b.Percent); err != nil {
			errs["percent"] = err.Error()
		}
	case BulkSetState:
		if !validState(b.State) {
			errs["state"] = "Choose draft, active or archived."
		}
	default:
		errs["kind"] = "Choose what to change: the price, a percentage of it, or the state."
	}
	return errs
}

// Describe says in words what the edit does.
func (b BulkEdit) Describe() string {
	switch b.Kind {
	case BulkSetPrice:
		return "Set the price to " + strings.TrimSpace(b.Price)
	case BulkAdjustPrice:
		p := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(b.Percent), "%"))
		if !strings.HasPrefix(p, "-") && !strings.HasPrefix(p, "+") {
			p = "+" + p
		}
		return "Change prices and sale prices by " + p + " %"
	case BulkSetState:
		return "Set the state to " + b.State
	}
	return ""
}

// BulkChange is what a bulk edit does to one product.
type BulkChange struct {
	ID                      int64
	SKU, Title, Currency    string
	PriceBefore, PriceAfter int64
	SaleBefore, SaleAfter   *int64
	StateBefore, StateAfter string
	Note                    string // e.g. a sale price removed
	Error                   string // why this product cannot take the change
}

// Changed reports whether the edit changes the product at all.
func (c *BulkChange) Changed() bool {
	return c.PriceBefore != c.PriceAfter || c.StateBefore != c.StateAfter || !eqPtr(c.SaleBefore, c.SaleAfter)
}

func eqPtr(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

// BulkPlan is a bulk edit's preview: each selected product before and
// after, and a fingerprint of what was shown, so that applying refuses if
// a product changed since.
type BulkPlan struct {
	Changes     []BulkChange
	Fingerprint string
	Missing     int // selected products that no longer exist
}

// Errors counts products that cannot take the change.
func (p *BulkPlan) Errors() int {
	n := 0
	for _, c := range p.Changes {
		if c.Error != "" {
			n++
		}
	}
	return n
}

// Changed counts products the edit changes.
func (p *BulkPlan) Changed() int {
	n := 0
	for _, c := range p.Changes {
		if c.Error == "" && c.Changed() {
			n++
		}
	}
	return n
}

// ErrBulkStale means products changed between the preview and applying it.
var ErrBulkStale = errors.New("some of the selected products changed since the preview")

type bulkRow struct {
	id                          int64
	sku, title, currency, state string
	price                       int64
	sale                        *int64
	updatedAt                   int64
}

func loadBulk(ctx context.Context, db Querier, ids []int64, lock bool) ([]bulkRow, error) {
	q := `SELECT id, sku, title, currency, state, price_minor, sale_price_minor, (extract(epoch FROM updated_at) * 1000000)::bigint
		FROM products WHERE id = ANY($1) ORDER BY id`
	if lock {
		q += ` FOR UPDATE`
	}
	rows, err := db.Query(ctx, q, ids)
	if err != nil {
		return nil, fmt.Errorf("load products for a bulk edit: %w", err)
	}
	defer rows.Close()
	var out []bulkRow
	for rows.Next() {
		var r bulkRow
		if err := rows.Scan(&r.id, &r.sku, &r.title, &r.currency, &r.state, &r.price, &r.sale, &r.updatedAt); err != nil {
			return nil, fmt.Errorf("load products for a bulk edit: %w", err)
		}
		r.currency = strings.TrimSpace(r.currency)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (b *BulkEdit) plan(rows []bulkRow) *BulkPlan {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%s|%v\n", b.Kind, strings.TrimSpace(b.Price), strings.TrimSpace(b.Percent), b.State, b.IDs)
	p := &BulkPlan{Missing: len(b.IDs) - len(rows)}
	for _, r := range rows {
		fmt.Fprintf(h, "%d|%d|%v|%s|%d\n", r.id, r.price, fmtPtr(r.sale), r.state, r.updatedAt)
		c := BulkChange{ID: r.id, SKU: r.sku, Title: r.title, Currency: r.currency, PriceBefore: r.price, PriceAfter: r.price,
			SaleBefore: r.sale, SaleAfter: r.sale, StateBefore: r.state, StateAfter: r.state}
		switch b.Kind {
		case BulkSetState:
			c.StateAfter = b.State
		case BulkSetPrice:
			v, err := ParseAmount(b.Price, digitsOf(r.currency))
			if err != nil {
				c.Error = r.currency + ": " + err.Error()
				break
			}
			c.PriceAfter = v
			if r.sale != nil && *r.sale >= v {
				c.SaleAfter, c.Note = nil, "The sale price "+FormatAmount(*r.sale, digitsOf(r.currency))+" is not below the new price and is removed."
			}
		case BulkAdjustPrice:
			bp, _ := ParsePercent(b.Percent)
			c.PriceAfter = ApplyPercent(r.price, bp)
			if c.PriceAfter > MaxAmount {
				c.Error = "The new price would be too large."
				break
			}
			if r.sale != nil {
				s := ApplyPercent(*r.sale, bp)
				c.SaleAfter = &s
				if s >= c.PriceAfter {
					c.SaleAfter, c.Note = nil, "After rounding the sale price is not below the price and is removed."
				}
			}
		}
		p.Changes = append(p.Changes, c)
	}
	p.Fingerprint = hex.EncodeToString(h.Sum(nil))
	return p
}

func fmtPtr(v *int64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

// PreviewBulk shows what a bulk edit would do, writing nothing.
func PreviewBulk(ctx context.Context, db Querier, b BulkEdit) (*BulkPlan, error) {
	if errs := b.Check(); len(errs) > 0 {
		return nil, errs
	}
	rows, err := loadBulk(ctx, db, b.IDs, false)
	if err != nil {
		return nil, err
	}
	return b.plan(rows), nil
}

// ApplyBulk makes a previewed bulk edit in one transaction, with one audit
// entry per changed product. If the products are no longer as the preview
// with this fingerprint showed them, it changes nothing and returns the
// new plan with ErrBulkStale; if any product cannot take the change, it
// changes nothing and returns the plan with field errors.
func ApplyBulk(ctx context.Context, db *pgxpool.Pool, b BulkEdit, fingerprint string, audit staff.Entry) (*BulkPlan, error) {
	if errs := b.Check(); len(errs) > 0 {
		return nil, errs
	}
	var plan *BulkPlan
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		rows, err := loadBulk(ctx, tx, b.IDs, true)
		if err != nil {
			return err
		}
		plan = b.plan(rows)
		if plan.Fingerprint != fingerprint {
			return ErrBulkStale
		}
		if n := plan.Errors(); n > 0 {
			return FieldErrors{"ids": fmt.Sprintf("%d of the selected products cannot take this change; see each row.", n)}
		}
		var ids, prices []int64
		var sales []*int64
		var states []string
		for _, c := range plan.Changes {
			if !c.Changed() {
				continue
			}
			ids, prices, sales, states = append(ids, c.ID), append(prices, c.PriceAfter), append(sales, c.SaleAfter), append(states, c.StateAfter)
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE products p SET price_minor = u.price, sale_price_minor = u.sale, state = u.state,
			updated_by = $5, updated_at = now()
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS u(id, price, sale, state) WHERE p.id = u.id`,
			ids, prices, sales, states, staffID(audit))
		if err != nil {
			return fmt.Errorf("apply bulk edit: %w", err)
		}
		for _, c := range plan.Changes {
			if !c.Changed() {
				continue
			}
			e := audit
			e.Action, e.TargetType, e.TargetID = "product.bulk_updated", "product", fmt.Sprint(c.ID)
			e.Before = map[string]any{"price_minor": c.PriceBefore, "sale_price_minor": c.SaleBefore, "state": c.StateBefore}
			e.After = map[string]any{"price_minor": c.PriceAfter, "sale_price_minor": c.SaleAfter, "state": c.StateAfter, "edit": b.Describe()}
			if err := staff.Audit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return plan, err
	}
	return plan, nil
}
