package backoffice

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// GET /api/v1/vendor/customers
func (h *Handler) apiCustomerList(w http.ResponseWriter, r *http.Request) error {
	f, errs := parseCustomerFilter(r.URL.Query())
	if len(errs) > 0 {
		return apiFilterErrors(errs)
	}
	list, err := listCustomers(r.Context(), tenant.FromContext(r.Context()).Pool, f)
	if err != nil {
		return err
	}
	var next *int64
	if list.NextBefore != 0 {
		next = &list.NextBefore
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"customers": list.Rows, "next_before": next})
	return nil
}

// GET /api/v1/vendor/customers/{id}
func (h *Handler) apiCustomerGet(w http.ResponseWriter, r *http.Request) error {
	c, err := loadCustomer(r.Context(), tenant.FromContext(r.Context()).Pool, pathID(r, "id"))
	if err != nil {
		return err
	}
	addresses := c.Addresses
	if addresses == nil {
		addresses = []customerAddress{}
	}
	web.WriteJSON(w, http.StatusOK, struct {
		customerRow
		Addresses  []customerAddress `json:"addresses"`
		Orders     []orderRow        `json:"orders"`
		MoreOrders bool              `json:"more_orders"`
	}{c.customerRow, addresses, c.Orders, c.MoreOrders})
	return nil
}
