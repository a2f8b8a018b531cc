package marketplace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
)

// ErrNotUndoable means the publish has not ended yet, or was undone
// already.
var ErrNotUndoable = errors.New("only a publish that has ended can be undone, and only once")

// UndoConflictError means later publishes, not undone, wrote some of the
// same products (or linked the same items): undoing this one would throw
// away what they did, or restore values they build on. They are to be
// undone first, newest first.
type UndoConflictError struct {
	PublishID int64
	Later     []int64 // the later publishes, oldest first
}

func (e *UndoConflictError) Error() string {
	ids := make([]string, len(e.Later))
	for i, id := range e.Later {
		ids[i] = fmt.Sprintf("#%d", id)
	}
	which := "publish " + ids[0] + " has"
	if len(ids) > 1 {
		which = "publishes " + strings.Join(ids[:len(ids)-1], ", ") + " and " + ids[len(ids)-1] + " have"
	}
	return fmt.Sprintf("Publish #%d cannot be undone: %s since changed some of the same products. Undo the later ones first, newest first.",
		e.PublishID, which)
}

// UndoProduct is a product an undo dealt with, and why it was not simply
// restored, where it was not.
type UndoProduct struct {
	ProductID int64  `json:"product_id"`
	SKU       string `json:"sku"`
	Title     string `json:"title,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// UndoResult is what an undo did.
type UndoResult struct {
	// Restored are the updated products given back their values from
	// before the publish.
	Restored []int64 `json:"restored"`
	// Deleted are the products the publish created, removed with the
	// stock movements it made.
	Deleted []int64 `json:"deleted"`
	// Archived are products the publish created that have a history of
	// their own since (other stock movements, edits, orders): they are
	// archived instead, and their pending image fetches dropped.
	Archived []UndoProduct `json:"archived"`
	// Skipped are updated products left as they are: changed after the
	// publish, or deleted since.
	Skipped []UndoProduct `json:"skipped"`
	// StockReversed counts the stock adjustments reversed by an opposite
	// one; StockSkipped are those that could not be (stock has been
	// reserved since, and on hand cannot go below it).
	StockReversed int           `json:"stock_reversed"`
	StockSkipped  []UndoProduct `json:"stock_skipped"`
	// StagedRestored counts the staged items given back their link to
	// the catalog as it was before.
	StagedRestored int `json:"staged_restored"`
}

// UndoPublish takes a publish that has ended back (a failed one too: the
// chunks it wrote have their snapshot), in one transaction:
//   - products it created are deleted, with the stock movements it made;
//     one with a history of its own since is archived instead;
//   - products it updated get their values from before back, unless they
//     were changed after the publish ended (those are skipped and listed:
//     the vendor's edit wins);
//   - its stock adjustments are reversed by opposite movements, unless that
//     would take stock on hand below what is reserved now;
//   - the staged items get their link from before back;
//   - the publish is marked undone.
//
// A later publish that is not undone and wrote any of the same products is
// an *UndoConflictError, with the publishes to undo first. The advisory
// lock every publish chunk takes keeps publishes from writing meanwhile.
func UndoPublish(ctx context.Context, db *pgxpool.Pool, publishID int64, audit staff.Entry) (*UndoResult, error) {
	var res *UndoResult
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		res = &UndoResult{Restored: []int64{}, Deleted: []int64{}, Archived: []UndoProduct{}, Skipped: []UndoProduct{},
			StockSkipped: []UndoProduct{}}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, publishLock); err != nil {
			return fmt.Errorf("wait for publishes: %w", err)
		}
		var state string
		var finished *time.Time
		err := tx.QueryRow(ctx, `SELECT state, finished_at FROM publishes WHERE id = $1 FOR UPDATE`, publishID).Scan(&state, &finished)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("publish %d: %w", publishID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read publish %d: %w", publishID, err)
		}
		if (state != StateFinished && state != StateFailed) || finished == nil {
			return fmt.Errorf("%w: publish %d is %s", ErrNotUndoable, publishID, state)
		}
		if err := undoConflicts(ctx, tx, publishID); err != nil {
			return err
		}
		u := &undo{tx: tx, id: publishID, finished: *finished, staffID: audit.StaffID, res: res, kept: []int64{}}
		if err := u.run(ctx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE publishes SET state = 'undone', undone_by = NULLIF($2, 0), undone_at = now() WHERE id = $1`,
			publishID, audit.StaffID); err != nil {
			return fmt.Errorf("mark publish %d undone: %w", publishID, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "publish.undo", "publish", fmt.Sprint(publishID)
		audit.Before = map[string]any{"state": state}
		audit.After = map[string]any{"state": StateUndone, "restored": len(res.Restored), "deleted": len(res.Deleted),
			"archived": firstProducts(res.Archived), "skipped": firstProducts(res.Skipped), "stock_reversed": res.StockReversed,
			"stock_skipped": firstProducts(res.StockSkipped), "staged_restored": res.StagedRestored}
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// firstProducts keeps the audit entry of a big undo small.
func firstProducts(ps []UndoProduct) []UndoProduct {
	if len(ps) > 100 {
		return ps[:100]
	}
	return ps
}

// undoConflicts returns an *UndoConflictError if a later publish, not
// undone, wrote or linked any of the products this one did.
func undoConflicts(ctx context.Context, tx pgx.Tx, publishID int64) error {
	rows, err := tx.Query(ctx, `SELECT DISTINCT l.publish_id
		FROM publish_items mine
		JOIN publish_items l ON l.product_id = mine.product_id AND l.publish_id > mine.publish_id AND l.outcome <> 'skipped'
		JOIN publishes lp ON lp.id = l.publish_id AND lp.state <> 'undone'
		WHERE mine.publish_id = $1 AND mine.outcome <> 'skipped' AND mine.product_id IS NOT NULL
		ORDER BY 1`, publishID)
	if err != nil {
		return fmt.Errorf("look for later publishes: %w", err)
	}
	later, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("look for later publishes: %w", err)
	}
	if len(later) > 0 {
		return &UndoConflictError{PublishID: publishID, Later: later}
	}
	return nil
}

// undo is one undo in progress.
type undo struct {
	tx       pgx.Tx
	id       int64
	finished time.Time
	staffID  int64
	res      *UndoResult
	kept     []int64 // products left as they are: their staged items keep their link (never nil: = ANY(NULL) is NULL)
}

// undoItem is a created or updated item of the publish with its product
// as it is now.
type undoItem struct {
	productID  int64
	sku, title string
	exists     bool
	edited     bool // changed after the publish ended
	history    bool // created: has stock movements the publish did not make
	onHand     int64
	reserved   int64
	delta      int64 // the publish's stock adjustment
}

func (u *undo) run(ctx context.Context) error {
	if _, err := u.tx.Exec(ctx, `SELECT FROM products WHERE id IN (
			SELECT product_id FROM publish_items WHERE publish_id = $1 AND outcome IN ('created', 'updated'))
		ORDER BY id FOR UPDATE`, u.id); err != nil {
		return fmt.Errorf("lock the products: %w", err)
	}
	created, err := u.items(ctx, OutcomeCreated)
	if err != nil {
		return err
	}
	if err := u.removeCreated(ctx, created); err != nil {
		return err
	}
	updated, err := u.items(ctx, OutcomeUpdated)
	if err != nil {
		return err
	}
	if err := u.restoreUpdated(ctx, updated); err != nil {
		return err
	}
	tag, err := u.tx.Exec(ctx, `UPDATE marketplace_products m SET
			product_id = (SELECT p.id FROM products p WHERE p.id = (i.staged_before->>'product_id')::bigint),
			published_hash = decode(i.staged_before->>'published_hash', 'hex'),
			published_at = (i.staged_before->>'published_at')::timestamptz
		FROM publish_items i
		WHERE i.publish_id = $1 AND i.staged_id = m.id AND i.staged_before IS NOT NULL
			AND NOT (coalesce(i.product_id, 0) = ANY($2))`, u.id, u.kept)
	if err != nil {
		return fmt.Errorf("restore the staged items: %w", err)
	}
	u.res.StagedRestored = int(tag.RowsAffected())
	return nil
}

// items reads the publish's items of one outcome with their products.
func (u *undo) items(ctx context.Context, outcome string) ([]undoItem, error) {
	rows, err := u.tx.Query(ctx, `SELECT i.product_id, coalesce(p.sku, m.external_id), coalesce(p.title, m.title), p.id IS NOT NULL,
			coalesce(p.updated_at > coalesce(i.written_at, $3), false),
			EXISTS (SELECT FROM inventory_movements mv WHERE mv.product_id = i.product_id AND NOT (mv.kind = 'adjustment' AND mv.reference = $4)),
			coalesce(p.stock_on_hand, 0), coalesce(p.stock_reserved, 0),
			coalesce((SELECT sum(mv.quantity) FROM inventory_movements mv
				WHERE mv.product_id = i.product_id AND mv.kind = 'adjustment' AND mv.reference = $4), 0)
		FROM publish_items i JOIN marketplace_products m ON m.id = i.staged_id LEFT JOIN products p ON p.id = i.product_id
		WHERE i.publish_id = $1 AND i.outcome = $2 AND i.product_id IS NOT NULL ORDER BY i.product_id`,
		u.id, outcome, u.finished, publishRef(u.id))
	if err != nil {
		return nil, fmt.Errorf("read the %s products: %w", outcome, err)
	}
	defer rows.Close()
	var out []undoItem
	for rows.Next() {
		var it undoItem
		if err := rows.Scan(&it.productID, &it.sku, &it.title, &it.exists, &it.edited, &it.history, &it.onHand, &it.reserved, &it.delta); err != nil {
			return nil, fmt.Errorf("read the %s products: %w", outcome, err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the %s products: %w", outcome, err)
	}
	return out, nil
}

func (it *undoItem) product(reason string) UndoProduct {
	return UndoProduct{ProductID: it.productID, SKU: it.sku, Title: it.title, Reason: reason}
}

// removeCreated deletes the products the publish created, or archives
// those with a history of their own.
func (u *undo) removeCreated(ctx context.Context, items []undoItem) error {
	var del []int64
	var archive []UndoProduct
	for i := range items {
		it := &items[i]
		switch {
		case !it.exists:
			u.res.Skipped = append(u.res.Skipped, it.product("It was deleted since."))
		case it.edited:
			archive = append(archive, it.product("It was changed after the publish, so it was archived instead of deleted."))
		case it.history:
			archive = append(archive, it.product("It has stock movements since the publish, which the ledger keeps, so it was archived instead of deleted."))
		default:
			del = append(del, it.productID)
		}
	}
	deleted, blocked, err := u.deleteProducts(ctx, del)
	if err != nil {
		return err
	}
	u.res.Deleted = append(u.res.Deleted, deleted...)
	for i := range items {
		if blocked[items[i].productID] {
			archive = append(archive, items[i].product("Other records (such as orders) refer to it, so it was archived instead of deleted."))
		}
	}
	if len(archive) == 0 {
		return nil
	}
	ids := make([]int64, len(archive))
	for i, a := range archive {
		ids[i] = a.ProductID
	}
	if _, err := u.tx.Exec(ctx, `UPDATE products SET state = 'archived', updated_at = now(), updated_by = NULLIF($2, 0)
		WHERE id = ANY($1) AND state <> 'archived'`, ids, u.staffID); err != nil {
		return fmt.Errorf("archive products: %w", err)
	}
	if _, err := u.tx.Exec(ctx, `DELETE FROM image_fetches WHERE product_id = ANY($1) AND state <> 'done'`, ids); err != nil {
		return fmt.Errorf("drop image fetches: %w", err)
	}
	u.res.Archived = append(u.res.Archived, archive...)
	u.kept = append(u.kept, ids...)
	return nil
}

// deleteProducts deletes products with the stock movements the publish
// made: all at once, or, if something else refers to one of them (a
// foreign key this code does not know of, such as an order line), one at
// a time, returning those that could not go.
func (u *undo) deleteProducts(ctx context.Context, ids []int64) (deleted []int64, blocked map[int64]bool, err error) {
	blocked = map[int64]bool{}
	if len(ids) == 0 {
		return nil, blocked, nil
	}
	del := func(ids []int64) error {
		sp, err := u.tx.Begin(ctx) // a savepoint
		if err != nil {
			return err
		}
		defer sp.Rollback(ctx) //nolint:errcheck // released by Commit
		if _, err := sp.Exec(ctx, `DELETE FROM inventory_movements WHERE product_id = ANY($1) AND kind = 'adjustment' AND reference = $2`,
			ids, publishRef(u.id)); err != nil {
			return err
		}
		if _, err := sp.Exec(ctx, `DELETE FROM products WHERE id = ANY($1)`, ids); err != nil {
			return err
		}
		return sp.Commit(ctx)
	}
	err = del(ids)
	if err == nil {
		return ids, blocked, nil
	}
	if database.Code(err) != "23503" {
		return nil, nil, fmt.Errorf("delete products: %w", err)
	}
	for _, id := range ids {
		err := del([]int64{id})
		switch {
		case err == nil:
			deleted = append(deleted, id)
		case database.Code(err) == "23503":
			blocked[id] = true
		default:
			return nil, nil, fmt.Errorf("delete product %d: %w", id, err)
		}
	}
	return deleted, blocked, nil
}

// restoreUpdated gives the updated products their values from before,
// and reverses the publish's stock adjustments.
func (u *undo) restoreUpdated(ctx context.Context, items []undoItem) error {
	var restore, stockIDs []int64
	var deltas []int64
	for i := range items {
		it := &items[i]
		switch {
		case !it.exists:
			u.res.Skipped = append(u.res.Skipped, it.product("It was deleted since."))
			continue
		case it.edited:
			u.res.Skipped = append(u.res.Skipped, it.product("It was changed after the publish, so it was left as it is."))
			u.kept = append(u.kept, it.productID)
			continue
		}
		restore = append(restore, it.productID)
		if it.delta == 0 {
			continue
		}
		if it.onHand-it.delta < it.reserved {
			u.res.StockSkipped = append(u.res.StockSkipped, it.product(fmt.Sprintf(
				"Its stock cannot go back down by %d: %d are on hand and %d are reserved for orders.", it.delta, it.onHand, it.reserved)))
			continue
		}
		stockIDs, deltas = append(stockIDs, it.productID), append(deltas, it.delta)
	}
	if len(restore) > 0 {
		_, err := u.tx.Exec(ctx, `UPDATE products p SET title = b->>'title', description = b->>'description',
				price_minor = (b->>'price_minor')::bigint, sale_price_minor = (b->>'sale_price_minor')::bigint,
				currency = b->>'currency', gtin = b->>'gtin', brand = b->>'brand', state = b->>'state',
				updated_at = (b->>'updated_at')::timestamptz,
				updated_by = (SELECT s.id FROM staff s WHERE s.id = (b->>'updated_by')::bigint)
			FROM (SELECT product_id, product_before AS b FROM publish_items
				WHERE publish_id = $1 AND outcome = 'updated' AND product_id = ANY($2)) i
			WHERE p.id = i.product_id`, u.id, restore)
		if err != nil {
			return fmt.Errorf("restore products: %w", err)
		}
		u.res.Restored = restore
	}
	if len(stockIDs) > 0 {
		tag, err := u.tx.Exec(ctx, `WITH s AS (
				UPDATE products p SET stock_on_hand = p.stock_on_hand - r.delta
				FROM unnest($1::bigint[], $2::bigint[]) AS r(id, delta) WHERE p.id = r.id
				RETURNING p.id, r.delta, p.stock_on_hand, p.stock_reserved)
			INSERT INTO inventory_movements (product_id, kind, quantity, on_hand_after, reserved_after, reason, reference, staff_id)
			SELECT id, 'adjustment', -delta, stock_on_hand, stock_reserved, $3, $4, NULLIF($5, 0) FROM s ORDER BY id`,
			stockIDs, deltas, fmt.Sprintf("undo of marketplace publish #%d", u.id), publishRef(u.id)+":undo", u.staffID)
		if err != nil {
			return fmt.Errorf("reverse stock adjustments: %w", err)
		}
		u.res.StockReversed = int(tag.RowsAffected())
	}
	return nil
}
