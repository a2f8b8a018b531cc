package backoffice

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type customerRowView struct {
	ID               int64
	URL, Email, Name string
	CreatedAt        time.Time
	LastLogin        *time.Time
	OrderCount       int64
	Spent            string
}

type customerListPage struct {
	page
	Filter   customerFilter
	Errors   map[string]string
	Rows     []customerRowView
	OlderURL string
	FirstURL string
}

// GET /admin/customers: the shop's customer accounts, newest first, found
// by e-mail or name, with each one's order count and what they spent.
func (h *Handler) customerList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	f, errs := parseCustomerFilter(r.URL.Query())
	f.Limit = orderPageSize
	p := &customerListPage{page: h.page(r, "Customers"), Filter: f, Errors: errs}
	if len(errs) > 0 {
		return h.templates.Render(w, http.StatusUnprocessableEntity, "admin_customers", p)
	}
	list, err := listCustomers(ctx, t.Pool, f)
	if err != nil {
		return err
	}
	for _, c := range list.Rows {
		p.Rows = append(p.Rows, customerRowView{ID: c.ID, URL: fmt.Sprintf("%s/admin/customers/%d", t.Base, c.ID), Email: c.Email,
			Name: c.Name, CreatedAt: c.CreatedAt, LastLogin: c.LastLogin, OrderCount: c.OrderCount, Spent: spentText(c.Spent)})
	}
	link := func(before int64) string {
		v := url.Values{}
		if f.Q != "" {
			v.Set("q", f.Q)
		}
		if before != 0 {
			v.Set("before", strconv.FormatInt(before, 10))
		}
		if len(v) == 0 {
			return t.Base + "/admin/customers"
		}
		return t.Base + "/admin/customers?" + v.Encode()
	}
	if list.NextBefore != 0 {
		p.OlderURL = link(list.NextBefore)
	}
	if f.Before != 0 {
		p.FirstURL = link(0)
	}
	return h.templates.Render(w, http.StatusOK, "admin_customers", p)
}

// addressView is a saved address as the lines of a label.
type addressView struct {
	Lines   []string
	Default bool
}

type customerShowPage struct {
	page
	C         *customerDetail
	Spent     string
	Addresses []addressView
	Orders    []orderRowView
	OrdersURL string // the order list, searched for the customer's e-mail
	CanOrders bool
}

// GET /admin/customers/{id}: a customer's profile, addresses and orders.
func (h *Handler) customerShow(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	c, err := loadCustomer(ctx, t.Pool, pathID(r, "id"))
	if err != nil {
		return err
	}
	title := c.Email
	if c.Name != "" {
		title = c.Name
	}
	p := &customerShowPage{page: h.page(r, title), C: c, Spent: spentText(c.Spent), Orders: orderRowsView(t.Base, c.Orders),
		CanOrders: Current(ctx).Can("orders.read"), OrdersURL: t.Base + "/admin/orders?" + url.Values{"q": {c.Email}}.Encode()}
	for _, a := range c.Addresses {
		p.Addresses = append(p.Addresses, addressView{Lines: a.Lines(), Default: a.IsDefault})
	}
	return h.templates.Render(w, http.StatusOK, "admin_customer", p)
}
