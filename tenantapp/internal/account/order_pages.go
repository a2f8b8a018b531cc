package account

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// errNoOrder is the answer for an order id that is not one of the
// signed-in customer's, whether it exists or not.
var errNoOrder = &web.Error{Status: http.StatusNotFound, Message: "There is no such order in your account."}

// pageNumber reads ?page= (from 1, at most 10000).
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, 10000)
}

type orderListPage struct {
	page
	Orders             []OrderSummary
	Page               int
	PrevPage, NextPage int // 0: none
}

// GET /account/orders[?page=n]: the customer's orders, newest first.
func (h *Handler) orderList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	n := pageNumber(r)
	orders, more, err := listOrders(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, n, OrdersPerPage)
	if err != nil {
		return err
	}
	p, err := h.page(r, "Your orders", "orders")
	if err != nil {
		return err
	}
	lp := orderListPage{page: p, Orders: orders, Page: n}
	if n > 1 {
		lp.PrevPage = n - 1
	}
	if more {
		lp.NextPage = n + 1
	}
	return h.render(w, http.StatusOK, "account_orders", lp)
}

type orderPage struct {
	page
	Order *Order
}

// GET /account/orders/{id}
func (h *Handler) orderShow(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	o, err := getOrder(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, pathID(r))
	if errors.Is(err, errNotFound) {
		return errNoOrder
	}
	if err != nil {
		return err
	}
	p, err := h.page(r, "Order "+strconv.FormatInt(o.ID, 10), "orders")
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "account_order", orderPage{page: p, Order: o})
}

type dashboardPage struct {
	page
	Account        *Customer
	Orders         []OrderSummary
	MoreOrders     bool
	DefaultAddress *Address
	Addresses      int
}

// GET /account: a greeting, the latest orders, the default address.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	c, err := currentAccount(ctx)
	if err != nil {
		return err
	}
	d := dashboardPage{Account: c}
	if d.Orders, d.MoreOrders, err = listOrders(ctx, t.Pool, c.ID, 1, 3); err != nil {
		return err
	}
	if d.DefaultAddress, err = DefaultAddress(ctx, t.Pool, c.ID); err != nil {
		return err
	}
	if err := t.Pool.QueryRow(ctx, `SELECT count(*) FROM customer_addresses WHERE customer_id = $1`, c.ID).Scan(&d.Addresses); err != nil {
		return err
	}
	if d.page, err = h.page(r, "Your account", "overview"); err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "account_dashboard", d)
}
