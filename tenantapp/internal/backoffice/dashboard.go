package backoffice

import (
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type dashboardPage struct {
	page
	Products, Active int
}

// GET /admin/: the shop at a glance.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	var d dashboardPage
	d.page = h.page(r, "Dashboard")
	err := t.Pool.QueryRow(r.Context(), `SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM products`).Scan(&d.Products, &d.Active)
	if err != nil {
		return fmt.Errorf("count products: %w", err)
	}
	return h.templates.Render(w, http.StatusOK, "admin_dashboard", d)
}
