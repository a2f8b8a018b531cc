package backoffice

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// maxAuditExport bounds one CSV export.
const maxAuditExport = 100_000

// csvCell escapes a cell that a spreadsheet would run as a formula: one
// that starts with = + - @ (or a tab or carriage return, which some
// spreadsheets skip) gets a leading apostrophe.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// GET /admin/audit.csv: the filtered audit log as CSV, newest first, at
// most 100,000 entries. The export itself is recorded.
func (h *Handler) auditExport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	f, errs := parseAuditFilter(r.URL.Query())
	for _, field := range []string{"staff", "action", "from", "to"} {
		if msg, bad := errs[field]; bad {
			return web.FieldError(field, msg)
		}
	}
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		e := actor(r, Current(ctx))
		e.Action, e.TargetType, e.After = "audit.exported", "audit_log", f.query()
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	conds, args := f.where()
	args = append(args, maxAuditExport)
	rows, err := t.Pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE `+strings.Join(conds, " AND ")+
		fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return fmt.Errorf("export audit log: %w", err)
	}
	defer rows.Close()
	name := fmt.Sprintf("audit-%s-%s.csv", t.Entry.Slug, time.Now().UTC().Format("20060102-150405"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "time_utc", "staff_id", "actor", "action", "target_type", "target_id", "client_addr", "request_id", "before", "after"})
	for rows.Next() {
		a, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("export audit log: %w", err)
		}
		staffID := ""
		if a.StaffID != nil {
			staffID = strconv.FormatInt(*a.StaffID, 10)
		}
		rec := []string{strconv.FormatInt(a.ID, 10), a.At.UTC().Format(time.RFC3339), staffID, a.Actor, a.Action,
			a.TargetType, a.TargetID, a.ClientAddr, a.RequestID, a.Before, a.After}
		for i := range rec {
			rec[i] = csvCell(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return nil // the client went away
		}
	}
	cw.Flush()
	if err := rows.Err(); err != nil {
		h.log.Error("audit export cut short", "err", err)
	}
	return nil
}
