package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
)

// Movement kinds. Receipts, returns and adjustments change the stock on
// hand, sales take from it; reservations hold stock for a checkout and
// releases give it back.
const (
	MoveReceipt     = "receipt"
	MoveAdjustment  = "adjustment"
	MoveSale        = "sale"
	MoveReturn      = "return"
	MoveReservation = "reservation"
	MoveRelease     = "release"
)

// MovementKinds lists the kinds in the order people see them.
var MovementKinds = []string{MoveReceipt, MoveAdjustment, MoveSale, MoveReturn, MoveReservation, MoveRelease}

// MaxMoveQuantity is the largest quantity one movement may move.
const MaxMoveQuantity = 1_000_000

// Movement is a change of stock, as asked for. Quantity is positive,
// except for an adjustment, where it is the signed change of stock on
// hand. Field error keys: kind, quantity, reason, reference.
type Movement struct {
	ProductID int64
	Kind      string
	Quantity  int64
	Reason    string
	Reference string // an order number or a delivery note, if any
	StaffID   int64  // 0 for the system (checkouts)
}

// Check says what is wrong with a movement.
func (m *Movement) Check() FieldErrors {
	errs := FieldErrors{}
	m.Reason = strings.TrimSpace(m.Reason)
	m.Reference = strings.TrimSpace(m.Reference)
	switch m.Kind {
	case MoveAdjustment:
		if m.Quantity == 0 || m.Quantity > MaxMoveQuantity || m.Quantity < -MaxMoveQuantity {
			errs["quantity"] = fmt.Sprintf("Enter the change, from -%d to %d and not 0 (for example -2 for two broken items).", MaxMoveQuantity, MaxMoveQuantity)
		}
		if m.Reason == "" {
			errs["reason"] = "Say why the stock is adjusted (for example: stocktake, damaged)."
		}
	case MoveReceipt, MoveSale, MoveReturn, MoveReservation, MoveRelease:
		if m.Quantity < 1 || m.Quantity > MaxMoveQuantity {
			errs["quantity"] = fmt.Sprintf("Enter a quantity from 1 to %d.", MaxMoveQuantity)
		}
	default:
		errs["kind"] = "Choose receipt, adjustment, sale, return, reservation or release."
	}
	if utf8.RuneCountInString(m.Reason) > 500 {
		errs["reason"] = "Use at most 500 characters."
	}
	if utf8.RuneCountInString(m.Reference) > 100 {
		errs["reference"] = "Use at most 100 characters."
	}
	return errs
}

// deltas returns the change of stock on hand and of reserved stock.
func (m *Movement) deltas() (onHand, reserved int64) {
	switch m.Kind {
	case MoveReceipt, MoveReturn:
		return m.Quantity, 0
	case MoveAdjustment:
		return m.Quantity, 0
	case MoveSale:
		return -m.Quantity, 0
	case MoveReservation:
		return 0, m.Quantity
	case MoveRelease:
		return 0, -m.Quantity
	}
	return 0, 0
}

// StockError means a movement would take stock below zero: it would sell,
// reserve or adjust away more than is available, or release more than is
// reserved. Nothing was written.
type StockError struct {
	Kind     string
	Quantity int64
	Stock    Stock
}

func (e *StockError) Error() string {
	switch e.Kind {
	case MoveRelease:
		return fmt.Sprintf("Only %d are reserved, so %d cannot be released. Nothing was changed.", e.Stock.Reserved, e.Quantity)
	case MoveAdjustment:
		return fmt.Sprintf("Only %d are available (%d on hand, %d reserved), so stock cannot go down by %d. Nothing was changed.",
			e.Stock.Available, e.Stock.OnHand, e.Stock.Reserved, -e.Quantity)
	}
	return fmt.Sprintf("Only %d are available (%d on hand, %d reserved), so a %s of %d would take stock below zero. Nothing was changed.",
		e.Stock.Available, e.Stock.OnHand, e.Stock.Reserved, e.Kind, e.Quantity)
}

// MovementRecord is a row of the movements ledger.
type MovementRecord struct {
	ID            int64
	ProductID     int64
	Kind          string
	Quantity      int64
	OnHandAfter   int64
	ReservedAfter int64
	Reason        string
	Reference     string
	StaffID       *int64
	StaffEmail    string
	CreatedAt     time.Time
}

// MoveTx records a movement inside tx: one conditional UPDATE changes the
// stock only if it stays at or above zero (a concurrent change waits for
// the row and is checked against what that one left), and the ledger row
// goes in with it. A change that would go below zero is a *StockError.
func MoveTx(ctx context.Context, tx pgx.Tx, m Movement) (*MovementRecord, error) {
	if errs := m.Check(); len(errs) > 0 {
		return nil, errs
	}
	dOn, dRes := m.deltas()
	rec := &MovementRecord{ProductID: m.ProductID, Kind: m.Kind, Quantity: m.Quantity, Reason: m.Reason, Reference: m.Reference}
	err := tx.QueryRow(ctx, `UPDATE products SET stock_on_hand = stock_on_hand + $2, stock_reserved = stock_reserved + $3
		WHERE id = $1 AND stock_on_hand + $2 >= stock_reserved + $3 AND stock_reserved + $3 >= 0
		RETURNING stock_on_hand, stock_reserved`, m.ProductID, dOn, dRes).Scan(&rec.OnHandAfter, &rec.ReservedAfter)
	if errors.Is(err, pgx.ErrNoRows) {
		var s Stock
		err := tx.QueryRow(ctx, `SELECT stock_on_hand, stock_reserved FROM products WHERE id = $1`, m.ProductID).Scan(&s.OnHand, &s.Reserved)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("read stock of product %d: %w", m.ProductID, err)
		}
		s.Available = s.OnHand - s.Reserved
		return nil, &StockError{Kind: m.Kind, Quantity: m.Quantity, Stock: s}
	}
	if err != nil {
		if database.Code(err) == "22003" { // integer out of range
			return nil, FieldErrors{"quantity": "That would put more stock on the books than one product can hold."}
		}
		return nil, fmt.Errorf("move stock of product %d: %w", m.ProductID, err)
	}
	var staffID *int64
	if m.StaffID != 0 {
		staffID = &m.StaffID
	}
	err = tx.QueryRow(ctx, `INSERT INTO inventory_movements (product_id, kind, quantity, on_hand_after, reserved_after, reason, reference, staff_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, created_at`,
		m.ProductID, m.Kind, m.Quantity, rec.OnHandAfter, rec.ReservedAfter, m.Reason, m.Reference, staffID).Scan(&rec.ID, &rec.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("record stock movement of product %d: %w", m.ProductID, err)
	}
	rec.StaffID = staffID
	return rec, nil
}

// Move records a movement made by a member of staff, with its audit entry,
// in one transaction.
func Move(ctx context.Context, db *pgxpool.Pool, m Movement, audit staff.Entry) (*MovementRecord, error) {
	m.StaffID = audit.StaffID
	var rec *MovementRecord
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		var err error
		if rec, err = MoveTx(ctx, tx, m); err != nil {
			return err
		}
		audit.Action, audit.TargetType, audit.TargetID = "inventory.moved", "product", fmt.Sprint(m.ProductID)
		audit.After = map[string]any{"movement_id": rec.ID, "kind": m.Kind, "quantity": m.Quantity, "reason": m.Reason,
			"reference": m.Reference, "on_hand": rec.OnHandAfter, "reserved": rec.ReservedAfter}
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// Movements lists a product's ledger, newest first, from before the
// movement beforeID (0 for the newest).
func Movements(ctx context.Context, db Querier, productID, beforeID int64, limit int) ([]MovementRecord, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := db.Query(ctx, `SELECT m.id, m.product_id, m.kind, m.quantity, m.on_hand_after, m.reserved_after, m.reason, m.reference,
		m.staff_id, coalesce(s.email, ''), m.created_at
		FROM inventory_movements m LEFT JOIN staff s ON s.id = m.staff_id
		WHERE m.product_id = $1 AND ($2 = 0 OR m.id < $2) ORDER BY m.id DESC LIMIT $3`, productID, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("list stock movements of product %d: %w", productID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[MovementRecord])
	if err != nil {
		return nil, fmt.Errorf("list stock movements of product %d: %w", productID, err)
	}
	return out, nil
}

// SetThreshold sets the available stock at or below which a product shows
// as low on stock; nil turns the notice off.
func SetThreshold(ctx context.Context, db *pgxpool.Pool, productID int64, threshold *int64, audit staff.Entry) error {
	if threshold != nil && (*threshold < 0 || *threshold > MaxMoveQuantity) {
		return FieldErrors{"threshold": fmt.Sprintf("Enter a number from 0 to %d, or leave it empty for no notice.", MaxMoveQuantity)}
	}
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		var before *int64
		err := tx.QueryRow(ctx, `SELECT low_stock_threshold FROM products WHERE id = $1 FOR UPDATE`, productID).Scan(&before)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("set low-stock threshold of product %d: %w", productID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET low_stock_threshold = $2 WHERE id = $1`, productID, threshold); err != nil {
			return fmt.Errorf("set low-stock threshold of product %d: %w", productID, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "inventory.threshold_set", "product", fmt.Sprint(productID)
		audit.Before, audit.After = map[string]any{"low_stock_threshold": before}, map[string]any{"low_stock_threshold": threshold}
		return staff.Audit(ctx, tx, audit)
	})
}

// LowStockItem is a product at or below its low-stock threshold.
type LowStockItem struct {
	ID        int64
	SKU       string
	Title     string
	Available int64
	Threshold int64
}

// LowStock lists up to limit products that are not archived and whose
// available stock is at or below their threshold, the furthest below
// first: what the dashboard's low-stock notice shows.
func LowStock(ctx context.Context, db Querier, limit int) ([]LowStockItem, error) {
	if limit <= 0 {
		limit = 10
	}
	rows, err := db.Query(ctx, `SELECT id, sku, title, stock_on_hand - stock_reserved, low_stock_threshold FROM products
		WHERE low_stock_threshold IS NOT NULL AND state <> 'archived'
		  AND stock_on_hand - stock_reserved - low_stock_threshold <= 0
		ORDER BY stock_on_hand - stock_reserved - low_stock_threshold, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list low stock: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[LowStockItem])
	if err != nil {
		return nil, fmt.Errorf("list low stock: %w", err)
	}
	return out, nil
}
