package backoffice

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// auditFilter is what the audit log viewer and its CSV export filter by.
type auditFilter struct {
	StaffID int64  // 0: everyone
	Action  string // exact, or a prefix ending in "." ("media.")
	From    string // YYYY-MM-DD, inclusive, UTC
	To      string // YYYY-MM-DD, inclusive, UTC
	from    time.Time
	to      time.Time
}

// parseAuditFilter reads the filter from a query string; errs says what
// is wrong with which field.
func parseAuditFilter(q url.Values) (auditFilter, map[string]string) {
	f := auditFilter{Action: strings.TrimSpace(q.Get("action")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	errs := map[string]string{}
	if s := q.Get("staff"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 0 {
			errs["staff"] = "Choose a member of staff from the list."
		}
		f.StaffID = id
	}
	if len(f.Action) > 100 {
		errs["action"] = "Use at most 100 characters."
	}
	var err error
	if f.From != "" {
		if f.from, err = time.Parse(time.DateOnly, f.From); err != nil {
			errs["from"] = "Write the date as YYYY-MM-DD."
		}
	}
	if f.To != "" {
		if f.to, err = time.Parse(time.DateOnly, f.To); err != nil {
			errs["to"] = "Write the date as YYYY-MM-DD."
		}
	}
	if errs["from"] == "" && errs["to"] == "" && f.From != "" && f.To != "" && f.to.Before(f.from) {
		errs["to"] = "The end date is before the start date."
	}
	return f, errs
}

// where is the filter as SQL conditions and their arguments.
func (f auditFilter) where() ([]string, []any) {
	conds, args := []string{"true"}, []any{}
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.StaffID != 0 {
		add("staff_id = $%d", f.StaffID)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			add("starts_with(action, $%d)", f.Action)
		} else {
			add("action = $%d", f.Action)
		}
	}
	if !f.from.IsZero() {
		add("at >= $%d", f.from)
	}
	if !f.to.IsZero() {
		add("at < $%d", f.to.AddDate(0, 0, 1))
	}
	return conds, args
}

// query is the filter as a query string (for links and the export).
func (f auditFilter) query() url.Values {
	v := url.Values{}
	if f.StaffID != 0 {
		v.Set("staff", strconv.FormatInt(f.StaffID, 10))
	}
	for k, s := range map[string]string{"action": f.Action, "from": f.From, "to": f.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// auditRow is an audit log entry as the viewer shows it.
type auditRow struct {
	ID         int64
	At         time.Time
	StaffID    *int64
	Actor      string
	Action     string
	TargetType string
	TargetID   string
	Before     string // JSON, or ""
	After      string
	ClientAddr string
	RequestID  string
}

const auditColumns = `id, at, staff_id, actor, action, target_type, target_id, coalesce(before::text, ''), coalesce(after::text, ''),
	client_addr, request_id`

func scanAudit(row pgx.Row) (auditRow, error) {
	var a auditRow
	err := row.Scan(&a.ID, &a.At, &a.StaffID, &a.Actor, &a.Action, &a.TargetType, &a.TargetID, &a.Before, &a.After,
		&a.ClientAddr, &a.RequestID)
	return a, err
}

// auditPage returns up to limit entries matching f, newest first: those
// older than before, or (after > 0) the ones just newer than after. It
// also says whether there are more in each direction.
func auditPage(ctx context.Context, db *pgxpool.Pool, f auditFilter, before, after int64, limit int) (rows []auditRow, older, newer bool, err error) {
	conds, args := f.where()
	order := "DESC"
	if after > 0 {
		args = append(args, after)
		conds = append(conds, fmt.Sprintf("id > $%d", len(args)))
		order = "ASC"
	} else if before > 0 {
		args = append(args, before)
		conds = append(conds, fmt.Sprintf("id < $%d", len(args)))
	}
	args = append(args, limit+1)
	r, err := db.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE `+strings.Join(conds, " AND ")+
		fmt.Sprintf(` ORDER BY id %s LIMIT $%d`, order, len(args)), args...)
	if err != nil {
		return nil, false, false, fmt.Errorf("read audit log: %w", err)
	}
	rows, err = pgx.CollectRows(r, func(row pgx.CollectableRow) (auditRow, error) { return scanAudit(row) })
	if err != nil {
		return nil, false, false, fmt.Errorf("read audit log: %w", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	if after > 0 {
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
		}
		return rows, true, more, nil
	}
	return rows, more, before > 0, nil
}
