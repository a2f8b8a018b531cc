package console

import (
	"net/http"
	"strconv"

	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/notifications/read
//
// Marks the notifications named in "id" fields read, or every one if
// "all" is set; read marks are the admin's own.
func (h *Handler) notificationRead(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var ids []int64
	for _, s := range r.PostForm["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 && r.PostForm.Get("all") == "" {
		h.flashError(ctx, "Choose the notifications to mark as read.")
		return redirect(w, r, backTo(r, "/admin/notifications"))
	}
	n, err := h.store.MarkNoticesRead(ctx, adminFrom(ctx).ID, ids)
	if err != nil {
		return err
	}
	if err := h.audit(ctx, actor(r), platform.AuditEntry{Action: "notification.read", TargetType: "admin",
		TargetID: strconv.FormatInt(adminFrom(ctx).ID, 10), After: map[string]any{"ids": ids, "all": len(ids) == 0, "marked": n}}); err != nil {
		return err
	}
	if len(ids) == 0 {
		h.flashOK(ctx, "All notifications are marked as read (%d).", n)
	}
	return redirect(w, r, backTo(r, "/admin/notifications"))
}
