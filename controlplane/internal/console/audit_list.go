package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// auditPerPage is how many entries a page of the audit log shows.
const auditPerPage = 50

// auditForm is the audit log viewer's filter as the form holds it.
type auditForm struct {
	Admin  string // admin id
	Action string
	Vendor string // slug
	From   string // YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC
	To     string
}

func (f auditForm) Filtered() bool {
	return f.Admin != "" || f.Action != "" || f.Vendor != "" || f.From != "" || f.To != ""
}

// values is the filter as query parameters.
func (f auditForm) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"admin": f.Admin, "action": f.Action, "vendor": f.Vendor, "from": f.From, "to": f.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// parseAuditForm reads the filter of the audit viewer and the CSV export:
// ?admin=<id>&action=<action or family.>&vendor=<slug>&from=&to= (dates,
// or dates with a time, in UTC; "to" is inclusive of its whole day when
// it is a date).
func (h *Handler) parseAuditForm(r *http.Request) (auditForm, platform.AuditQuery, error) {
	q := r.URL.Query()
	f := auditForm{Admin: strings.TrimSpace(q.Get("admin")), Action: strings.TrimSpace(q.Get("action")),
		Vendor: strings.TrimSpace(q.Get("vendor")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	var aq platform.AuditQuery
	if f.Admin != "" {
		id, err := strconv.ParseInt(f.Admin, 10, 64)
		if err != nil || id <= 0 {
			return f, aq, web.FieldError("admin", "Choose an admin from the list.")
		}
		aq.AdminID = id
	}
	if len(f.Action) > 100 {
		return f, aq, web.FieldError("action", "An action is at most 100 characters, e.g. vendor.suspend.")
	}
	aq.Action = f.Action
	if f.Vendor != "" {
		v, err := h.store.VendorBySlug(r.Context(), f.Vendor)
		if errors.Is(err, platform.ErrNotFound) {
			return f, aq, web.FieldError("vendor", "There is no vendor "+strconv.Quote(f.Vendor)+".")
		}
		if err != nil {
			return f, aq, err
		}
		aq.VendorID, aq.VendorSlug = v.ID, v.Slug
	}
	var err error
	if aq.Since, _, err = parseWhen(f.From); err != nil {
		return f, aq, web.FieldError("from", "Give the start as a date, 2025-01-31, or a date and time, 2025-01-31T14:00 (UTC).")
	}
	var dateOnly bool
	if aq.Until, dateOnly, err = parseWhen(f.To); err != nil {
		return f, aq, web.FieldError("to", "Give the end as a date, 2025-01-31, or a date and time, 2025-01-31T14:00 (UTC).")
	}
	if dateOnly {
		aq.Until = aq.Until.AddDate(0, 0, 1) // the whole day
	}
	if !aq.Since.IsZero() && !aq.Until.IsZero() && !aq.Since.Before(aq.Until) {
		return f, aq, web.FieldError("to", "The end of the time range must come after its start.")
	}
	return f, aq, nil
}

// parseWhen reads "", a date or a date and time (UTC).
func parseWhen(s string) (time.Time, bool, error) {
	if s == "" {
		return time.Time{}, false, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), false, nil
		}
	}
	return time.Time{}, false, errors.New("not a time")
}

// GET /admin/audit?admin=&action=&vendor=&from=&to=&page=
func (h *Handler) auditList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, aq, err := h.parseAuditForm(r)
	var fe *web.Error
	if errors.As(err, &fe) && fe.Status == http.StatusUnprocessableEntity {
		return h.renderAudit(w, r, http.StatusUnprocessableEntity, f, nil, 0, 1, map[string]string{fe.Field: fe.Message})
	}
	if err != nil {
		return err
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	entries, total, err := h.store.AuditPage(ctx, aq, page, auditPerPage)
	if err != nil {
		return err
	}
	return h.renderAudit(w, r, http.StatusOK, f, entries, total, page, nil)
}

func (h *Handler) renderAudit(w http.ResponseWriter, r *http.Request, status int, f auditForm, entries []platform.AuditRow,
	total, page int, errs map[string]string) error {
	ctx := r.Context()
	list, err := h.admins.List(ctx)
	if err != nil {
		return err
	}
	actions, err := h.store.AuditActions(ctx)
	if err != nil {
		return err
	}
	link := func(p int) string {
		v := f.values()
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return "/admin/audit"
		}
		return "/admin/audit?" + v.Encode()
	}
	csv := "/admin/audit.csv"
	if v := f.values(); len(v) > 0 {
		csv += "?" + v.Encode()
	}
	values, err := h.store.SettingValues(ctx)
	if err != nil {
		return err
	}
	data := map[string]any{"Title": "Audit log", "Nav": "audit", "Entries": entries, "Filter": f, "Filtered": f.Filtered(),
		"Admins": list, "Actions": actions, "Total": total, "Page": page, "Pages": pages(total, auditPerPage),
		"CSVURL": csv, "Errors": errs, "RetentionDays": platform.SettingInt(values, "audit.retention_days")}
	if errs == nil {
		data["Errors"] = map[string]string{}
	}
	if page > 1 {
		data["PrevURL"] = link(page - 1)
	}
	if page*auditPerPage < total {
		data["NextURL"] = link(page + 1)
	}
	return h.render(w, r, status, "audit_list", data)
}
