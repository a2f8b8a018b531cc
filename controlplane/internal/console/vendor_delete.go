package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/vendors/{slug}/delete
//
// The slug must be typed to confirm, whether the data goes after the grace
// period or now.
func (h *Handler) vendorDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	confirm := strings.TrimSpace(r.PostForm.Get("confirm"))
	now := r.PostForm.Get("now") != ""
	if confirm != v.Slug {
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
			map[string]string{"confirm": "Type the vendor's slug, " + v.Slug + ", to confirm the deletion."},
			vendorAction{Confirm: confirm, Now: now})
	}
	// A final backup first; if it fails, nothing is deleted.
	d, final, err := h.backups.DeleteVendor(ctx, actor(r), h.prov, v.Slug, now)
	if err != nil {
		if isStateError(err) {
			return h.afterStateError(w, r, v.Slug, err)
		}
		if now {
			// The vendor is marked deleting; the purge failed and its page
			// shows the error. Reconcile retries it.
			h.log.Error("vendor purge failed", "vendor", v.Slug, "err", err)
			h.flashError(ctx, "Vendor %s is marked for deletion, but removing its data failed: %v. Reconcile will retry.", v.Slug, err)
			return redirect(w, r, "/admin/vendors/"+url.PathEscape(v.Slug))
		}
		return err
	}
	backed := ""
	if final != nil {
		backed = fmt.Sprintf(" A final backup (%d) was taken first.", final.ID)
	}
	if d.State == platform.StateDeleted {
		h.flashOK(ctx, "Vendor %s is deleted: its database, role and bucket are gone.%s", d.Slug, backed)
		return redirect(w, r, "/admin/vendors")
	}
	when := "after the grace period"
	if d.DeleteAfter != nil {
		when = "on " + d.DeleteAfter.UTC().Format("2006-01-02 15:04 UTC")
	}
	h.flashOK(ctx, "Vendor %s is offline and will be deleted %s.%s", d.Slug, when, backed)
	return redirect(w, r, "/admin/vendors/"+url.PathEscape(d.Slug))
}
