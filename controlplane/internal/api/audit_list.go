package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// GET /api/v1/audit?action=&target_type=&target_id=&limit=
func (h *Handler) auditList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := platform.AuditFilter{Action: q.Get("action"), TargetType: q.Get("target_type"), TargetID: q.Get("target_id"), Limit: 100}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return web.FieldError("limit", "limit must be a whole number from 1 to 500")
		}
		f.Limit = n
	}
	rows, err := h.store.RecentAudit(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]auditJSON, len(rows))
	for i, row := range rows {
		out[i] = auditJSON{AuditRow: row, Before: json.RawMessage(row.Before), After: json.RawMessage(row.After)}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}
