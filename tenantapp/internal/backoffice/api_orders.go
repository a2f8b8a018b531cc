package backoffice

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// apiOrderRoutes declares the vendor API's orders and customers: the
// back office's order list and page, status changes, shipments, refunds
// and notes, and the customers (read-only), with the same permissions.
func (h *Handler) apiOrderRoutes(authed *mux.Router) {
	get, post := http.MethodGet, http.MethodPost
	authed.Handle("/orders", h.can("orders.read", h.apiOrderList)).Methods(get)
	authed.Handle("/orders/{id:[0-9]+}", h.can("orders.read", h.apiOrderGet)).Methods(get)
	authed.Handle("/orders/{id:[0-9]+}/status", h.can("orders.write", h.apiOrderStatus)).Methods(post)
	authed.Handle("/orders/{id:[0-9]+}/shipments", h.can("orders.write", h.apiOrderShip)).Methods(post)
	authed.Handle("/orders/{id:[0-9]+}/refunds", h.can("orders.write", h.apiOrderRefund)).Methods(post)
	authed.Handle("/orders/{id:[0-9]+}/refunds/{refund_id}/retry", h.can("orders.write", h.apiOrderRefundRetry)).Methods(post)
	authed.Handle("/orders/{id:[0-9]+}/notes", h.can("orders.write", h.apiOrderNote)).Methods(post)
	authed.Handle("/customers", h.can("customers.read", h.apiCustomerList)).Methods(get)
	authed.Handle("/customers/{id:[0-9]+}", h.can("customers.read", h.apiCustomerGet)).Methods(get)
}

// apiOrderFields are the JSON names of the order forms' fields.
var apiOrderFields = map[string]string{"amount": "amount_minor", "note": "message"}

// apiOrderError gives a refused change the API's shape: a 422 names its
// property in field and fields; a refund Stripe did not take is a 502.
func apiOrderError(err error) error {
	var call *errRefundCall
	if errors.As(err, &call) {
		return call.webError()
	}
	var we *web.Error
	if !errors.As(err, &we) || we.Status != http.StatusUnprocessableEntity || we.Field == "" {
		return err
	}
	out := *we
	if n, ok := apiOrderFields[out.Field]; ok {
		out.Field = n
	}
	out.Extra = map[string]any{"fields": map[string]string{out.Field: out.Message}}
	out.Message = out.Field + ": " + out.Message
	return &out
}

// apiFilterErrors is the 422 of a list's invalid parameters.
func apiFilterErrors(errs map[string]string) error {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return &web.Error{Status: http.StatusUnprocessableEntity, Field: keys[0], Message: keys[0] + ": " + errs[keys[0]],
		Extra: map[string]any{"fields": errs}}
}

// apiOrder is an order in full.
type apiOrder struct {
	ID               int64          `json:"id"`
	Status           string         `json:"status"`
	PaymentStatus    string         `json:"payment_status"`
	StockState       string         `json:"stock_state"`
	AllowedStatuses  []string       `json:"allowed_statuses"`
	Email            string         `json:"email"`
	CustomerID       *int64         `json:"customer_id"`
	CustomerName     string         `json:"customer_name"`
	Currency         string         `json:"currency"`
	SubtotalMinor    int64          `json:"subtotal_minor"`
	ShippingMinor    int64          `json:"shipping_minor"`
	TaxMinor         int64          `json:"tax_minor"`
	TaxRateBP        int            `json:"tax_rate_bp"`
	TaxLabel         string         `json:"tax_label"`
	PricesIncludeTax bool           `json:"prices_include_tax"`
	TotalMinor       int64          `json:"total_minor"`
	RefundedMinor    int64          `json:"refunded_minor"`
	ShippingMethod   string         `json:"shipping_method"`
	ShippingAddress  map[string]any `json:"shipping_address"`
	BillingAddress   map[string]any `json:"billing_address"`
	PaymentIntentID  *string        `json:"payment_intent_id"`
	StripeAccountID  *string        `json:"stripe_account_id"`
	ApplicationFee   int64          `json:"application_fee_minor"`
	Carrier          string         `json:"carrier"`
	TrackingNumber   string         `json:"tracking_number"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
	PaidAt           *time.Time     `json:"paid_at"`
	ShippedAt        *time.Time     `json:"shipped_at"`
	CancelledAt      *time.Time     `json:"cancelled_at"`
	Lines            []orderLine    `json:"lines"`
	Events           []orderEvent   `json:"events"`
	Refunds          []refundRow    `json:"refunds"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func orderJSON(o *orderDetail) apiOrder {
	name := o.CustomerName
	if name == "" {
		name, _ = o.ShippingAddress["name"].(string)
	}
	return apiOrder{ID: o.ID, Status: o.Status, PaymentStatus: o.PaymentStatus, StockState: o.StockState,
		AllowedStatuses: allowedNext(o.Status), Email: o.Email, CustomerID: o.CustomerID, CustomerName: name, Currency: o.Currency,
		SubtotalMinor: o.Subtotal, ShippingMinor: o.Shipping, TaxMinor: o.Tax, TaxRateBP: o.TaxRateBP, TaxLabel: o.TaxLabel,
		PricesIncludeTax: o.PricesIncludeTax, TotalMinor: o.Total, RefundedMinor: o.Refunded, ShippingMethod: o.ShippingMethod,
		ShippingAddress: o.ShippingAddress, BillingAddress: o.BillingAddress, PaymentIntentID: nullString(o.IntentID),
		StripeAccountID: nullString(o.StripeAccount), ApplicationFee: o.Fee, Carrier: o.Carrier, TrackingNumber: o.Tracking,
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(), PaidAt: utcPtr(o.PaidAt), ShippedAt: utcPtr(o.ShippedAt),
		CancelledAt: utcPtr(o.CancelledAt), Lines: o.Lines, Events: o.Events, Refunds: o.Refunds}
}

// writeOrder answers with an order in full, read again.
func writeOrder(w http.ResponseWriter, r *http.Request, status int, id int64) error {
	o, err := loadOrder(r.Context(), tenant.FromContext(r.Context()).Pool, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, status, orderJSON(o))
	return nil
}

// GET /api/v1/vendor/orders
func (h *Handler) apiOrderList(w http.ResponseWriter, r *http.Request) error {
	f, errs := parseOrderFilter(r.URL.Query(), "payment_status")
	if len(errs) > 0 {
		return apiFilterErrors(errs)
	}
	list, err := listOrders(r.Context(), tenant.FromContext(r.Context()).Pool, f)
	if err != nil {
		return err
	}
	counts := map[string]int64{}
	for _, s := range orderStatuses {
		counts[s] = list.Counts[s]
	}
	var next *int64
	if list.NextBefore != 0 {
		next = &list.NextBefore
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"orders": list.Rows, "counts": counts, "next_before": next})
	return nil
}

// GET /api/v1/vendor/orders/{id}
func (h *Handler) apiOrderGet(w http.ResponseWriter, r *http.Request) error {
	return writeOrder(w, r, http.StatusOK, pathID(r, "id"))
}

// POST /api/v1/vendor/orders/{id}/status
func (h *Handler) apiOrderStatus(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Status     string  `json:"status"`
		Reason     string  `json:"reason"`
		Restock    *bool   `json:"restock"`
		RequestKey *string `json:"request_key"`
	}
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id := pathID(r, "id")
	c := statusChange{To: in.Status, Reason: strings.TrimSpace(in.Reason), Restock: in.Restock == nil || *in.Restock}
	if in.RequestKey != nil {
		if !refundToken.MatchString(*in.RequestKey) {
			return apiOrderError(web.FieldError("request_key", "Use 16 to 64 letters, digits, - or _."))
		}
		c.Token = *in.RequestKey
	}
	refundID, err := h.changeStatus(ctx, t, id, c, apiActor(r))
	if err != nil {
		return apiOrderError(err)
	}
	if refundID != 0 {
		if err := h.sendRefund(ctx, t, id, refundID, Current(ctx).ID); err != nil {
			return apiOrderError(err)
		}
	}
	return writeOrder(w, r, http.StatusOK, id)
}

// POST /api/v1/vendor/orders/{id}/shipments
func (h *Handler) apiOrderShip(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Carrier        string `json:"carrier"`
		TrackingNumber string `json:"tracking_number"`
	}
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	id := pathID(r, "id")
	if err := h.ship(ctx, tenant.FromContext(ctx), id, shipment{Carrier: in.Carrier, Tracking: in.TrackingNumber}, apiActor(r)); err != nil {
		return apiOrderError(err)
	}
	return writeOrder(w, r, http.StatusOK, id)
}

// writeRefund answers with a refund and its order.
func writeRefund(w http.ResponseWriter, r *http.Request, status int, orderID, refundID int64) error {
	o, err := loadOrder(r.Context(), tenant.FromContext(r.Context()).Pool, orderID)
	if err != nil {
		return err
	}
	for _, rf := range o.Refunds {
		if rf.ID == refundID {
			web.WriteJSON(w, status, map[string]any{"refund": rf, "order": orderJSON(o)})
			return nil
		}
	}
	return errNoRefund
}

// POST /api/v1/vendor/orders/{id}/refunds
func (h *Handler) apiOrderRefund(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		AmountMinor *int64 `json:"amount_minor"`
		Reason      string `json:"reason"`
		Restock     []struct {
			LineID   int64 `json:"line_id"`
			Quantity int64 `json:"quantity"`
		} `json:"restock"`
		RequestKey string `json:"request_key"`
	}
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id := pathID(r, "id")
	if in.AmountMinor == nil {
		return apiOrderError(web.FieldError("amount", "Give the amount to refund, in minor units."))
	}
	ri := refundInput{Amount: *in.AmountMinor, Reason: strings.TrimSpace(in.Reason), Token: in.RequestKey, Restock: map[int64]int64{}}
	if ri.Token == "" {
		ri.Token = r.Header.Get("Idempotency-Key")
	}
	for _, l := range in.Restock {
		ri.Restock[l.LineID] += l.Quantity
	}
	refundID, fresh, err := h.requestRefund(ctx, t, id, ri, apiActor(r))
	if err != nil {
		return apiOrderError(err)
	}
	if err := h.sendRefund(ctx, t, id, refundID, Current(ctx).ID); err != nil {
		return apiOrderError(err)
	}
	status := http.StatusCreated
	if !fresh {
		status = http.StatusOK
	}
	return writeRefund(w, r, status, id, refundID)
}

// POST /api/v1/vendor/orders/{id}/refunds/{refund}/retry
func (h *Handler) apiOrderRefundRetry(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, refundID := pathID(r, "id"), pathID(r, "refund_id")
	if err := h.retryRefund(ctx, tenant.FromContext(ctx), id, refundID, apiActor(r)); err != nil {
		return apiOrderError(err)
	}
	return writeRefund(w, r, http.StatusOK, id, refundID)
}

// POST /api/v1/vendor/orders/{id}/notes
func (h *Handler) apiOrderNote(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Message string `json:"message"`
	}
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ctx := r.Context()
	id := pathID(r, "id")
	eventID, err := addNote(ctx, tenant.FromContext(ctx), id, in.Message, apiActor(r))
	if err != nil {
		return apiOrderError(err)
	}
	o, err := loadOrder(ctx, tenant.FromContext(ctx).Pool, id)
	if err != nil {
		return err
	}
	for _, e := range o.Events {
		if e.ID == eventID {
			web.WriteJSON(w, http.StatusCreated, e)
			return nil
		}
	}
	return errNoOrder
}
