package backoffice

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// auditPageSize is how many entries the viewer shows at once.
const auditPageSize = 50

type staffChoice struct {
	ID    int64
	Label string
}

type auditListPage struct {
	page
	Filter    auditFilter
	Errors    map[string]string
	Rows      []auditRow
	Members   []staffChoice
	Actions   []string
	OlderURL  string
	NewerURL  string
	ExportURL string
	Filtered  bool
}

// GET /admin/audit: the shop's audit log, newest first, filtered by staff
// member, action and dates, 50 at a time.
func (h *Handler) auditList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	q := r.URL.Query()
	f, errs := parseAuditFilter(q)
	p := auditListPage{page: h.page(r, "Audit log"), Filter: f, Errors: errs}
	var err error
	if p.Members, err = staffChoices(ctx, t.Pool); err != nil {
		return err
	}
	if p.Actions, err = auditActions(ctx, t.Pool); err != nil {
		return err
	}
	if len(errs) > 0 {
		return h.templates.Render(w, http.StatusUnprocessableEntity, "admin_audit", p)
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	rows, older, newer, err := auditPage(ctx, t.Pool, f, before, after, auditPageSize)
	if err != nil {
		return err
	}
	p.Rows = rows
	p.Filtered = len(f.query()) > 0
	base := t.Base + "/admin/audit"
	if len(rows) > 0 && older {
		v := f.query()
		v.Set("before", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		p.OlderURL = base + "?" + v.Encode()
	}
	if len(rows) > 0 && newer {
		v := f.query()
		v.Set("after", strconv.FormatInt(rows[0].ID, 10))
		p.NewerURL = base + "?" + v.Encode()
	}
	p.ExportURL = base + ".csv"
	if v := f.query(); len(v) > 0 {
		p.ExportURL += "?" + v.Encode()
	}
	return h.templates.Render(w, http.StatusOK, "admin_audit", p)
}

// staffChoices lists the shop's staff for the filter.
func staffChoices(ctx context.Context, db *pgxpool.Pool) ([]staffChoice, error) {
	rows, err := db.Query(ctx, `SELECT id, CASE WHEN name <> '' THEN name || ' <' || email || '>' ELSE email END FROM staff ORDER BY lower(email)`)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (staffChoice, error) {
		var c staffChoice
		return c, r.Scan(&c.ID, &c.Label)
	})
}

// auditActions lists the actions the log holds, for the filter.
func auditActions(ctx context.Context, db *pgxpool.Pool) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT DISTINCT action FROM audit_log ORDER BY 1 LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("list audit actions: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
