package platform

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
)

// State is where a vendor is in its lifecycle.
type State string

// The lifecycle: requested → database_ready → bucket_ready → schema_ready →
// active ⇄ suspended, then deleting → deleted.
const (
	StateRequested     State = "requested"
	StateDatabaseReady State = "database_ready"
	StateBucketReady   State = "bucket_ready"
	StateSchemaReady   State = "schema_ready"
	StateActive        State = "active"
	StateSuspended     State = "suspended"
	StateDeleting      State = "deleting"
	StateDeleted       State = "deleted"
)

// Provisioning reports whether the vendor is still being created.
func (s State) Provisioning() bool {
	switch s {
	case StateRequested, StateDatabaseReady, StateBucketReady, StateSchemaReady:
		return true
	}
	return false
}

// Label is the state for people.
func (s State) Label() string {
	switch s {
	case StateRequested:
		return "Requested"
	case StateDatabaseReady:
		return "Database ready"
	case StateBucketReady:
		return "Bucket ready"
	case StateSchemaReady:
		return "Schema at head"
	case StateActive:
		return "Active"
	case StateSuspended:
		return "Suspended"
	case StateDeleting:
		return "Deleting"
	case StateDeleted:
		return "Deleted"
	}
	return string(s)
}

// Vendor is a vendor with where its data lives.
type Vendor struct {
	ID             int64      `json:"id"`
	Slug           string     `json:"slug"`
	Name           string     `json:"name"`
	OwnerEmail     string     `json:"owner_email"`
	State          State      `json:"state"`
	StateChangedAt time.Time  `json:"state_changed_at"`
	LastError      string     `json:"last_error,omitempty"`
	LastErrorAt    *time.Time `json:"last_error_at,omitempty"`
	SuspendReason  string     `json:"suspend_reason,omitempty"`
	DeleteAfter    *time.Time `json:"delete_after,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`

	Host          string `json:"host"`
	ServerID      int64  `json:"server_id"`
	ServerName    string `json:"server"`
	DBName        string `json:"database"`
	RoleName      string `json:"role"`
	PasswordEnc   []byte `json:"-"`
	SchemaVersion int64  `json:"schema_version"`
	Bucket        string `json:"bucket"`
}

const vendorColumns = `
	v.id, v.slug, v.name, v.owner_email, v.state, v.state_changed_at, v.last_error, v.last_error_at,
	v.suspend_reason, v.delete_after, v.created_at,
	COALESCE((SELECT d.host FROM domains d WHERE d.vendor_id = v.id ORDER BY d.is_primary DESC, d.id LIMIT 1), ''),
	COALESCE(vd.server_id, 0), COALESCE(s.name, ''), COALESCE(vd.db_name, ''), COALESCE(vd.role_name, ''),
	vd.password_enc, COALESCE(vd.schema_version, 0), COALESCE(b.name, '')`

const vendorFrom = `
	FROM vendors v
	LEFT JOIN vendor_databases vd ON vd.vendor_id = v.id AND vd.status = 'current'
	LEFT JOIN db_servers s ON s.id = vd.server_id
	LEFT JOIN buckets b ON b.vendor_id = v.id AND b.status = 'current'`

func scanVendor(row pgx.Row) (*Vendor, error) {
	var v Vendor
	err := row.Scan(&v.ID, &v.Slug, &v.Name, &v.OwnerEmail, &v.State, &v.StateChangedAt, &v.LastError, &v.LastErrorAt,
		&v.SuspendReason, &v.DeleteAfter, &v.CreatedAt,
		&v.Host, &v.ServerID, &v.ServerName, &v.DBName, &v.RoleName, &v.PasswordEnc, &v.SchemaVersion, &v.Bucket)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &v, err
}

// Querier is a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// VendorBySlug returns the live (not deleted) vendor with a slug.
func (s *Store) VendorBySlug(ctx context.Context, slug string) (*Vendor, error) {
	return VendorBySlug(ctx, s.pool, slug)
}

// VendorBySlug reads a live vendor with q.
func VendorBySlug(ctx context.Context, q Querier, slug string) (*Vendor, error) {
	v, err := scanVendor(q.QueryRow(ctx, `SELECT `+vendorColumns+vendorFrom+` WHERE v.slug = $1 AND v.state <> 'deleted'`, slug))
	if err != nil {
		return nil, fmt.Errorf("find vendor %q: %w", slug, err)
	}
	return v, nil
}

// VendorByID returns a vendor, deleted or not.
func (s *Store) VendorByID(ctx context.Context, id int64) (*Vendor, error) {
	return VendorByID(ctx, s.pool, id)
}

// VendorByID reads a vendor with q; forUpdate locks its row.
func VendorByID(ctx context.Context, q Querier, id int64) (*Vendor, error) {
	v, err := scanVendor(q.QueryRow(ctx, `SELECT `+vendorColumns+vendorFrom+` WHERE v.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("find vendor %d: %w", id, err)
	}
	return v, nil
}

// VendorFilter narrows ListVendors.
type VendorFilter struct {
	States         []State // empty: every state but deleted
	IncludeDeleted bool
	Search         string // slug or name contains
	Limit          int
	Offset         int
}

// ListVendors lists vendors, newest first.
func (s *Store) ListVendors(ctx context.Context, f VendorFilter) ([]*Vendor, error) {
	q := `SELECT ` + vendorColumns + vendorFrom + ` WHERE true`
	var args []any
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		args = append(args, states)
		q += fmt.Sprintf(` AND v.state = ANY($%d)`, len(args))
	} else if !f.IncludeDeleted {
		q += ` AND v.state <> 'deleted'`
	}
	if f.Search != "" {
		args = append(args, "%"+escapeLike(f.Search)+"%")
		q += fmt.Sprintf(` AND (v.slug ILIKE $%d OR v.name ILIKE $%d)`, len(args), len(args))
	}
	q += ` ORDER BY v.id DESC`
	if f.Limit > 0 {
		args = append(args, f.Limit, f.Offset)
		q += fmt.Sprintf(` LIMIT $%d OFFSET $%d`, len(args)-1, len(args))
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list vendors: %w", err)
	}
	defer rows.Close()
	var out []*Vendor
	for rows.Next() {
		v, err := scanVendor(rows)
		if err != nil {
			return nil, fmt.Errorf("list vendors: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CountVendors counts live vendors by state.
func (s *Store) CountVendors(ctx context.Context) (map[State]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM vendors GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count vendors: %w", err)
	}
	out := map[State]int{}
	defer rows.Close()
	for rows.Next() {
		var st State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count vendors: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

func escapeLike(s string) string {
	return likeEscaper.ReplaceAllString(s, `\$0`)
}

var likeEscaper = regexp.MustCompile(`[\\%_]`)

// Event is one step in a vendor's lifecycle history.
type Event struct {
	At      time.Time `json:"at"`
	State   State     `json:"state"`
	Message string    `json:"message,omitempty"`
	Error   string    `json:"error,omitempty"`
}

// RecordEvent appends to a vendor's history inside tx.
func RecordEvent(ctx context.Context, tx pgx.Tx, vendorID int64, state State, message, errText string) error {
	_, err := tx.Exec(ctx, `INSERT INTO vendor_events (vendor_id, state, message, error) VALUES ($1, $2, $3, $4)`,
		vendorID, state, message, errText)
	if err != nil {
		return fmt.Errorf("record vendor %d event: %w", vendorID, err)
	}
	return nil
}

// VendorEvents returns a vendor's history, newest first.
func (s *Store) VendorEvents(ctx context.Context, vendorID int64, limit int) ([]Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, state, message, error FROM vendor_events WHERE vendor_id = $1 ORDER BY id DESC LIMIT $2`, vendorID, limit)
	if err != nil {
		return nil, fmt.Errorf("read vendor %d events: %w", vendorID, err)
	}
	evs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Event])
	if err != nil {
		return nil, fmt.Errorf("read vendor %d events: %w", vendorID, err)
	}
	return evs, nil
}

// SetState moves a vendor to a state and records the step, in tx.
func SetState(ctx context.Context, tx pgx.Tx, vendorID int64, state State, message string) error {
	_, err := tx.Exec(ctx, `
		UPDATE vendors SET state = $2, state_changed_at = now(), updated_at = now(), last_error = '', last_error_at = NULL
		WHERE id = $1`, vendorID, state)
	if err != nil {
		return fmt.Errorf("set vendor %d state %s: %w", vendorID, state, err)
	}
	return RecordEvent(ctx, tx, vendorID, state, message, "")
}

// RecordError notes that a step failed, without changing the state.
func (s *Store) RecordError(ctx context.Context, vendorID int64, state State, stepErr error) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE vendors SET last_error = $2, last_error_at = now(), updated_at = now() WHERE id = $1`,
			vendorID, stepErr.Error())
		if err != nil {
			return fmt.Errorf("record vendor %d error: %w", vendorID, err)
		}
		return RecordEvent(ctx, tx, vendorID, state, "step failed", stepErr.Error())
	})
}

// IsSlugTaken reports whether err is the unique violation of a live slug
// or of a host name already in use.
func IsSlugTaken(err error) bool {
	if !database.IsUniqueViolation(err) {
		return false
	}
	c := database.ConstraintName(err)
	return c == "vendors_slug_live_key" || c == "domains_host_key"
}
