// Package platform is the store of the control-plane database: admins,
// vendors and where their data lives, database servers, and the audit log.
// The control plane and the provisioner CLI both use it.
package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
)

// Store reads and writes the control-plane database.
type Store struct {
	pool *pgxpool.Pool
	// settings replaces the Settings list (WithSettings), if not nil.
	settings []Setting
}

// New returns a Store over a pool connected as the control-plane owner.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the underlying pool (for transactions that span stores).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Transact runs fn in a control-plane transaction.
func (s *Store) Transact(ctx context.Context, fn func(pgx.Tx) error) error {
	return database.Transact(ctx, s.pool, fn)
}

// ErrNotFound means the thing asked for does not exist.
var ErrNotFound = errors.New("not found")

// Actor is who performs an action, for the audit log.
type Actor struct {
	Kind       string // "admin", "cli" or "system"
	AdminID    int64  // when Kind is "admin"
	Name       string // the admin's e-mail or the CLI's user
	ClientAddr string
	RequestID  string
}

// String renders the actor as the audit log stores it.
func (a Actor) String() string {
	if a.Kind == "" {
		return "system"
	}
	if a.Name == "" {
		return a.Kind
	}
	return a.Kind + ":" + a.Name
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	Action     string // "vendor.create", "vendor.suspend", ...
	TargetType string
	TargetID   string
	Before     any
	After      any
}

// Audit writes an audit row inside tx, so the record and the change it
// describes commit together.
func Audit(ctx context.Context, tx pgx.Tx, actor Actor, e AuditEntry) error {
	before, err := jsonOrNull(e.Before)
	if err != nil {
		return err
	}
	after, err := jsonOrNull(e.After)
	if err != nil {
		return err
	}
	var adminID *int64
	if actor.Kind == "admin" && actor.AdminID != 0 {
		adminID = &actor.AdminID
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO audit_log (actor, admin_id, action, target_type, target_id, before, after, client_addr, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		actor.String(), adminID, e.Action, e.TargetType, e.TargetID, before, after, actor.ClientAddr, actor.RequestID)
	if err != nil {
		return fmt.Errorf("write audit entry %s: %w", e.Action, err)
	}
	return nil
}

func jsonOrNull(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit value: %w", err)
	}
	return b, nil
}
