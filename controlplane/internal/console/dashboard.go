package console

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/stats"
)

// dashboardAlerts is how many unresolved alerts the dashboard lists.
const dashboardAlerts = 5

// Dashboard bounds: the days of sales figures, and the length of the top
// and largest vendor lists.
const (
	dashboardPeriod = 30
	dashboardTop    = 10
)

// stuckAfter is how long a vendor may sit in a provisioning step before
// the dashboard calls it stuck.
const stuckAfter = 10 * time.Minute

// provisioningStates are the steps before active.
var provisioningStates = []platform.State{platform.StateRequested, platform.StateDatabaseReady,
	platform.StateBucketReady, platform.StateSchemaReady}

// provisioningHealth is the dashboard's provisioning card.
type provisioningHealth struct {
	// Stuck counts vendors in a provisioning step for longer than
	// stuckAfter; Failing live vendors whose last step failed.
	Stuck, Failing int
	// StepErrors counts failed steps recorded in the last 7 days.
	StepErrors int
}

// GET /admin/
//
// Everything here comes from the control-plane database: vendor figures
// and sizes are those the stats roll-up stored (internal/stats), never a
// query of a vendor database, server or bucket.
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
	prov, err := h.provisioningHealth(ctx)
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
	schema, err := h.rollouts.Status(ctx)
	if err != nil {
		return err
	}
	sum, err := stats.Dashboard(ctx, h.store.Pool(), time.Now(), dashboardPeriod, dashboardTop)
	if err != nil {
		return err
	}
	attention := health.Attention
	if len(attention) > 8 {
		attention = attention[:8]
	}
	return h.render(w, r, http.StatusOK, "dashboard", map[string]any{
		"Title": "Dashboard", "Nav": "dashboard",
		"Live": live, "Active": counts[platform.StateActive], "Suspended": counts[platform.StateSuspended],
		"Provisioning": provisioning, "Deleting": counts[platform.StateDeleting], "Deleted": counts[platform.StateDeleted],
		"Stuck": stuck, "Prov": prov, "Recent": recent, "Newest": newest, "OpenAlerts": open, "Health": health,
		"Attention": attention, "Schema": schema, "Stats": sum,
	})
}

// provisioningHealth counts stuck vendors and failed steps.
func (h *Handler) provisioningHealth(ctx context.Context) (*provisioningHealth, error) {
	states := make([]string, len(provisioningStates))
	for i, s := range provisioningStates {
		states[i] = string(s)
	}
	var p provisioningHealth
	err := h.store.Pool().QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE state = ANY($1) AND state_changed_at < $2)::int,
			count(*) FILTER (WHERE last_error <> '' AND state NOT IN ('deleted'))::int,
			(SELECT count(*) FROM vendor_events WHERE error <> '' AND at >= $3)::int
		FROM vendors`, states, time.Now().Add(-stuckAfter), time.Now().Add(-7*24*time.Hour)).Scan(&p.Stuck, &p.Failing, &p.StepErrors)
	if err != nil {
		return nil, fmt.Errorf("read provisioning health: %w", err)
	}
	return &p, nil
}
