package marketplace

import (
	"context"
	"encoding/json"
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

// StateUndone is the state of a publish that was undone.
const StateUndone = "undone"

// What a publish did with an item.
const (
	OutcomeCreated   = "created"
	OutcomeUpdated   = "updated"
	OutcomeUnchanged = "unchanged"
	OutcomeSkipped   = "skipped"
)

// Publish settings.
const (
	// DefaultPublishChunk is how many items a publish writes per
	// transaction; progress is recorded with each chunk, and a publish
	// taken up again after its worker died goes on from the first item
	// without an outcome.
	DefaultPublishChunk = 1000
	// maxPublishAttempts is how often a publish interrupted by a dying
	// worker is taken up again before it is marked failed.
	maxPublishAttempts = 5
	// maxStockQuantity is the most stock a publish puts on an item in
	// stock (the largest single stock movement the back office allows).
	maxStockQuantity = 1_000_000
)

// publishLock is the transaction-level advisory lock that every publish
// chunk and every undo holds: within one vendor's database they run one at
// a time, so an undo never sees half a chunk and a chunk never matches
// products an undo is removing.
const publishLock = 0x6d6b7470 // "mktp"

// PublishOptions are the vendor's choices for a publish. Field error
// keys: stock_quantity, new_state.
type PublishOptions struct {
	// StockFromAvailability sets stock on hand from each item's
	// availability: in stock → StockQuantity (never below what is
	// reserved), out of stock → what is reserved (none left to sell);
	// preorder, backorder and no availability leave stock alone.
	StockFromAvailability bool   `json:"stock_from_availability"`
	StockQuantity         int    `json:"stock_quantity"`
	NewState              string `json:"new_state"` // of created products: "draft" (default) or "active"
}

// Check normalises the options and says what is wrong with them.
func (o *PublishOptions) Check() FieldErrors {
	errs := FieldErrors{}
	if o.NewState == "" {
		o.NewState = "draft"
	}
	if o.NewState != "draft" && o.NewState != "active" {
		errs["new_state"] = "New products are either drafts or active."
	}
	if !o.StockFromAvailability {
		o.StockQuantity = 0
	} else if o.StockQuantity < 0 || o.StockQuantity > maxStockQuantity {
		errs["stock_quantity"] = fmt.Sprintf("Enter a quantity from 0 to %d.", maxStockQuantity)
	}
	return errs
}

// Publish is one publish of staged items into the catalog.
type Publish struct {
	ID                    int64      `json:"id"`
	State                 string     `json:"state"`
	Description           string     `json:"description"`
	StockFromAvailability bool       `json:"stock_from_availability"`
	StockQuantity         int        `json:"stock_quantity"`
	NewState              string     `json:"new_state"`
	ItemsTotal            int        `json:"items_total"`
	ItemsDone             int        `json:"items_done"`
	Created               int        `json:"created"`
	Updated               int        `json:"updated"`
	Unchanged             int        `json:"unchanged"`
	Skipped               int        `json:"skipped"`
	Error                 string     `json:"error,omitempty"`
	Attempts              int        `json:"attempts"`
	CreatedBy             *int64     `json:"created_by,omitempty"`
	CreatedByEmail        string     `json:"created_by_email,omitempty"`
	CreatedAt             time.Time  `json:"created_at"`
	FinishedAt            *time.Time `json:"finished_at,omitempty"`
	UndoneBy              *int64     `json:"undone_by,omitempty"`
	UndoneByEmail         string     `json:"undone_by_email,omitempty"`
	UndoneAt              *time.Time `json:"undone_at,omitempty"`
	LockedUntil           *time.Time `json:"-"`
}

// Open reports whether the publish has not ended.
func (p *Publish) Open() bool { return p.State == StateQueued || p.State == StateRunning }

// Undoable reports whether the publish has ended with changes that can be
// undone (a failed publish keeps the chunks it wrote, and their snapshot).
func (p *Publish) Undoable() bool { return p.State == StateFinished || p.State == StateFailed }

// Stalled reports whether an open publish has no live worker (see
// Import.Stalled).
func (p *Publish) Stalled(now time.Time) bool {
	switch p.State {
	case StateQueued:
		return now.Sub(p.CreatedAt) > time.Minute
	case StateRunning:
		return p.LockedUntil == nil || now.After(*p.LockedUntil)
	}
	return false
}

const publishColumns = `p.id, p.state, p.description, p.stock_from_availability, p.stock_quantity, p.new_state,
	p.items_total, p.items_done, p.created_count, p.updated_count, p.unchanged_count, p.skipped_count, p.error, p.attempts,
	p.created_by, coalesce(c.email, ''), p.created_at, p.finished_at, p.undone_by, coalesce(u.email, ''), p.undone_at, p.locked_until`

const publishFrom = ` FROM publishes p LEFT JOIN staff c ON c.id = p.created_by LEFT JOIN staff u ON u.id = p.undone_by`

func scanPublish(row pgx.Row) (*Publish, error) {
	var p Publish
	err := row.Scan(&p.ID, &p.State, &p.Description, &p.StockFromAvailability, &p.StockQuantity, &p.NewState,
		&p.ItemsTotal, &p.ItemsDone, &p.Created, &p.Updated, &p.Unchanged, &p.Skipped, &p.Error, &p.Attempts,
		&p.CreatedBy, &p.CreatedByEmail, &p.CreatedAt, &p.FinishedAt, &p.UndoneBy, &p.UndoneByEmail, &p.UndoneAt, &p.LockedUntil)
	return &p, err
}

// GetPublish returns one publish.
func GetPublish(ctx context.Context, db *pgxpool.Pool, id int64) (*Publish, error) {
	p, err := scanPublish(db.QueryRow(ctx, `SELECT `+publishColumns+publishFrom+` WHERE p.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("publish %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read publish %d: %w", id, err)
	}
	return p, nil
}

// ListPublishes returns the newest publishes, at most limit, before the
// id before (0: from the newest): the history page.
func ListPublishes(ctx context.Context, db *pgxpool.Pool, before int64, limit int) ([]*Publish, error) {
	rows, err := db.Query(ctx, `SELECT `+publishColumns+publishFrom+`
		WHERE $1 = 0 OR p.id < $1 ORDER BY p.id DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list publishes: %w", err)
	}
	defer rows.Close()
	var out []*Publish
	for rows.Next() {
		p, err := scanPublish(rows)
		if err != nil {
			return nil, fmt.Errorf("list publishes: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CreatePublish freezes the selection into a queued publish: the ids of
// the items it selects now are written as its items by one INSERT ...
// SELECT (so a later import or a changed filter does not change what is
// published), with a description of the selection for people and an
// audit entry. The caller then asks the job system to run it.
func CreatePublish(ctx context.Context, db *pgxpool.Pool, sel Selection, opts PublishOptions, audit staff.Entry) (*Publish, error) {
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
	var pub *Publish
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO publishes (stock_from_availability, stock_quantity, new_state, created_by)
			VALUES ($1, $2, $3, NULLIF($4, 0)) RETURNING id`,
			opts.StockFromAvailability, opts.StockQuantity, opts.NewState, audit.StaffID).Scan(&id)
		if err != nil {
			return fmt.Errorf("record the publish: %w", err)
		}
		a := sqlArgs{id}
		tag, err := tx.Exec(ctx, `INSERT INTO publish_items (publish_id, staged_id)
			SELECT $1, s.id FROM marketplace_products s WHERE s.id IN (`+sel.source(&a)+`)`, a...)
		if err != nil {
			return fmt.Errorf("record the items of the publish: %w", err)
		}
		n := int(tag.RowsAffected())
		if n == 0 {
			return FieldErrors{"selection": "None of the chosen items is in the staging area any more."}
		}
		desc := sel.describe(n)
		if _, err := tx.Exec(ctx, `UPDATE publishes SET items_total = $2, description = $3 WHERE id = $1`, id, n, desc); err != nil {
			return fmt.Errorf("record the publish: %w", err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "publish.create", "publish", fmt.Sprint(id)
		audit.After = map[string]any{"description": desc, "items": n, "stock_from_availability": opts.StockFromAvailability,
			"stock_quantity": opts.StockQuantity, "new_state": opts.NewState}
		if err := staff.Audit(ctx, tx, audit); err != nil {
			return err
		}
		pub, err = scanPublish(tx.QueryRow(ctx, `SELECT `+publishColumns+publishFrom+` WHERE p.id = $1`, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return pub, nil
}

// PublishItem is one item of a publish and what became of it.
type PublishItem struct {
	StagedID   int64  `json:"staged_id"`
	ExternalID string `json:"external_id"`
	Title      string `json:"title"` // the staged item's title now
	Outcome    string `json:"outcome,omitempty"`
	Note       string `json:"note,omitempty"`
	ProductID  *int64 `json:"product_id,omitempty"`
	ProductSKU string `json:"product_sku,omitempty"` // "" if the product is gone
	// Before is the product as it was before the publish updated it.
	Before *ProductValues `json:"before,omitempty"`
}

// PublishItemsPageSize is the page size of PublishItems.
const PublishItemsPageSize = 100

// PublishItemPage is one page of a publish's items.
type PublishItemPage struct {
	Items    []PublishItem `json:"items"`
	Page     int           `json:"page"`
	PageSize int           `json:"page_size"`
	HasNext  bool          `json:"has_next"`
}

// PublishItems returns a page (from 1) of a publish's items in id order,
// only those with outcome if it is not "": the publish's detail page.
func PublishItems(ctx context.Context, db *pgxpool.Pool, publishID int64, outcome string, page int) (*PublishItemPage, error) {
	page = min(max(page, 1), MaxPage)
	rows, err := db.Query(ctx, `SELECT i.staged_id, m.external_id, m.title, coalesce(i.outcome, ''), i.note, i.product_id,
			coalesce(p.sku, ''), i.product_before
		FROM publish_items i JOIN marketplace_products m ON m.id = i.staged_id LEFT JOIN products p ON p.id = i.product_id
		WHERE i.publish_id = $1 AND ($2 = '' OR i.outcome = $2)
		ORDER BY i.staged_id LIMIT $3 OFFSET $4`, publishID, outcome, PublishItemsPageSize+1, (page-1)*PublishItemsPageSize)
	if err != nil {
		return nil, fmt.Errorf("list the items of publish %d: %w", publishID, err)
	}
	defer rows.Close()
	out := &PublishItemPage{Page: page, PageSize: PublishItemsPageSize, Items: []PublishItem{}}
	for rows.Next() {
		var it PublishItem
		var before []byte
		if err := rows.Scan(&it.StagedID, &it.ExternalID, &it.Title, &it.Outcome, &it.Note, &it.ProductID, &it.ProductSKU, &before); err != nil {
			return nil, fmt.Errorf("list the items of publish %d: %w", publishID, err)
		}
		if before != nil {
			it.Before = new(ProductValues)
			if err := json.Unmarshal(before, it.Before); err != nil {
				return nil, fmt.Errorf("read the snapshot of item %d: %w", it.StagedID, err)
			}
		}
		out.Items = append(out.Items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the items of publish %d: %w", publishID, err)
	}
	if len(out.Items) > PublishItemsPageSize {
		out.Items, out.HasNext = out.Items[:PublishItemsPageSize], true
	}
	return out, nil
}

// The plan: for each item of a set, the product it goes to and what
// happens to it. PreviewPublish makes it for a whole selection; a publish
// makes it for each chunk, in the chunk's transaction, after locking the
// products it may touch, and then applies it with one statement per kind
// of write. It lives in a temporary table of the connection.
const planTableSQL = `CREATE TEMP TABLE IF NOT EXISTS publish_plan (
	staged_id bigint PRIMARY KEY, external_id text, pid bigint, matched_by text, outcome text, reason text, note text,
	title text, description text, price_minor bigint, sale_price_minor bigint, currency text, gtin text, brand text,
	stock_before integer, stock_reserved integer, stock_target integer,
	b_sku text, b_title text, b_description text, b_price bigint, b_sale bigint, b_currency text, b_gtin text, b_brand text,
	b_state text, b_updated_at timestamptz, b_updated_by bigint,
	content_hash bytea, linked_id bigint, published_hash bytea, published_at timestamptz, fetch_images boolean
) ON COMMIT DELETE ROWS`

// planSettings are the settings of a transaction that plans: the plan's
// estimated cost is high enough for PostgreSQL to compile it (JIT), which
// takes longer than running it on a chunk.
func planSettings(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
		return fmt.Errorf("set up the plan: %w", err)
	}
	return nil
}

func ensurePlanTable(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, planTableSQL); err != nil {
		return fmt.Errorf("prepare the publish plan: %w", err)
	}
	return nil
}

// planArgs are the plan's first arguments: $1 stock from availability,
// $2 the quantity in stock, $3 the SKU pattern.
func planArgs(opts PublishOptions) sqlArgs {
	return sqlArgs{opts.StockFromAvailability, opts.StockQuantity, sku.Pattern}
}

// planSQL fills publish_plan for the items whose ids source selects.
//
// Matching: an item goes to the product it was published as (the link
// survives SKU edits); else to the product whose SKU is the item's id;
// else to the only product with its GTIN; else a new product. A product
// published from another item is never taken over (that would make two
// items write one product): such an item is skipped, as is one whose GTIN
// is on several products (which one?), one whose GTIN would be a second
// product's, and the second of two selected items that would go to the
// same product or bring the same GTIN.
//
// Values: the feed's title, price, currency and sale price (dropped,
// with a note, unless below the price); its description, brand and GTIN
// where it has them (an empty one does not erase the product's). Stock
// from availability, if asked, never below what is reserved.
//
// An item is unchanged when its product already has all those values; it
// is still linked, so that "changed since publish" counts from now.
func planSQL(source string) string {
	return `(staged_id, external_id, pid, matched_by, outcome, reason, note,
	title, description, price_minor, sale_price_minor, currency, gtin, brand, stock_before, stock_reserved, stock_target,
	b_sku, b_title, b_description, b_price, b_sale, b_currency, b_gtin, b_brand, b_state, b_updated_at, b_updated_by,
	content_hash, linked_id, published_hash, published_at, fetch_images)
WITH m AS (
	SELECT m.id, m.external_id, m.title, m.description, m.price_minor, m.sale_price_minor, m.currency::text AS currency,
		m.brand, m.gtin, m.availability, m.content_hash, m.product_id AS linked_id, m.published_hash, m.published_at
	FROM marketplace_products m WHERE m.id IN (` + source + `)
), k AS MATERIALIZED (
	SELECT m.*, sp.id AS sku_pid,
		(SELECT o.external_id FROM marketplace_products o WHERE o.product_id = sp.id AND o.id <> m.id LIMIT 1) AS sku_claim,
		g.n AS gtin_n, g.id AS gtin_pid, g.sku AS gtin_sku,
		(SELECT o.external_id FROM marketplace_products o WHERE (o.product_id = g.id OR o.external_id = g.sku) AND o.id <> m.id
			LIMIT 1) AS gtin_claim
	FROM m
	LEFT JOIN products sp ON m.linked_id IS NULL AND sp.sku = m.external_id
	CROSS JOIN LATERAL (SELECT count(*) AS n, min(p.id) AS id, min(p.sku) AS sku FROM products p
		WHERE p.gtin = m.gtin AND m.linked_id IS NULL AND sp.id IS NULL) g
), d AS (
	SELECT k.*,
		CASE WHEN linked_id IS NOT NULL THEN linked_id
			WHEN sku_pid IS NOT NULL THEN CASE WHEN sku_claim IS NULL THEN sku_pid END
			WHEN gtin_n = 1 AND gtin_claim IS NULL THEN gtin_pid END AS pid,
		CASE WHEN linked_id IS NOT NULL THEN 'published' WHEN sku_pid IS NOT NULL THEN 'sku' WHEN gtin_n = 1 THEN 'gtin' END AS matched_by,
		CASE WHEN btrim(title) = '' THEN 'no_title'
			WHEN price_minor IS NULL OR currency IS NULL THEN 'no_price'
			WHEN linked_id IS NOT NULL THEN NULL
			WHEN sku_pid IS NOT NULL THEN CASE WHEN sku_claim IS NOT NULL THEN 'sku_taken' END
			WHEN gtin_n = 1 THEN CASE WHEN gtin_claim IS NOT NULL THEN 'gtin_taken' END
			WHEN gtin_n > 1 THEN 'gtin_ambiguous'
			WHEN external_id !~ $3 THEN 'bad_sku' END AS skip
	FROM k
), e AS MATERIALIZED (
	SELECT d.*, p.sku AS b_sku, p.title AS b_title, p.description AS b_description, p.price_minor AS b_price,
		p.sale_price_minor AS b_sale, p.currency::text AS b_currency, p.gtin AS b_gtin, p.brand AS b_brand, p.state AS b_state,
		p.updated_at AS b_updated_at, p.updated_by AS b_updated_by,
		coalesce(p.stock_on_hand, 0) AS stock_before, coalesce(p.stock_reserved, 0) AS stock_reserved,
		CASE WHEN d.skip IS NULL AND d.pid IS NOT NULL AND d.gtin IS NOT NULL AND d.gtin IS DISTINCT FROM p.gtin THEN
			(SELECT x.sku FROM products x WHERE x.gtin = d.gtin AND x.id <> d.pid LIMIT 1) END AS gtin_other
	FROM d LEFT JOIN products p ON p.id = d.pid
), f AS (
	SELECT e.*,
		coalesce(e.skip, CASE WHEN e.gtin_other IS NOT NULL THEN 'gtin_used' END) AS skip1,
		CASE WHEN e.description = '' AND e.pid IS NOT NULL THEN e.b_description ELSE e.description END AS n_description,
		CASE WHEN e.sale_price_minor < e.price_minor THEN e.sale_price_minor END AS n_sale,
		coalesce(e.gtin, e.b_gtin) AS n_gtin,
		CASE WHEN e.brand = '' AND e.pid IS NOT NULL THEN e.b_brand ELSE e.brand END AS n_brand,
		CASE WHEN NOT $1 THEN e.stock_before
			WHEN e.availability = 'in_stock' THEN greatest($2::integer, e.stock_reserved)
			WHEN e.availability = 'out_of_stock' THEN e.stock_reserved
			ELSE e.stock_before END AS stock_target,
		CASE e.matched_by WHEN 'published' THEN 0 WHEN 'sku' THEN 1 ELSE 2 END AS match_rank
	FROM e
), w AS (
	SELECT f.*,
		CASE WHEN f.pid IS NULL OR f.n_gtin IS DISTINCT FROM f.b_gtin THEN f.n_gtin END AS gtin_new,
		row_number() OVER pw AS pid_rn, first_value(f.external_id) OVER pw AS pid_first
	FROM f WINDOW pw AS (PARTITION BY f.skip1 IS NULL, f.pid ORDER BY f.match_rank, f.id)
), v AS (
	SELECT w.*, row_number() OVER gw AS gtin_rn, first_value(w.external_id) OVER gw AS gtin_first
	FROM w WINDOW gw AS (PARTITION BY w.skip1 IS NULL, w.gtin_new ORDER BY w.pid IS NULL, w.id)
), z AS (
	SELECT v.*, coalesce(v.skip1, CASE WHEN v.pid IS NOT NULL AND v.pid_rn > 1 THEN 'same_product'
		WHEN v.gtin_new IS NOT NULL AND v.gtin_rn > 1 THEN 'same_gtin' END) AS reason
	FROM v
)
SELECT id, external_id, CASE WHEN reason IS NULL THEN pid END, CASE WHEN reason IS NULL THEN matched_by END,
	CASE WHEN reason IS NOT NULL THEN 'skipped'
		WHEN pid IS NULL THEN 'created'
		WHEN (title, n_description, price_minor, n_sale, currency, n_gtin, n_brand, stock_target)
			IS NOT DISTINCT FROM (b_title, b_description, b_price, b_sale, b_currency, b_gtin, b_brand, stock_before) THEN 'unchanged'
		ELSE 'updated' END,
	reason,
	left(concat_ws(' ',
		CASE reason
			WHEN 'no_title' THEN 'No title: a product needs one.'
			WHEN 'no_price' THEN 'No price: a product needs one.'
			WHEN 'bad_sku' THEN format('Its id %s cannot be a SKU: a SKU has letters, digits and . _ / - only, and starts with a letter or digit.', external_id)
			WHEN 'sku_taken' THEN format('The product with SKU %s is already published from item %s.', external_id, sku_claim)
			WHEN 'gtin_taken' THEN format('GTIN %s belongs to the product with SKU %s, which is published from item %s.', gtin, gtin_sku, gtin_claim)
			WHEN 'gtin_ambiguous' THEN format('GTIN %s is on %s products, so it is not clear which one this item is.', gtin, gtin_n)
			WHEN 'gtin_used' THEN format('GTIN %s is already used by the product with SKU %s.', gtin, gtin_other)
			WHEN 'same_product' THEN format('Item %s, also selected, is published as the same product.', pid_first)
			WHEN 'same_gtin' THEN format('Item %s, also selected, has the same GTIN %s.', gtin_first, gtin_new)
		END,
		CASE WHEN reason IS NULL AND sale_price_minor >= price_minor THEN 'The sale price is not below the price, so it was left out.' END,
		CASE WHEN reason IS NULL AND matched_by = 'gtin' THEN format('Matched by GTIN to the product with SKU %s.', b_sku) END), 500),
	title, n_description, price_minor, n_sale, currency, n_gtin, n_brand, stock_before, stock_reserved, stock_target,
	b_sku, b_title, b_description, b_price, b_sale, b_currency, b_gtin, b_brand, b_state, b_updated_at, b_updated_by,
	content_hash, linked_id, published_hash, published_at,
	reason IS NULL AND (pid IS NULL OR linked_id IS DISTINCT FROM pid OR published_hash IS DISTINCT FROM content_hash)
FROM z`
}

func (r *Runner) drainPublishes(ctx context.Context, v *Vendor) (time.Time, error) {
	for ctx.Err() == nil {
		p, err := claimPublish(ctx, v.Pool)
		if errors.Is(err, pgx.ErrNoRows) {
			break
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("claim a publish: %w", err)
		}
		if err := r.runPublish(ctx, v, p); err != nil {
			return time.Time{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	return nextDue(ctx, v.Pool, `SELECT min(locked_until) FROM publishes WHERE state = 'running'`)
}

// claimPublish takes the oldest queued publish, or a running one whose
// worker's lease ran out. Unlike an import, a publish taken up again goes
// on where it stopped: the chunks written have their outcomes.
func claimPublish(ctx context.Context, pool *pgxpool.Pool) (*Publish, error) {
	var p *Publish
	err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
		var id int64
		// One publish of a vendor runs at a time, in the order they were
		// asked for, so that each one's snapshot is what the one before
		// left and undo can take them back newest first.
		err := tx.QueryRow(ctx, `SELECT id FROM publishes
			WHERE (state = 'queued' OR (state = 'running' AND locked_until < now()))
			  AND NOT EXISTS (SELECT 1 FROM publishes WHERE state = 'running' AND locked_until >= now())
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`).Scan(&id)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE publishes SET state = 'running', attempts = attempts + 1,
			locked_until = now() + make_interval(secs => $2), error = '' WHERE id = $1`, id, lease.Seconds())
		if err != nil {
			return err
		}
		p, err = scanPublish(tx.QueryRow(ctx, `SELECT `+publishColumns+publishFrom+` WHERE p.id = $1`, id))
		return err
	})
	return p, err
}

// runPublish writes a publish's items into the catalog a chunk at a time
// and records how it ended. Only a failure to reach the vendor's database
// is returned; anything else ends the publish as failed, with the reason
// for the vendor (the chunks written stay written, and can be undone).
func (r *Runner) runPublish(ctx context.Context, v *Vendor, p *Publish) error {
	log := v.Log.With("publish", p.ID)
	if p.Attempts > maxPublishAttempts {
		return endPublish(ctx, v.Pool, p, StateFailed,
			fmt.Sprintf("The publish was interrupted %d times and has been stopped. What it wrote so far stays, and can be undone.", maxPublishAttempts))
	}
	workCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := keepLease(workCtx, v.Pool, "publishes", p.ID, p.Attempts, cancel)
	start := time.Now()
	err := r.publishAll(workCtx, v, p)
	stop()
	switch {
	case err == nil:
		log.Info("publish finished", "took", time.Since(start).Round(time.Millisecond))
		return endPublish(ctx, v.Pool, p, StateFinished, "")
	case ctx.Err() != nil:
		// Stopping: let go at once, so the next drain goes on without
		// waiting for the lease to run out.
		_, _ = v.Pool.Exec(context.WithoutCancel(ctx), `UPDATE publishes SET locked_until = now() WHERE id = $1 AND state = 'running'`, p.ID)
		return ctx.Err()
	case workCtx.Err() != nil:
		return fmt.Errorf("publish %d lost its lease: %w", p.ID, err)
	}
	log.Warn("publish failed", "err", err)
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.SQLState(), "08") {
		return err
	}
	return endPublish(ctx, v.Pool, p, StateFailed, trim("The publish stopped: "+err.Error(), 2000))
}

// endPublish records how a publish ended, with its counts taken from its
// items (items of staged rows deleted meanwhile are gone from both), and
// the audit entry.
func endPublish(ctx context.Context, pool *pgxpool.Pool, p *Publish, state, msg string) error {
	ctx = context.WithoutCancel(ctx)
	err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
		var after map[string]any
		err := tx.QueryRow(ctx, `WITH c AS (
				SELECT count(*) AS total, count(outcome) AS done,
					count(*) FILTER (WHERE outcome = 'created') AS created, count(*) FILTER (WHERE outcome = 'updated') AS updated,
					count(*) FILTER (WHERE outcome = 'unchanged') AS unchanged, count(*) FILTER (WHERE outcome = 'skipped') AS skipped
				FROM publish_items WHERE publish_id = $1)
			UPDATE publishes SET state = $2, error = $3, finished_at = now(), locked_until = NULL, items_total = c.total,
				items_done = c.done, created_count = c.created, updated_count = c.updated, unchanged_count = c.unchanged,
				skipped_count = c.skipped
			FROM c WHERE id = $1
			RETURNING jsonb_build_object('state', state, 'items', items_total, 'created', created_count,
				'updated', updated_count, 'unchanged', unchanged_count, 'skipped', skipped_count, 'error', error)`,
			p.ID, state, trim(msg, 2000)).Scan(&after)
		if err != nil {
			return err
		}
		e := staff.Entry{Actor: "system:marketplace", Action: "publish." + state, TargetType: "publish",
			TargetID: fmt.Sprint(p.ID), After: after}
		if p.CreatedBy != nil {
			e.StaffID = *p.CreatedBy
		}
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("record the end of publish %d: %w", p.ID, err)
	}
	return nil
}

// errItemsBusy means the items left are being written by an import at
// this moment; the publish waits for it.
var errItemsBusy = errors.New("items busy")

// publishAll writes the publish's items without an outcome, a chunk per
// transaction, on one connection (the plan's temporary table is its own).
func (r *Runner) publishAll(ctx context.Context, v *Vendor, p *Publish) error {
	conn, err := v.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := ensurePlanTable(ctx, conn.Conn()); err != nil {
		return err
	}
	// Items are taken in id order from after the last one written, so
	// that finding the next chunk does not read the items done before it;
	// at the end the items are read once more from the start, for those
	// an import held when their turn came.
	var after int64
	for {
		last, err := r.publishChunk(ctx, conn.Conn(), p, after)
		switch {
		case errors.Is(err, errItemsBusy):
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			continue
		case err != nil:
			return err
		case last == 0 && after == 0:
			return nil
		}
		after = last
		if last != 0 && r.afterChunk != nil {
			r.afterChunk(p.ID)
		}
	}
}

// publishChunk writes the next chunk of a publish after the item id
// after, in one transaction, and returns the last item id it did (0: none
// were left after after). A product saved by someone else at the same
// moment with the same SKU or handle makes the chunk start again, with
// fresh matches and handles.
func (r *Runner) publishChunk(ctx context.Context, conn *pgx.Conn, p *Publish, after int64) (int64, error) {
	var last int64
	var err error
	for range 5 {
		err = database.Transact(ctx, conn, func(tx pgx.Tx) error {
			var werr error
			last, werr = r.writeChunk(ctx, tx, p, after)
			return werr
		})
		if c := database.ConstraintName(err); c != "products_sku_key" && c != "products_handle_key" {
			break
		}
	}
	return last, err
}

// writeChunk is one chunk: take the next items after the id after
// (skipping those an import is writing now: it would otherwise wait for us
// while we wait for it; they are taken on a later pass), lock every
// product they may go to, plan, then write, each kind of write one
// statement for the whole chunk. It returns the last item id it wrote, 0
// if there were none after after.
func (r *Runner) writeChunk(ctx context.Context, tx pgx.Tx, p *Publish, after int64) (int64, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, publishLock); err != nil {
		return 0, fmt.Errorf("wait for other publishes: %w", err)
	}
	if err := planSettings(ctx, tx); err != nil {
		return 0, err
	}
	// A chunk need not wait for its commit to reach the disk: a crash of
	// the database loses whole chunks at most, which the publish then
	// writes again, and its end (a normal commit) flushes them all.
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return 0, fmt.Errorf("set up the chunk: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT staged_id FROM publish_items WHERE publish_id = $1 AND staged_id > $3 AND outcome IS NULL
		ORDER BY staged_id LIMIT $2`, p.ID, r.publishChunkSize(), after)
	if err != nil {
		return 0, fmt.Errorf("find the next items: %w", err)
	}
	next, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("find the next items: %w", err)
	}
	if len(next) == 0 {
		return 0, nil // none left after after
	}
	rows, err = tx.Query(ctx, `SELECT id FROM marketplace_products WHERE id = ANY($1) ORDER BY id FOR UPDATE SKIP LOCKED`, next)
	if err != nil {
		return 0, fmt.Errorf("take the next items: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("take the next items: %w", err)
	}
	if len(ids) == 0 {
		return 0, errItemsBusy
	}
	if _, err := tx.Exec(ctx, `SELECT FROM products WHERE id IN (
			SELECT product_id FROM marketplace_products WHERE id = ANY($1)
			UNION ALL SELECT p.id FROM products p JOIN marketplace_products m ON p.sku = m.external_id WHERE m.id = ANY($1)
			UNION ALL SELECT p.id FROM products p JOIN marketplace_products m ON p.gtin = m.gtin WHERE m.id = ANY($1))
		ORDER BY id FOR UPDATE`, ids); err != nil {
		return 0, fmt.Errorf("lock the products: %w", err)
	}
	opts := PublishOptions{StockFromAvailability: p.StockFromAvailability, StockQuantity: p.StockQuantity, NewState: p.NewState}
	a := planArgs(opts)
	if _, err := tx.Exec(ctx, `INSERT INTO publish_plan `+planSQL("SELECT unnest("+a.add(ids)+"::bigint[])"), a...); err != nil {
		return 0, fmt.Errorf("plan the publish: %w", err)
	}
	if err := createProducts(ctx, tx, p); err != nil {
		return 0, err
	}
	staffID := p.CreatedBy
	steps := []struct {
		what string
		sql  string
		args []any
	}{
		// Stock is set with the other values (the products are locked, so
		// the plan's stock is theirs).
		{"update products", `UPDATE products p SET title = pl.title, description = pl.description, price_minor = pl.price_minor,
				sale_price_minor = pl.sale_price_minor, currency = pl.currency, gtin = pl.gtin, brand = pl.brand,
				stock_on_hand = pl.stock_target, updated_at = now(), updated_by = $1
			FROM publish_plan pl WHERE pl.outcome = 'updated' AND p.id = pl.pid`, []any{staffID}},
		// The ledger: one adjustment per product whose stock changed, of
		// the signed change, with what it left; created products start
		// from nothing.
		{"record stock movements", `INSERT INTO inventory_movements (product_id, kind, quantity, on_hand_after, reserved_after,
				reason, reference, staff_id)
			SELECT pid, 'adjustment', stock_target - stock_before, stock_target, stock_reserved, $1, $2, $3
			FROM publish_plan WHERE outcome IN ('created', 'updated') AND stock_target <> stock_before ORDER BY pid`,
			[]any{fmt.Sprintf("marketplace publish #%d", p.ID), publishRef(p.ID), staffID}},
		{"queue image fetches", `INSERT INTO image_fetches (product_id, url, position)
			SELECT pl.pid, l.url, l.pos - 1
			FROM publish_plan pl JOIN marketplace_products m ON m.id = pl.staged_id
			CROSS JOIN LATERAL unnest(array_remove(array_prepend(nullif(m.image_link, ''), m.additional_image_links), NULL))
				WITH ORDINALITY AS l(url, pos)
			WHERE pl.fetch_images AND length(l.url) BETWEEN 1 AND 2000
			ORDER BY pl.pid, l.pos
			ON CONFLICT (product_id, url) DO NOTHING`, nil},
		// The staged rows: linked, and "changed since publish" counts from
		// what was published (a row an import changed since the plan
		// shows as changed at once).
		{"mark the items published", `UPDATE marketplace_products m SET product_id = pl.pid, published_hash = pl.content_hash,
				published_at = now()
			FROM publish_plan pl WHERE pl.outcome <> 'skipped' AND m.id = pl.staged_id
				AND (m.product_id IS DISTINCT FROM pl.pid OR m.published_hash IS DISTINCT FROM pl.content_hash)`, nil},
		// The snapshot, for undo: the product before (updated ones), the
		// staged row's link before (every item that was not skipped).
		{"record the outcomes", `UPDATE publish_items i SET outcome = pl.outcome, note = pl.note, product_id = pl.pid,
				written_at = now(),
				product_before = CASE WHEN pl.outcome = 'updated' THEN jsonb_build_object(
					'title', pl.b_title, 'description', pl.b_description, 'price_minor', pl.b_price,
					'sale_price_minor', pl.b_sale, 'currency', pl.b_currency, 'gtin', pl.b_gtin, 'brand', pl.b_brand,
					'state', pl.b_state, 'stock_on_hand', pl.stock_before, 'updated_at', pl.b_updated_at,
					'updated_by', pl.b_updated_by) END,
				staged_before = CASE WHEN pl.outcome <> 'skipped' THEN jsonb_build_object('product_id', pl.linked_id,
					'published_hash', encode(pl.published_hash, 'hex'), 'published_at', pl.published_at) END
			FROM publish_plan pl WHERE i.publish_id = $1 AND i.staged_id = pl.staged_id`, []any{p.ID}},
		{"record progress", `UPDATE publishes SET items_done = items_done + c.n, created_count = created_count + c.created,
				updated_count = updated_count + c.updated, unchanged_count = unchanged_count + c.unchanged,
				skipped_count = skipped_count + c.skipped
			FROM (SELECT count(*) AS n, count(*) FILTER (WHERE outcome = 'created') AS created,
					count(*) FILTER (WHERE outcome = 'updated') AS updated, count(*) FILTER (WHERE outcome = 'unchanged') AS unchanged,
					count(*) FILTER (WHERE outcome = 'skipped') AS skipped FROM publish_plan) c
			WHERE id = $1`, []any{p.ID}},
	}
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
			return 0, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return ids[len(ids)-1], nil
}

// createProducts makes the products of the chunk's new items, with
// handles that no product has. Their ids are drawn from the products'
// sequence into the plan first, so that the insert needs no way back from
// a new product to its item.
func createProducts(ctx context.Context, tx pgx.Tx, p *Publish) error {
	rows, err := tx.Query(ctx, `UPDATE publish_plan SET pid = nextval(pg_get_serial_sequence('products', 'id'))
		WHERE outcome = 'created' RETURNING staged_id, external_id`)
	if err != nil {
		return fmt.Errorf("number the new products: %w", err)
	}
	var ids []int64
	var skus []string
	var id int64
	var s string
	_, err = pgx.ForEachRow(rows, []any{&id, &s}, func() error {
		ids, skus = append(ids, id), append(skus, s)
		return nil
	})
	if err != nil {
		return fmt.Errorf("number the new products: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	handles, err := sku.FreeHandles(ctx, tx, skus)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO products (id, sku, title, description, handle, gtin, price_minor, sale_price_minor,
			currency, state, brand, stock_on_hand, updated_by) OVERRIDING SYSTEM VALUE
		SELECT pl.pid, pl.external_id, pl.title, pl.description, h.handle, pl.gtin, pl.price_minor, pl.sale_price_minor,
			pl.currency, $3, pl.brand, pl.stock_target, $4
		FROM unnest($1::bigint[], $2::text[]) AS h(staged_id, handle) JOIN publish_plan pl ON pl.staged_id = h.staged_id
		ORDER BY pl.pid`, ids, handles, p.NewState, p.CreatedBy)
	if err != nil {
		return fmt.Errorf("create products: %w", err)
	}
	return nil
}

// publishRef is the reference of a publish's stock movements.
func publishRef(id int64) string { return fmt.Sprintf("publish:%d", id) }

func (r *Runner) publishChunkSize() int {
	if r.cfg.PublishChunk > 0 {
		return r.cfg.PublishChunk
	}
	return DefaultPublishChunk
}
