package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Page sizes of product lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
	MaxPage         = 10000
)

// Sorts are the orders a product list can have, by name; a leading "-"
// means descending.
var Sorts = map[string]string{
	"updated":  "p.updated_at DESC, p.id DESC",
	"-updated": "p.updated_at ASC, p.id ASC",
	"title":    "p.title ASC, p.id ASC",
	"-title":   "p.title DESC, p.id DESC",
	"sku":      "p.sku ASC, p.id ASC",
	"-sku":     "p.sku DESC, p.id DESC",
	"price":    "p.price_minor ASC, p.id ASC",
	"-price":   "p.price_minor DESC, p.id DESC",
	"stock":    "(p.stock_on_hand - p.stock_reserved) ASC, p.id ASC",
	"-stock":   "(p.stock_on_hand - p.stock_reserved) DESC, p.id DESC",
}

// Filter selects and orders products.
type Filter struct {
	Query      string // in title, SKU or GTIN
	State      string // "" for every state
	CategoryID int64  // 0 for any
	MinPrice   *int64 // minor units, inclusive
	MaxPrice   *int64 // minor units, inclusive
	Currency   string // "" for any
	LowStock   bool   // only products at or below their threshold
	Sort       string // a key of Sorts; "" is "updated"
	Page       int    // from 1
	PageSize   int    // 0 is DefaultPageSize
}

// Check clamps the page and says what is wrong with the filter.
func (f *Filter) Check() FieldErrors {
	errs := FieldErrors{}
	f.Query = strings.TrimSpace(f.Query)
	if len(f.Query) > 200 {
		errs["q"] = "Search for at most 200 characters."
	}
	if f.State != "" && !validState(f.State) {
		errs["state"] = "Choose draft, active or archived."
	}
	if f.Currency != "" {
		if err := ValidCurrency(f.Currency); err != nil {
			errs["currency"] = err.Error()
		}
	}
	if f.MinPrice != nil && f.MaxPrice != nil && *f.MinPrice > *f.MaxPrice {
		errs["max_price"] = "The highest price is below the lowest."
	}
	if _, ok := Sorts[f.Sort]; !ok {
		if f.Sort != "" {
			errs["sort"] = "Sort by updated, title, sku, price or stock (with - for descending)."
		}
		f.Sort = "updated"
	}
	if f.PageSize <= 0 {
		f.PageSize = DefaultPageSize
	}
	if f.PageSize > MaxPageSize {
		f.PageSize = MaxPageSize
	}
	if f.Page < 1 {
		f.Page = 1
	}
	if f.Page > MaxPage {
		errs["page"] = fmt.Sprintf("Pages go up to %d; narrow the search instead.", MaxPage)
		f.Page = MaxPage
	}
	return errs
}

// where builds the filter's WHERE clause and arguments.
func (f *Filter) where() (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.State != "" {
		conds = append(conds, "p.state = "+arg(f.State))
	}
	if f.MinPrice != nil {
		conds = append(conds, "p.price_minor >= "+arg(*f.MinPrice))
	}
	if f.MaxPrice != nil {
		conds = append(conds, "p.price_minor <= "+arg(*f.MaxPrice))
	}
	if f.Currency != "" {
		conds = append(conds, "p.currency = "+arg(f.Currency))
	}
	if f.Query != "" {
		like := arg("%" + escapeLike(f.Query) + "%")
		conds = append(conds, fmt.Sprintf("(p.title ILIKE %s OR p.sku ILIKE %s OR p.gtin = %s)", like, like, arg(NormalizeGTIN(f.Query))))
	}
	if f.CategoryID != 0 {
		conds = append(conds, "EXISTS (SELECT FROM product_categories pc WHERE pc.product_id = p.id AND pc.category_id = "+arg(f.CategoryID)+")")
	}
	if f.LowStock {
		conds = append(conds, "p.low_stock_threshold IS NOT NULL AND p.stock_on_hand - p.stock_reserved <= p.low_stock_threshold")
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Row is a product as lists show it.
type Row struct {
	ID         int64
	SKU        string
	Title      string
	State      string
	GTIN       string
	PriceMinor int64
	SalePrice  *int64
	Currency   string
	Stock      Stock
	UpdatedAt  time.Time
}

const rowColumns = `p.id, p.sku, p.title, p.state, coalesce(p.gtin, ''), p.price_minor, p.sale_price_minor, p.currency,
	p.stock_on_hand, p.stock_reserved, p.low_stock_threshold, p.updated_at`

func scanRow(rows pgx.Rows, r *Row) error {
	if err := rows.Scan(&r.ID, &r.SKU, &r.Title, &r.State, &r.GTIN, &r.PriceMinor, &r.SalePrice, &r.Currency,
		&r.Stock.OnHand, &r.Stock.Reserved, &r.Stock.Threshold, &r.UpdatedAt); err != nil {
		return err
	}
	r.Currency = strings.TrimSpace(r.Currency)
	r.Stock.Available = r.Stock.OnHand - r.Stock.Reserved
	return nil
}

// ListPage is one page of a product list.
type ListPage struct {
	Rows     []Row
	Page     int
	PageSize int
	HasNext  bool
}

// ListSQL returns the query List runs for a checked filter, and its
// arguments (benchmarks compare it with the handler that serves it).
func ListSQL(f Filter) (string, []any) {
	where, args := f.where()
	args = append(args, f.PageSize+1, (f.Page-1)*f.PageSize)
	return fmt.Sprintf(`SELECT %s FROM products p%s ORDER BY %s LIMIT $%d OFFSET $%d`,
		rowColumns, where, Sorts[f.Sort], len(args)-1, len(args)), args
}

// List returns one page of the products a filter selects. It fetches one
// row more than the page to know whether there is a next page, instead of
// counting every match.
func List(ctx context.Context, db Querier, f Filter) (*ListPage, error) {
	if errs := f.Check(); len(errs) > 0 {
		return nil, errs
	}
	q, args := ListSQL(f)
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return collectPage(rows, f)
}

// Batcher sends several queries in one round trip: a pool or a
// transaction.
type Batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// ListWithCategories is List and Categories in one round trip to the
// database: what a product list page shows.
func ListWithCategories(ctx context.Context, db Batcher, f Filter) (*ListPage, []Category, error) {
	if errs := f.Check(); len(errs) > 0 {
		return nil, nil, errs
	}
	q, args := ListSQL(f)
	var batch pgx.Batch
	batch.Queue(categoriesSQL)
	batch.Queue(q, args...)
	br := db.SendBatch(ctx, &batch)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("list categories: %w", err)
	}
	cats, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Category])
	if err != nil {
		return nil, nil, fmt.Errorf("list categories: %w", err)
	}
	if rows, err = br.Query(); err != nil {
		return nil, nil, fmt.Errorf("list products: %w", err)
	}
	page, err := collectPage(rows, f)
	if err != nil {
		return nil, nil, err
	}
	return page, cats, br.Close()
}

func collectPage(rows pgx.Rows, f Filter) (*ListPage, error) {
	defer rows.Close()
	out := &ListPage{Page: f.Page, PageSize: f.PageSize, Rows: make([]Row, 0, f.PageSize+1)}
	for rows.Next() {
		var r Row
		if err := scanRow(rows, &r); err != nil {
			return nil, fmt.Errorf("list products: %w", err)
		}
		out.Rows = append(out.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	if len(out.Rows) > f.PageSize {
		out.Rows, out.HasNext = out.Rows[:f.PageSize], true
	}
	return out, nil
}

// ExportRow is a product as the CSV export writes it.
type ExportRow struct {
	Row
	Description string
	Handle      string
	Categories  []string
}

// Export calls fn for every product the filter selects, in its order,
// without paging, streaming from the database.
func Export(ctx context.Context, db Querier, f Filter, fn func(*ExportRow) error) error {
	if errs := f.Check(); len(errs) > 0 {
		return errs
	}
	where, args := f.where()
	rows, err := db.Query(ctx, fmt.Sprintf(`SELECT %s, p.description, coalesce(p.handle, ''),
		coalesce((SELECT array_agg(c.name ORDER BY lower(c.name)) FROM product_categories pc JOIN categories c ON c.id = pc.category_id
			WHERE pc.product_id = p.id), '{}')
		FROM products p%s ORDER BY %s`, rowColumns, where, Sorts[f.Sort]), args...)
	if err != nil {
		return fmt.Errorf("export products: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r ExportRow
		if err := rows.Scan(&r.ID, &r.SKU, &r.Title, &r.State, &r.GTIN, &r.PriceMinor, &r.SalePrice, &r.Currency,
			&r.Stock.OnHand, &r.Stock.Reserved, &r.Stock.Threshold, &r.UpdatedAt, &r.Description, &r.Handle, &r.Categories); err != nil {
			return fmt.Errorf("export products: %w", err)
		}
		r.Currency = strings.TrimSpace(r.Currency)
		r.Stock.Available = r.Stock.OnHand - r.Stock.Reserved
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export products: %w", err)
	}
	return nil
}

// CSVCell makes a cell safe to open in a spreadsheet: text that starts
// with = + - @, a tab or a carriage return would be read as a formula, so
// it gets a leading apostrophe.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
