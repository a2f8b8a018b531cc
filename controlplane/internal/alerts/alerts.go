// Package alerts reads and handles the platform alerts that the platform
// raises when something needs an admin (a failed backup or verification,
// for now; backup.Alert raises them): listing them, counting the open
// ones, and acknowledging and resolving them, each audited.
//
// An alert is open until it is resolved; acknowledging it says someone is
// on it, without closing it.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/platform"
)

// Severities, from the platform_alerts table.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// States of an alert, derived from its timestamps.
const (
	StateOpen         = "open"
	StateAcknowledged = "acknowledged"
	StateResolved     = "resolved"
)

// Alert is one platform alert.
type Alert struct {
	ID       int64  `json:"id"`
	Severity string `json:"severity"`
	// Kind is what raised it: "backup.failed", "verify.failed", ...
	Kind     string `json:"kind"`
	VendorID *int64 `json:"vendor_id,omitempty"`
	// Vendor is the slug of the vendor it is about, if any.
	Vendor         string     `json:"vendor,omitempty"`
	Message        string     `json:"message"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	// State is open, acknowledged or resolved.
	State string `json:"state"`
}

const columns = `a.id, a.severity, a.kind, a.vendor_id, COALESCE(v.slug, '') AS vendor, a.message, a.created_at,
	a.acknowledged_at, a.acknowledged_by, a.resolved_at,
	CASE WHEN a.resolved_at IS NOT NULL THEN 'resolved' WHEN a.acknowledged_at IS NOT NULL THEN 'acknowledged' ELSE 'open' END AS state`

const from = ` FROM platform_alerts a LEFT JOIN vendors v ON v.id = a.vendor_id`

// Filter selects alerts.
type Filter struct {
	// States are the states wanted (open, acknowledged, resolved); none
	// means every state.
	States []string
	// VendorID, if not 0, keeps one vendor's alerts.
	VendorID int64
	// Limit is at most how many are returned (default 100).
	Limit int
}

// Unresolved selects open and acknowledged alerts: the ones still to deal with.
var Unresolved = []string{StateOpen, StateAcknowledged}

// List returns alerts, critical first, then newest first.
func List(ctx context.Context, store *platform.Store, f Filter) ([]Alert, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	states := f.States
	if len(states) == 0 {
		states = []string{StateOpen, StateAcknowledged, StateResolved}
	}
	rows, err := store.Pool().Query(ctx, `SELECT * FROM (SELECT `+columns+from+`
		WHERE ($1 = 0 OR a.vendor_id = $1)) x
		WHERE x.state = ANY($2)
		ORDER BY (x.state = 'resolved'), x.severity = 'critical' DESC, x.severity = 'warning' DESC, x.created_at DESC, x.id DESC
		LIMIT $3`, f.VendorID, states, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Alert])
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}

// Get returns one alert; platform.ErrNotFound if there is none.
func Get(ctx context.Context, q platform.Querier, id int64) (*Alert, error) {
	return get(ctx, q, id, "")
}

func get(ctx context.Context, q platform.Querier, id int64, lock string) (*Alert, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+from+` WHERE a.id = $1`+lock, id)
	if err != nil {
		return nil, fmt.Errorf("find alert %d: %w", id, err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByPos[Alert])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("alert %d: %w", id, platform.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find alert %d: %w", id, err)
	}
	return a, nil
}

// Counts are the unresolved alerts by severity.
type Counts struct {
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Info     int `json:"info"`
	// Unacknowledged is how many of them nobody has acknowledged yet.
	Unacknowledged int `json:"unacknowledged"`
}

// Total is the number of unresolved alerts.
func (c Counts) Total() int { return c.Critical + c.Warning + c.Info }

// CountUnresolved counts the alerts not resolved yet, by severity.
func CountUnresolved(ctx context.Context, store *platform.Store) (Counts, error) {
	var c Counts
	err := store.Pool().QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE severity = 'critical'),
			count(*) FILTER (WHERE severity = 'warning'),
			count(*) FILTER (WHERE severity = 'info'),
			count(*) FILTER (WHERE acknowledged_at IS NULL)
		FROM platform_alerts WHERE resolved_at IS NULL`).Scan(&c.Critical, &c.Warning, &c.Info, &c.Unacknowledged)
	if err != nil {
		return Counts{}, fmt.Errorf("count alerts: %w", err)
	}
	return c, nil
}

// StateError means an alert is already past the state an action needs.
type StateError struct {
	ID     int64
	State  string
	Action string
	By     string
}

func (e *StateError) Error() string {
	if e.State == StateAcknowledged && e.By != "" {
		return fmt.Sprintf("alert %d is already acknowledged (by %s); cannot %s it", e.ID, e.By, e.Action)
	}
	return fmt.Sprintf("alert %d is already %s; cannot %s it", e.ID, e.State, e.Action)
}

// Acknowledge marks an open alert as being dealt with by actor; it stays
// unresolved. The change and its audit row (alert.acknowledge) commit
// together. Errors: platform.ErrNotFound, *StateError.
func Acknowledge(ctx context.Context, store *platform.Store, actor platform.Actor, id int64) (*Alert, error) {
	return change(ctx, store, actor, id, "acknowledge", []string{StateOpen}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE platform_alerts SET acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1`, id, actor.String())
		return err
	})
}

// Resolve closes an open or acknowledged alert. The change and its audit
// row (alert.resolve) commit together. Errors: platform.ErrNotFound,
// *StateError.
func Resolve(ctx context.Context, store *platform.Store, actor platform.Actor, id int64) (*Alert, error) {
	return change(ctx, store, actor, id, "resolve", Unresolved, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE platform_alerts SET resolved_at = now() WHERE id = $1`, id)
		return err
	})
}

// change applies update to alert id if it is in one of the allowed
// states, and audits it as alert.<action>, in one transaction.
func change(ctx context.Context, store *platform.Store, actor platform.Actor, id int64, action string, allowed []string,
	update func(tx pgx.Tx) error) (*Alert, error) {
	var after *Alert
	err := store.Transact(ctx, func(tx pgx.Tx) error {
		before, err := get(ctx, tx, id, " FOR UPDATE OF a")
		if err != nil {
			return err
		}
		ok := false
		for _, s := range allowed {
			ok = ok || before.State == s
		}
		if !ok {
			return &StateError{ID: id, State: before.State, Action: action, By: before.AcknowledgedBy}
		}
		if err := update(tx); err != nil {
			return fmt.Errorf("%s alert %d: %w", action, id, err)
		}
		if after, err = get(ctx, tx, id, ""); err != nil {
			return err
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{
			Action: "alert." + action, TargetType: "alert", TargetID: strconv.FormatInt(id, 10),
			Before: map[string]any{"state": before.State, "severity": before.Severity, "kind": before.Kind, "vendor": before.Vendor},
			After:  map[string]any{"state": after.State},
		})
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}
