package marketplace

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/gtin"
	"github.com/storefleet/storefleet/internal/money"
)

// FieldErrors are the problems with several fields of a request, by field
// name, each a sentence for the vendor.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e[k]
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Page sizes of the staging list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
	MaxPage         = 10000
	// CountCap bounds the count of matches a staging list shows: counting
	// further would read the whole table for every page, and "more than
	// 100,000" says all the vendor needs.
	CountCap = 100_000
)

// Availabilities are the availability values a staged item can have, as
// the filter takes them ("" is any).
var Availabilities = []string{"in_stock", "out_of_stock", "preorder", "backorder"}

// StagedSorts are the orders of the staging list, by name; a leading "-"
// means the other way round.
var StagedSorts = map[string]string{
	"changed":  "m.changed_at DESC, m.id DESC",
	"-changed": "m.changed_at ASC, m.id ASC",
	"title":    "m.title ASC, m.id ASC",
	"-title":   "m.title DESC, m.id DESC",
	"id":       "m.external_id ASC",
	"-id":      "m.external_id DESC",
	"brand":    "lower(m.brand) ASC, m.id ASC",
	"-brand":   "lower(m.brand) DESC, m.id DESC",
	"price":    "m.price_minor ASC NULLS LAST, m.id ASC",
	"-price":   "m.price_minor DESC NULLS LAST, m.id DESC",
}

// StagedFilter selects and orders staged items. Field error keys: q,
// brand, gtin, availability, min_price, max_price, unpublished, sort, page.
type StagedFilter struct {
	Q            string `json:"q,omitempty"` // in title, id, brand or GTIN, any case
	Brand        string `json:"brand,omitempty"`
	GTIN         string `json:"gtin,omitempty"`
	Availability string `json:"availability,omitempty"` // one of Availabilities, "" for any
	MinPrice     *int64 `json:"min_price,omitempty"`    // minor units, inclusive
	MaxPrice     *int64 `json:"max_price,omitempty"`    // minor units, inclusive
	// Currency is what MinPrice and MaxPrice are counted in (the shop's
	// currency); it only changes how a publish describes the filter.
	Currency string `json:"currency,omitempty"`
	// Changed keeps published items whose staged content changed since
	// they were last published (a re-import brought something new).
	Changed bool `json:"changed,omitempty"`
	// Unpublished keeps items that are in no catalog product.
	Unpublished bool   `json:"unpublished,omitempty"`
	Sort        string `json:"sort,omitempty"` // a key of StagedSorts; "" is "changed"
	Page        int    `json:"-"`              // from 1
	PageSize    int    `json:"-"`              // 0 is DefaultPageSize
}

// Check normalises the filter, clamps the page and says what is wrong.
func (f *StagedFilter) Check() FieldErrors {
	errs := FieldErrors{}
	f.Q = strings.TrimSpace(f.Q)
	if utf8.RuneCountInString(f.Q) > 200 {
		errs["q"] = "Search for at most 200 characters."
	}
	f.Brand = strings.TrimSpace(f.Brand)
	if utf8.RuneCountInString(f.Brand) > 150 {
		errs["brand"] = "A brand has at most 150 characters."
	}
	// The database refuses text with a NUL or broken UTF-8 outright.
	for field, v := range map[string]string{"q": f.Q, "brand": f.Brand} {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			errs[field] = "Use plain text: this has characters that cannot be searched for."
		}
	}
	f.GTIN = gtin.Normalize(f.GTIN)
	if f.GTIN != "" && !gtinShape(f.GTIN) {
		errs["gtin"] = "A GTIN has 8, 12, 13 or 14 digits."
	}
	if f.Availability != "" && !validAvailability(f.Availability) {
		errs["availability"] = "Choose in stock, out of stock, preorder or backorder."
	}
	if f.MinPrice != nil && *f.MinPrice < 0 {
		errs["min_price"] = "A price is not below zero."
	}
	if f.MaxPrice != nil && *f.MaxPrice < 0 {
		errs["max_price"] = "A price is not below zero."
	}
	if f.MinPrice != nil && f.MaxPrice != nil && *f.MinPrice > *f.MaxPrice {
		errs["max_price"] = "The highest price is below the lowest."
	}
	if f.Changed && f.Unpublished {
		errs["unpublished"] = "An item that was never published cannot have changed since: choose one of the two."
	}
	if _, ok := StagedSorts[f.Sort]; !ok {
		if f.Sort != "" {
			errs["sort"] = "Sort by changed, title, id, brand or price (with - for the other way round)."
		}
		f.Sort = "changed"
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

func gtinShape(s string) bool {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validAvailability(s string) bool {
	for _, a := range Availabilities {
		if a == s {
			return true
		}
	}
	return false
}

// sqlArgs collects the arguments of a query as it is built and names
// their placeholders.
type sqlArgs []any

func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// where builds the filter's conditions on marketplace_products m, "" for
// none. "Published" means linked to a catalog product that still exists
// (deleting the product unlinks the item).
func (f *StagedFilter) where(a *sqlArgs) string {
	var conds []string
	if f.Q != "" {
		like := a.add("%" + escapeLike(f.Q) + "%")
		conds = append(conds, fmt.Sprintf("(m.title ILIKE %[1]s OR m.external_id ILIKE %[1]s OR m.brand ILIKE %[1]s OR m.gtin = %[2]s)",
			like, a.add(gtin.Normalize(f.Q))))
	}
	if f.Brand != "" {
		conds = append(conds, "lower(m.brand) = lower("+a.add(f.Brand)+")")
	}
	if f.GTIN != "" {
		conds = append(conds, "m.gtin = "+a.add(f.GTIN))
	}
	if f.Availability != "" {
		conds = append(conds, "m.availability = "+a.add(f.Availability))
	}
	if f.MinPrice != nil {
		conds = append(conds, "m.price_minor >= "+a.add(*f.MinPrice))
	}
	if f.MaxPrice != nil {
		conds = append(conds, "m.price_minor <= "+a.add(*f.MaxPrice))
	}
	if f.Changed {
		conds = append(conds, "m.product_id IS NOT NULL AND m.content_hash IS DISTINCT FROM m.published_hash")
	}
	if f.Unpublished {
		conds = append(conds, "m.product_id IS NULL")
	}
	return strings.Join(conds, " AND ")
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// describe says what the filter selects, for people ("brand Acme, in
// stock"); "" for no condition.
func (f *StagedFilter) describe() string {
	var parts []string
	if f.Q != "" {
		parts = append(parts, fmt.Sprintf("matching %q", f.Q))
	}
	if f.Brand != "" {
		parts = append(parts, "brand "+f.Brand)
	}
	if f.GTIN != "" {
		parts = append(parts, "GTIN "+f.GTIN)
	}
	if f.Availability != "" {
		parts = append(parts, strings.ReplaceAll(f.Availability, "_", " "))
	}
	digits, unit := 2, ""
	if d, ok := money.CurrencyDigits(f.Currency); ok {
		digits, unit = d, " "+f.Currency
	}
	amount := func(v int64) string { return money.FormatAmount(v, digits) + unit }
	switch {
	case f.MinPrice != nil && f.MaxPrice != nil:
		parts = append(parts, fmt.Sprintf("price %s to %s", amount(*f.MinPrice), amount(*f.MaxPrice)))
	case f.MinPrice != nil:
		parts = append(parts, "price from "+amount(*f.MinPrice))
	case f.MaxPrice != nil:
		parts = append(parts, "price up to "+amount(*f.MaxPrice))
	}
	if f.Changed {
		parts = append(parts, "changed since last published")
	}
	if f.Unpublished {
		parts = append(parts, "not published")
	}
	return strings.Join(parts, ", ")
}

// StagedRow is a staged item as the staging list shows it.
type StagedRow struct {
	ID             int64      `json:"id"`
	ExternalID     string     `json:"external_id"`
	Title          string     `json:"title"`
	Brand          string     `json:"brand,omitempty"`
	GTIN           string     `json:"gtin,omitempty"`
	Availability   string     `json:"availability,omitempty"`
	PriceMinor     *int64     `json:"price_minor"`
	SalePriceMinor *int64     `json:"sale_price_minor,omitempty"`
	Currency       string     `json:"currency,omitempty"`
	ImageLink      string     `json:"image_link,omitempty"`
	ChangedAt      time.Time  `json:"changed_at"`
	ProductID      *int64     `json:"product_id,omitempty"`
	ProductSKU     string     `json:"product_sku,omitempty"`
	PublishedAt    *time.Time `json:"published_at,omitempty"`
	// ChangedSincePublish: published, and a re-import changed the item
	// since; publishing it again would bring the change to the catalog.
	ChangedSincePublish bool `json:"changed_since_publish"`
}

const stagedRowColumns = `m.id, m.external_id, m.title, m.brand, coalesce(m.gtin, ''), m.availability, m.price_minor,
	m.sale_price_minor, coalesce(m.currency, ''), m.image_link, m.changed_at, m.product_id, coalesce(p.sku, ''), m.published_at,
	(m.product_id IS NOT NULL AND m.content_hash IS DISTINCT FROM m.published_hash)`

func scanStagedRow(row pgx.Row, r *StagedRow) error {
	return row.Scan(&r.ID, &r.ExternalID, &r.Title, &r.Brand, &r.GTIN, &r.Availability, &r.PriceMinor,
		&r.SalePriceMinor, &r.Currency, &r.ImageLink, &r.ChangedAt, &r.ProductID, &r.ProductSKU, &r.PublishedAt,
		&r.ChangedSincePublish)
}

// StagedPage is one page of the staging list, with how many items match
// in all (at most CountCap: TotalCapped says there are more).
type StagedPage struct {
	Rows        []StagedRow `json:"rows"`
	Page        int         `json:"page"`
	PageSize    int         `json:"page_size"`
	HasNext     bool        `json:"has_next"`
	Total       int         `json:"total"`
	TotalCapped bool        `json:"total_capped"`
}

// ListStaged returns a page of the staged items a filter selects and the
// number of matches, in one round trip. The page is read with one row
// more than it shows, to know whether there is a next one; the count stops
// at CountCap.
func ListStaged(ctx context.Context, db *pgxpool.Pool, f StagedFilter) (*StagedPage, error) {
	if errs := f.Check(); len(errs) > 0 {
		return nil, errs
	}
	var a sqlArgs
	where := f.where(&a)
	if where != "" {
		where = " WHERE " + where
	}
	var batch pgx.Batch
	countArgs := append(sqlArgs(nil), a...)
	batch.Queue(fmt.Sprintf(`SELECT count(*) FROM (SELECT FROM marketplace_products m%s LIMIT %s) s`,
		where, countArgs.add(CountCap+1)), countArgs...)
	listArgs := append(sqlArgs(nil), a...)
	batch.Queue(fmt.Sprintf(`SELECT %s FROM marketplace_products m LEFT JOIN products p ON p.id = m.product_id%s
		ORDER BY %s LIMIT %s OFFSET %s`, stagedRowColumns, where, StagedSorts[f.Sort],
		listArgs.add(f.PageSize+1), listArgs.add((f.Page-1)*f.PageSize)), listArgs...)
	br := db.SendBatch(ctx, &batch)
	defer br.Close()
	out := &StagedPage{Page: f.Page, PageSize: f.PageSize, Rows: make([]StagedRow, 0, f.PageSize+1)}
	if err := br.QueryRow().Scan(&out.Total); err != nil {
		return nil, fmt.Errorf("count staged items: %w", err)
	}
	if out.Total > CountCap {
		out.Total, out.TotalCapped = CountCap, true
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("list staged items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r StagedRow
		if err := scanStagedRow(rows, &r); err != nil {
			return nil, fmt.Errorf("list staged items: %w", err)
		}
		out.Rows = append(out.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list staged items: %w", err)
	}
	if len(out.Rows) > f.PageSize {
		out.Rows, out.HasNext = out.Rows[:f.PageSize], true
	}
	return out, nil
}

// StagedItem is one staged item in full.
type StagedItem struct {
	StagedRow
	Description           string                       `json:"description"`
	Link                  string                       `json:"link,omitempty"`
	AdditionalImageLinks  []string                     `json:"additional_image_links"`
	MPN                   string                       `json:"mpn,omitempty"`
	Condition             string                       `json:"condition,omitempty"`
	GoogleProductCategory string                       `json:"google_product_category,omitempty"`
	ProductType           string                       `json:"product_type,omitempty"`
	ItemGroupID           string                       `json:"item_group_id,omitempty"`
	Color                 string                       `json:"color,omitempty"`
	Size                  string                       `json:"size,omitempty"`
	Attributes            map[string]string            `json:"attributes"`
	Translations          map[string]map[string]string `json:"translations"`
	LastImportID          *int64                       `json:"last_import_id,omitempty"`
	FirstSeenAt           time.Time                    `json:"first_seen_at"`
}

// GetStaged returns one staged item.
func GetStaged(ctx context.Context, db *pgxpool.Pool, id int64) (*StagedItem, error) {
	var it StagedItem
	r := &it.StagedRow
	err := db.QueryRow(ctx, `SELECT `+stagedRowColumns+`, m.description, m.link, m.additional_image_links, m.mpn,
			m.condition, m.google_product_category, m.product_type, m.item_group_id, m.color, m.size, m.attributes,
			m.translations, m.last_import_id, m.first_seen_at
		FROM marketplace_products m LEFT JOIN products p ON p.id = m.product_id WHERE m.id = $1`, id).Scan(
		&r.ID, &r.ExternalID, &r.Title, &r.Brand, &r.GTIN, &r.Availability, &r.PriceMinor,
		&r.SalePriceMinor, &r.Currency, &r.ImageLink, &r.ChangedAt, &r.ProductID, &r.ProductSKU, &r.PublishedAt,
		&r.ChangedSincePublish, &it.Description, &it.Link, &it.AdditionalImageLinks, &it.MPN, &it.Condition,
		&it.GoogleProductCategory, &it.ProductType, &it.ItemGroupID, &it.Color, &it.Size, &it.Attributes,
		&it.Translations, &it.LastImportID, &it.FirstSeenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("staged item %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read staged item %d: %w", id, err)
	}
	return &it, nil
}

// MaxSelectedIDs bounds a selection of items by id; more is chosen as
// "all that match a filter".
const MaxSelectedIDs = 10000

// Selection is what the vendor chose to publish: items by id, or all the
// items a filter matches (then the filter is kept, and what it matches is
// read when the publish is made).
type Selection struct {
	IDs    []int64       `json:"ids,omitempty"`
	Filter *StagedFilter `json:"filter,omitempty"`
}

// SelectIDs selects items by id.
func SelectIDs(ids ...int64) Selection { return Selection{IDs: ids} }

// SelectMatching selects every item the filter matches (its sort and
// page do not matter).
func SelectMatching(f StagedFilter) Selection { return Selection{Filter: &f} }

// Check says what is wrong with the selection (field key "selection", or
// the filter's keys).
func (s *Selection) Check() FieldErrors {
	switch {
	case s.Filter != nil && len(s.IDs) > 0:
		return FieldErrors{"selection": "Choose items, or all that match the search, not both."}
	case s.Filter != nil:
		return s.Filter.Check()
	case len(s.IDs) == 0:
		return FieldErrors{"selection": "Choose the items to publish."}
	case len(s.IDs) > MaxSelectedIDs:
		return FieldErrors{"selection": fmt.Sprintf("Choose at most %d items one by one; to publish more, choose all that match a search.", MaxSelectedIDs)}
	}
	return nil
}

// source returns a query for the ids of the selected items.
func (s *Selection) source(a *sqlArgs) string {
	if s.Filter == nil {
		return "SELECT unnest(" + a.add(s.IDs) + "::bigint[])"
	}
	q := "SELECT m.id FROM marketplace_products m"
	if w := s.Filter.where(a); w != "" {
		q += " WHERE " + w
	}
	return q
}

// describe says what was selected, for people; n is how many items.
func (s *Selection) describe(n int) string {
	items := fmt.Sprintf("%d items", n)
	if n == 1 {
		items = "1 item"
	}
	if s.Filter == nil {
		return items + " chosen one by one"
	}
	if d := s.Filter.describe(); d != "" {
		return trim(items+": all "+d, 1000)
	}
	return items + ": all staged items"
}

// ProductValues are the values of a catalog product that a publish
// writes, as they were before it (kept in publish_items.product_before,
// under these names) or as they would be after.
type ProductValues struct {
	Title          string    `json:"title"`
	Description    string    `json:"description"`
	PriceMinor     int64     `json:"price_minor"`
	SalePriceMinor *int64    `json:"sale_price_minor"`
	Currency       string    `json:"currency"`
	GTIN           string    `json:"gtin"`
	Brand          string    `json:"brand"`
	State          string    `json:"state"`
	StockOnHand    int64     `json:"stock_on_hand"`
	UpdatedAt      time.Time `json:"updated_at"`
	UpdatedBy      *int64    `json:"updated_by"`
}

// Fields a publish may change, as ItemChange.Fields names them.
const (
	FieldTitle       = "title"
	FieldDescription = "description"
	FieldPrice       = "price"
	FieldSalePrice   = "sale_price"
	FieldCurrency    = "currency"
	FieldGTIN        = "gtin"
	FieldBrand       = "brand"
	FieldStock       = "stock"
)

// ItemChange is what publishing would do to one item's product.
type ItemChange struct {
	StagedID   int64  `json:"staged_id"`
	ExternalID string `json:"external_id"`
	ProductID  int64  `json:"product_id"`
	SKU        string `json:"sku"`
	// MatchedBy says how the product was found: "published" (the item was
	// published as it before), "sku" or "gtin".
	MatchedBy string        `json:"matched_by"`
	Note      string        `json:"note,omitempty"`
	Before    ProductValues `json:"before"`
	After     ProductValues `json:"after"`
	Fields    []string      `json:"fields"` // what differs, in the order of the Field constants
}

// ReasonCount is how many items would be skipped for one reason.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Preview is what publishing a selection would do.
type Preview struct {
	Selected    int           `json:"selected"`
	Create      int           `json:"create"`
	Update      int           `json:"update"`
	Unchanged   int           `json:"unchanged"`
	Skip        int           `json:"skip"`
	SkipReasons []ReasonCount `json:"skip_reasons"` // most frequent first
	// Changes are the items whose product would be updated, in id order,
	// at most the limit asked for.
	Changes []ItemChange `json:"changes"`
}

// skipReasons name the kinds of reasons the plan gives for skipping an
// item (its reason column), for the preview's counts.
var skipReasons = map[string]string{
	"no_title":       "No title",
	"no_price":       "No price",
	"bad_sku":        "The id cannot be a SKU",
	"sku_taken":      "The SKU belongs to a product published from another item",
	"gtin_taken":     "The GTIN belongs to a product published from another item",
	"gtin_ambiguous": "The GTIN is used by several products",
	"gtin_used":      "The GTIN is already used by another product",
	"same_product":   "Another selected item is the same product",
	"same_gtin":      "Another selected item has the same GTIN",
}

// PreviewPublish works out what publishing the selection with opts would
// do, without writing anything: the same plan the publish makes for each
// chunk, made for the whole selection at once. Items already in the
// catalog show their fields before and after; stock is compared only when
// opts ask for stock from availability.
func PreviewPublish(ctx context.Context, db *pgxpool.Pool, sel Selection, opts PublishOptions, limit int) (*Preview, error) {
	errs := sel.Check()
	for k, v := range opts.Check() {
		if errs == nil {
			errs = FieldErrors{}
		}
		errs[k] = v
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	conn, err := db.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("preview the publish: %w", err)
	}
	defer conn.Release()
	if err := ensurePlanTable(ctx, conn.Conn()); err != nil {
		return nil, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("preview the publish: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // nothing is kept
	if err := planSettings(ctx, tx); err != nil {
		return nil, err
	}
	a := planArgs(opts)
	if _, err := tx.Exec(ctx, `INSERT INTO publish_plan `+planSQL(sel.source(&a)), a...); err != nil {
		return nil, fmt.Errorf("plan the publish: %w", err)
	}
	pv := &Preview{SkipReasons: []ReasonCount{}, Changes: []ItemChange{}}
	rows, err := tx.Query(ctx, `SELECT outcome, coalesce(reason, ''), count(*) FROM publish_plan GROUP BY 1, 2 ORDER BY 3 DESC, 2`)
	if err != nil {
		return nil, fmt.Errorf("count the plan: %w", err)
	}
	for rows.Next() {
		var outcome, reason string
		var n int
		if err := rows.Scan(&outcome, &reason, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count the plan: %w", err)
		}
		pv.Selected += n
		switch outcome {
		case OutcomeCreated:
			pv.Create += n
		case OutcomeUpdated:
			pv.Update += n
		case OutcomeUnchanged:
			pv.Unchanged += n
		case OutcomeSkipped:
			pv.Skip += n
			pv.SkipReasons = append(pv.SkipReasons, ReasonCount{Reason: skipReasons[reason], Count: n})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count the plan: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT staged_id, external_id, pid, b_sku, matched_by, note,
			b_title, b_description, b_price, b_sale, b_currency, coalesce(b_gtin, ''), b_brand, b_state, stock_before, b_updated_at,
			title, description, price_minor, sale_price_minor, currency, coalesce(gtin, ''), brand, stock_target
		FROM publish_plan WHERE outcome = 'updated' ORDER BY staged_id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read the plan: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c ItemChange
		b, n := &c.Before, &c.After
		if err := rows.Scan(&c.StagedID, &c.ExternalID, &c.ProductID, &c.SKU, &c.MatchedBy, &c.Note,
			&b.Title, &b.Description, &b.PriceMinor, &b.SalePriceMinor, &b.Currency, &b.GTIN, &b.Brand, &b.State, &b.StockOnHand, &b.UpdatedAt,
			&n.Title, &n.Description, &n.PriceMinor, &n.SalePriceMinor, &n.Currency, &n.GTIN, &n.Brand, &n.StockOnHand); err != nil {
			return nil, fmt.Errorf("read the plan: %w", err)
		}
		n.State = b.State
		if !opts.StockFromAvailability {
			n.StockOnHand = b.StockOnHand
		}
		c.Fields = changedFields(b, n)
		pv.Changes = append(pv.Changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the plan: %w", err)
	}
	return pv, nil
}

// changedFields names the fields that differ between before and after.
func changedFields(b, a *ProductValues) []string {
	var out []string
	add := func(name string, differ bool) {
		if differ {
			out = append(out, name)
		}
	}
	add(FieldTitle, b.Title != a.Title)
	add(FieldDescription, b.Description != a.Description)
	add(FieldPrice, b.PriceMinor != a.PriceMinor)
	add(FieldSalePrice, (b.SalePriceMinor == nil) != (a.SalePriceMinor == nil) ||
		b.SalePriceMinor != nil && *b.SalePriceMinor != *a.SalePriceMinor)
	add(FieldCurrency, b.Currency != a.Currency)
	add(FieldGTIN, b.GTIN != a.GTIN)
	add(FieldBrand, b.Brand != a.Brand)
	add(FieldStock, b.StockOnHand != a.StockOnHand)
	return out
}
