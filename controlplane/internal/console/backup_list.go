package console

import (
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
)

// latestShown is how many backups across vendors the backups page lists.
const latestShown = 50

// GET /admin/backups
//
// The platform's backup health: vendors by the age of their newest
// completed backup, failures of the last 7 days, verification results,
// the operations running now, the unresolved alerts and the newest
// backups across vendors.
func (h *Handler) backupList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	health, err := h.backups.Health(ctx)
	if err != nil {
		return err
	}
	latest, err := h.backups.List(ctx, 0, latestShown)
	if err != nil {
		return err
	}
	open, err := alerts.List(ctx, h.store, alerts.Filter{States: alerts.Unresolved, Limit: 100})
	if err != nil {
		return err
	}
	resolved, err := alerts.List(ctx, h.store, alerts.Filter{States: []string{alerts.StateResolved}, Limit: 10})
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "backup_list", map[string]any{
		"Title": "Backups", "Nav": "backups", "Health": health, "Latest": latest, "MoreLatest": len(latest) == latestShown,
		"OpenAlerts": open, "ResolvedAlerts": resolved, "Running": h.backups.Ops().Running(),
	})
}
