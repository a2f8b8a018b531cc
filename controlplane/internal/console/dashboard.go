package console

import (
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/internal/platform"
)

// dashboardAlerts is how many unresolved alerts the dashboard lists.
const dashboardAlerts = 5

// provisioningStates are the steps before active.
var provisioningStates = []platform.State{platform.StateRequested, platform.StateDatabaseReady,
	platform.StateBucketReady, platform.StateSchemaReady}

// GET /admin/
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	counts, err := h.store.CountVendors(ctx)
	if err != nil {
		return err
	}
	provisioning := 0
	for _, s := range provisioningStates {
		provisioning += counts[s]
	}
	live := provisioning + counts[platform.StateActive] + counts[platform.StateSuspended] + counts[platform.StateDeleting]
	stuck, err := h.store.ListVendors(ctx, platform.VendorFilter{States: provisioningStates, Limit: 10})
	if err != nil {
		return err
	}
	recent, err := h.store.RecentAudit(ctx, platform.AuditFilter{Limit: 12})
	if err != nil {
		return err
	}
	newest, err := h.store.ListVendors(ctx, platform.VendorFilter{Limit: 5})
	if err != nil {
		return err
	}
	open, err := alerts.List(ctx, h.store, alerts.Filter{States: alerts.Unresolved, Limit: dashboardAlerts})
	if err != nil {
		return err
	}
	health, err := h.backups.Health(ctx)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "dashboard", map[string]any{
		"Title": "Dashboard", "Nav": "dashboard",
		"Live": live, "Active": counts[platform.StateActive], "Suspended": counts[platform.StateSuspended],
		"Provisioning": provisioning, "Deleting": counts[platform.StateDeleting], "Deleted": counts[platform.StateDeleted],
		"Stuck": stuck, "Recent": recent, "Newest": newest, "OpenAlerts": open, "Health": health,
	})
}
