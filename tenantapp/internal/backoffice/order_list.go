package backoffice

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// statusClass is the badge class of an order status.
func statusClass(s string) string {
	switch s {
	case orders.StatusPending:
		return "warn"
	case orders.StatusPaid, orders.StatusFulfilled:
		return "info"
	case orders.StatusShipped:
		return "active"
	case orders.StatusDelivered:
		return "ok"
	case orders.StatusCancelled:
		return "bad"
	}
	return ""
}

// paymentClass is the badge class of a payment status.
func paymentClass(s string) string {
	switch s {
	case orders.PaymentPaid:
		return "ok"
	case orders.PaymentFailed, orders.PaymentDisputed:
		return "bad"
	case orders.PaymentPartiallyRefunded, orders.PaymentRefunded:
		return "warn"
	}
	return ""
}

// label is a status as people read it.
func label(s string) string {
	switch s {
	case orders.PaymentPartiallyRefunded:
		return "partially refunded"
	case "":
		return ""
	}
	return s
}

// orderRowView is a row of an order list.
type orderRowView struct {
	ID                    int64
	URL                   string
	CreatedAt             time.Time
	Customer, Email       string
	Status, StatusClass   string
	Payment, PaymentClass string
	Total, Refunded       string
	Items                 int64
}

func orderRowsView(base string, rows []orderRow) []orderRowView {
	out := make([]orderRowView, len(rows))
	for i, r := range rows {
		out[i] = orderRowView{ID: r.ID, URL: fmt.Sprintf("%s/admin/orders/%d", base, r.ID), CreatedAt: r.CreatedAt,
			Customer: r.CustomerName, Email: r.Email, Status: r.Status, StatusClass: statusClass(r.Status),
			Payment: label(r.PaymentStatus), PaymentClass: paymentClass(r.PaymentStatus), Total: money.Format(r.Total, r.Currency),
			Items: r.Items}
		if r.Refunded > 0 {
			out[i].Refunded = money.Format(r.Refunded, r.Currency)
		}
	}
	return out
}

// statusTab is a link to the list of one status, with its count.
type statusTab struct {
	Label, URL string
	Count      int64
	Current    bool
}

type orderListPage struct {
	page
	Filter         orderFilter
	Errors         map[string]string
	Rows           []orderRowView
	Tabs           []statusTab
	PaymentOptions []catalogOption
	OlderURL       string
	FirstURL       string
	Filtered       bool
}

// values is the filter as a query string (without the cursor).
func (f orderFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"status": f.Status, "payment": f.Payment, "from": f.From, "to": f.To, "q": f.Q} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// GET /admin/orders: the shop's orders, newest first, by status (with a
// count of each), payment status, dates and text, 50 at a time.
func (h *Handler) orderList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	f, errs := parseOrderFilter(r.URL.Query(), "payment")
	f.Limit = orderPageSize
	p := &orderListPage{page: h.page(r, "Orders"), Filter: f, Errors: errs,
		Filtered: f.Payment != "" || f.From != "" || f.To != "" || f.Q != ""}
	p.PaymentOptions = []catalogOption{{"", "Any payment"}}
	for _, s := range paymentStatuses {
		p.PaymentOptions = append(p.PaymentOptions, catalogOption{s, label(s)})
	}
	listURL := func(v url.Values) string {
		if len(v) == 0 {
			return t.Base + "/admin/orders"
		}
		return t.Base + "/admin/orders?" + v.Encode()
	}
	if len(errs) > 0 {
		return h.templates.Render(w, http.StatusUnprocessableEntity, "admin_orders", p)
	}
	list, err := listOrders(ctx, t.Pool, f)
	if err != nil {
		return err
	}
	p.Rows = orderRowsView(t.Base, list.Rows)
	var all int64
	for _, n := range list.Counts {
		all += n
	}
	tab := f
	tab.Status = ""
	p.Tabs = append(p.Tabs, statusTab{Label: "All", URL: listURL(tab.values()), Count: all, Current: f.Status == ""})
	for _, s := range orderStatuses {
		tab.Status = s
		p.Tabs = append(p.Tabs, statusTab{Label: s, URL: listURL(tab.values()), Count: list.Counts[s], Current: f.Status == s})
	}
	if list.NextBefore != 0 {
		v := f.values()
		v.Set("before", strconv.FormatInt(list.NextBefore, 10))
		p.OlderURL = listURL(v)
	}
	if f.Before != 0 {
		p.FirstURL = listURL(f.values())
	}
	return h.templates.Render(w, http.StatusOK, "admin_orders", p)
}
