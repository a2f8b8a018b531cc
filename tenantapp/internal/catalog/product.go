package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/sku"
	"github.com/storefleet/storefleet/internal/staff"
)

// Product is a catalog product with its stock.
type Product struct {
	ID          int64
	SKU         string
	Title       string
	Description string
	Handle      string
	GTIN        string
	PriceMinor  int64
	SalePrice   *int64
	Currency    string
	State       string
	CategoryIDs []int64
	Stock       Stock
	CreatedAt   time.Time
	UpdatedAt   time.Time
	UpdatedBy   *int64
}

// Stock is a product's stock: on hand, reserved for checkouts, and what
// can be sold (on hand minus reserved), with its low-stock threshold.
type Stock struct {
	OnHand    int64
	Reserved  int64
	Available int64
	Threshold *int64 // nil: no low-stock notice
}

// Low reports whether the available stock is at or below the threshold.
func (s Stock) Low() bool { return s.Threshold != nil && s.Available <= *s.Threshold }

// Fields returns a product's editable values.
func (p *Product) Fields() Fields {
	return Fields{SKU: p.SKU, Title: p.Title, Description: p.Description, GTIN: p.GTIN, PriceMinor: p.PriceMinor,
		SalePrice: p.SalePrice, Currency: p.Currency, State: p.State, CategoryIDs: append([]int64(nil), p.CategoryIDs...)}
}

// snapshot is what the audit log keeps of a product.
type snapshot struct {
	SKU         string  `json:"sku"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	GTIN        string  `json:"gtin,omitempty"`
	PriceMinor  int64   `json:"price_minor"`
	SalePrice   *int64  `json:"sale_price_minor,omitempty"`
	Currency    string  `json:"currency"`
	State       string  `json:"state"`
	CategoryIDs []int64 `json:"category_ids"`
}

func (p *Product) snapshot() snapshot {
	return snapshot{SKU: p.SKU, Title: p.Title, Description: p.Description, GTIN: p.GTIN, PriceMinor: p.PriceMinor,
		SalePrice: p.SalePrice, Currency: p.Currency, State: p.State, CategoryIDs: p.CategoryIDs}
}

const productColumns = `p.id, p.sku, p.title, p.description, coalesce(p.handle, ''), coalesce(p.gtin, ''), p.price_minor,
	p.sale_price_minor, p.currency, p.state, p.stock_on_hand, p.stock_reserved, p.low_stock_threshold,
	p.created_at, p.updated_at, p.updated_by,
	coalesce((SELECT array_agg(pc.category_id ORDER BY pc.category_id) FROM product_categories pc WHERE pc.product_id = p.id), '{}')`

func scanProduct(row pgx.Row) (*Product, error) {
	var p Product
	err := row.Scan(&p.ID, &p.SKU, &p.Title, &p.Description, &p.Handle, &p.GTIN, &p.PriceMinor, &p.SalePrice, &p.Currency,
		&p.State, &p.Stock.OnHand, &p.Stock.Reserved, &p.Stock.Threshold, &p.CreatedAt, &p.UpdatedAt, &p.UpdatedBy, &p.CategoryIDs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	p.Currency = strings.TrimSpace(p.Currency)
	p.Stock.Available = p.Stock.OnHand - p.Stock.Reserved
	return &p, nil
}

// Get returns a product.
func Get(ctx context.Context, db Querier, id int64) (*Product, error) {
	p, err := scanProduct(db.QueryRow(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get product %d: %w", id, err)
	}
	return p, nil
}

func getForUpdate(ctx context.Context, tx pgx.Tx, id int64) (*Product, error) {
	p, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products p WHERE p.id = $1 FOR UPDATE`, id))
	if err != nil {
		return nil, fmt.Errorf("lock product %d: %w", id, err)
	}
	return p, nil
}

// Create adds a product. A SKU another product has is a field error, also
// when two people save the same SKU at the same moment (the unique index
// decides). audit names who does it.
func Create(ctx context.Context, db *pgxpool.Pool, f Fields, audit staff.Entry) (*Product, error) {
	f.Normalize()
	if errs := f.Validate(); len(errs) > 0 {
		return nil, errs
	}
	var p *Product
	var err error
	// A handle taken by a product saved at the same moment: pick again.
	for range 5 {
		err = database.Transact(ctx, db, func(tx pgx.Tx) error {
			handle, err := sku.FreeHandle(ctx, tx, f.SKU)
			if err != nil {
				return err
			}
			var id int64
			err = tx.QueryRow(ctx, `INSERT INTO products (sku, title, description, handle, gtin, price_minor, sale_price_minor,
				currency, state, updated_by) VALUES ($1, $2, $3, $4, nullif($5, ''), $6, $7, $8, $9, $10) RETURNING id`,
				f.SKU, f.Title, f.Description, handle, f.GTIN, f.PriceMinor, f.SalePrice, f.Currency, f.State, staffID(audit)).Scan(&id)
			if err != nil {
				return writeError(err, f)
			}
			if err := setCategories(ctx, tx, id, f.CategoryIDs); err != nil {
				return err
			}
			if p, err = getForUpdate(ctx, tx, id); err != nil {
				return err
			}
			audit.Action, audit.TargetType, audit.TargetID, audit.After = "product.created", "product", fmt.Sprint(id), p.snapshot()
			return staff.Audit(ctx, tx, audit)
		})
		if database.ConstraintName(err) != "products_handle_key" {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Update saves a product's fields. If version is not zero it must be the
// product's UpdatedAt as the editor saw it, else ErrChanged.
func Update(ctx context.Context, db *pgxpool.Pool, id int64, version time.Time, f Fields, audit staff.Entry) (*Product, error) {
	f.Normalize()
	if errs := f.Validate(); len(errs) > 0 {
		return nil, errs
	}
	var after *Product
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		before, err := getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if !version.IsZero() && !before.UpdatedAt.Equal(version) {
			return ErrChanged
		}
		_, err = tx.Exec(ctx, `UPDATE products SET sku = $2, title = $3, description = $4, gtin = nullif($5, ''), price_minor = $6,
			sale_price_minor = $7, currency = $8, state = $9, updated_by = $10, updated_at = now() WHERE id = $1`,
			id, f.SKU, f.Title, f.Description, f.GTIN, f.PriceMinor, f.SalePrice, f.Currency, f.State, staffID(audit))
		if err != nil {
			return writeError(err, f)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM product_categories WHERE product_id = $1`, id); err != nil {
			return fmt.Errorf("clear categories: %w", err)
		}
		if err := setCategories(ctx, tx, id, f.CategoryIDs); err != nil {
			return err
		}
		if after, err = getForUpdate(ctx, tx, id); err != nil {
			return err
		}
		audit.Action, audit.TargetType, audit.TargetID = "product.updated", "product", fmt.Sprint(id)
		audit.Before, audit.After = before.snapshot(), after.snapshot()
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

// Archive takes a product off sale, keeping it and its history.
func Archive(ctx context.Context, db *pgxpool.Pool, id int64, audit staff.Entry) (*Product, error) {
	var after *Product
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		before, err := getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET state = 'archived', updated_by = $2, updated_at = now() WHERE id = $1`, id, staffID(audit)); err != nil {
			return fmt.Errorf("archive product %d: %w", id, err)
		}
		if after, err = getForUpdate(ctx, tx, id); err != nil {
			return err
		}
		audit.Action, audit.TargetType, audit.TargetID = "product.archived", "product", fmt.Sprint(id)
		audit.Before, audit.After = map[string]string{"state": before.State}, map[string]string{"state": after.State}
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

// Delete removes a product that has no stock history; one that has is an
// *InUseError (archive it instead).
func Delete(ctx context.Context, db *pgxpool.Pool, id int64, audit staff.Entry) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		before, err := getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM products WHERE id = $1`, id); err != nil {
			if database.Code(err) == "23503" {
				return &InUseError{Message: fmt.Sprintf("%s has stock movements (or orders) that must be kept. Archive it instead: it leaves the shop and stays in your records.", before.Title)}
			}
			return fmt.Errorf("delete product %d: %w", id, err)
		}
		audit.Action, audit.TargetType, audit.TargetID, audit.Before = "product.deleted", "product", fmt.Sprint(id), before.snapshot()
		return staff.Audit(ctx, tx, audit)
	})
}

// writeError maps a failed product write to field errors where it is the
// input's fault.
func writeError(err error, f Fields) error {
	if database.IsUniqueViolation(err) && database.ConstraintName(err) == "products_sku_key" {
		return FieldErrors{"sku": fmt.Sprintf("Another product already has the SKU %s. Each product needs its own.", f.SKU)}
	}
	if database.IsUniqueViolation(err) && database.ConstraintName(err) == "products_handle_key" {
		return err // the caller picks another handle
	}
	return fmt.Errorf("save product %s: %w", f.SKU, err)
}

func setCategories(ctx context.Context, tx pgx.Tx, id int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	tag, err := tx.Exec(ctx, `INSERT INTO product_categories (product_id, category_id)
		SELECT $1, c.id FROM categories c WHERE c.id = ANY($2)`, id, ids)
	if err != nil {
		return fmt.Errorf("set categories of product %d: %w", id, err)
	}
	if int(tag.RowsAffected()) != len(ids) {
		return FieldErrors{"categories": "One of the chosen categories no longer exists. Reload the page and choose again."}
	}
	return nil
}

func staffID(e staff.Entry) *int64 {
	if e.StaffID == 0 {
		return nil
	}
	return &e.StaffID
}
