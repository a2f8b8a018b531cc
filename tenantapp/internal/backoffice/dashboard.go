package backoffice

import (
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type dashboardPage struct {
	page
	Products, Active int
	Sales            []salesPeriod
	SalesTracked     bool
	LowStock         []catalog.LowStockItem
	Activity         []auditRow
	ActivityEveryone bool
}

// GET /admin/: the shop at a glance: products, sales for today, 7 and 30
// days, low stock and recent activity.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	var d dashboardPage
	d.page = h.page(r, "Dashboard")
	err := t.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM products`).Scan(&d.Products, &d.Active)
	if err != nil {
		return fmt.Errorf("count products: %w", err)
	}
	if d.Sales, d.SalesTracked, err = salesSummary(ctx, t.Pool); err != nil {
		return err
	}
	if d.LowStock, err = catalog.LowStock(ctx, t.Pool, 10); err != nil {
		return err
	}
	m := Current(ctx)
	d.ActivityEveryone = m.Can("audit.read")
	if d.Activity, err = recentActivity(ctx, t.Pool, m.ID, d.ActivityEveryone, 8); err != nil {
		return err
	}
	return h.templates.Render(w, http.StatusOK, "admin_dashboard", d)
}
