package console

import (
	"net/http"
	"strings"

	"github.com/storefleet/storefleet/internal/platform"
)

// GET /admin/audit?action=&target_type=&target_id=
func (h *Handler) auditList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := platform.AuditFilter{
		Action:     strings.TrimSpace(q.Get("action")),
		TargetType: strings.TrimSpace(q.Get("target_type")),
		TargetID:   strings.TrimSpace(q.Get("target_id")),
		Limit:      200,
	}
	entries, err := h.store.RecentAudit(r.Context(), f)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "audit_list", map[string]any{
		"Title": "Audit log", "Nav": "audit", "Entries": entries, "Filter": f,
		"Filtered": f.Action != "" || f.TargetType != "" || f.TargetID != "",
	})
}
