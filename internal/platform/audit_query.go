package platform

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditQuery selects audit entries for the audit log viewer and its CSV
// export. Zero fields do not filter.
type AuditQuery struct {
	// AdminID keeps the entries of one admin's actions.
	AdminID int64
	// Action is an exact action ("vendor.suspend") or, ending in ".", a
	// family of them ("vendor.").
	Action string
	// VendorID keeps the entries about one vendor: those whose target is
	// the vendor, and those that name it (alerts about it).
	VendorID   int64
	VendorSlug string
	// Since and Until bound the time: Since <= at < Until.
	Since, Until time.Time
}

func (q AuditQuery) where() (string, []any) {
	var conds []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if q.AdminID != 0 {
		conds = append(conds, "admin_id = "+arg(q.AdminID))
	}
	if a := strings.TrimSpace(q.Action); a != "" {
		if strings.HasSuffix(a, ".") {
			conds = append(conds, "starts_with(action, "+arg(a)+")")
		} else {
			conds = append(conds, "action = "+arg(a))
		}
	}
	if q.VendorID != 0 {
		id := arg(strconv.FormatInt(q.VendorID, 10))
		c := "(target_type = 'vendor' AND target_id = " + id + ")"
		if q.VendorSlug != "" {
			slug := arg(q.VendorSlug)
			c = "(" + c + " OR after ->> 'vendor' = " + slug + " OR before ->> 'vendor' = " + slug + ")"
		}
		conds = append(conds, c)
	}
	if !q.Since.IsZero() {
		conds = append(conds, "at >= "+arg(q.Since))
	}
	if !q.Until.IsZero() {
		conds = append(conds, "at < "+arg(q.Until))
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

const auditSelect = `SELECT id, at, actor, action, target_type, target_id, before, after, client_addr, request_id FROM audit_log`

// AuditPage returns one page (from 1) of the entries q selects, newest
// first, and how many there are in all.
func (s *Store) AuditPage(ctx context.Context, q AuditQuery, page, perPage int) ([]AuditRow, int, error) {
	if page < 1 {
		page = 1
	}
	where, args := q.where()
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit entries: %w", err)
	}
	n := len(args)
	args = append(args, perPage, (page-1)*perPage)
	rows, err := s.pool.Query(ctx, auditSelect+where+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d OFFSET $%d`, n+1, n+2), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("read audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AuditRow])
	if err != nil {
		return nil, 0, fmt.Errorf("read audit log: %w", err)
	}
	return out, total, nil
}

// EachAudit calls fn for every entry q selects, newest first, at most
// limit of them, streaming from the database.
func (s *Store) EachAudit(ctx context.Context, q AuditQuery, limit int, fn func(AuditRow) error) error {
	where, args := q.where()
	args = append(args, limit)
	rows, err := s.pool.Query(ctx, auditSelect+where+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	var row AuditRow
	_, err = pgx.ForEachRow(rows, []any{&row.ID, &row.At, &row.Actor, &row.Action, &row.TargetType, &row.TargetID,
		&row.Before, &row.After, &row.ClientAddr, &row.RequestID}, func() error { return fn(row) })
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	return nil
}

// AuditActions lists the actions the audit log holds, for a filter's
// choices.
func (s *Store) AuditActions(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT action FROM audit_log ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list audit actions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list audit actions: %w", err)
	}
	return out, nil
}

// PruneAudit deletes the audit entries older than days days (none if
// days is 0) and records the deletion as an entry of its own.
func (s *Store) PruneAudit(ctx context.Context, actor Actor, days int) (int64, error) {
	if days <= 0 {
		return 0, nil
	}
	var n int64
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE at < now() - make_interval(days => $1)`, days)
		if err != nil {
			return fmt.Errorf("delete old audit entries: %w", err)
		}
		n = tag.RowsAffected()
		if n == 0 {
			return nil
		}
		return Audit(ctx, tx, actor, AuditEntry{Action: "audit.prune", TargetType: "audit_log",
			After: map[string]any{"deleted": n, "retention_days": days}})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
