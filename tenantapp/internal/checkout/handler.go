package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/notify"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/account"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/shopper"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Platform is what checkout asks of the control plane (through the
// router role): the platform's commission, and running the vendor's mail
// work once a confirmation is queued.
type Platform interface {
	CommissionBP(ctx context.Context) (int, error)
	RequestWork(ctx context.Context, vendorID int64, kind string) error
}

// Options wire a Handler.
type Options struct {
	Templates *web.Templates
	Responder *web.Responder
	Sessions  *shopper.Sessions
	Stripe    *payments.Client // nil: payments are off
	// PublishableKey is given to Stripe.js on the payment page.
	PublishableKey string
	// TestPayments shows "Pay with Stripe's test card" instead of
	// Stripe's card form (development and tests).
	TestPayments bool
	// Emulated says Stripe is the stripe-mock emulator, which keeps no
	// state: a test payment it confirms is taken as succeeded.
	Emulated bool
	// PublicURL is the tenant app's public URL with {host}.
	PublicURL string
	Platform  Platform
	Logger    *slog.Logger
}

// Handler serves the cart, the checkout and the order pages.
type Handler struct{ o Options }

// New returns the checkout handler.
func New(o Options) *Handler { return &Handler{o: o} }

// Routes registers the pages and the shop API's cart, checkout and order
// routes on the shop's router.
func (h *Handler) Routes(r *mux.Router) {
	rs := h.o.Responder
	// the cart and checkout live in the shopper's session
	s := r.NewRoute().Subrouter()
	s.Use(h.o.Sessions.Middleware)
	s.Handle("/cart", rs.Wrap(h.cartPage)).Methods(http.MethodGet, http.MethodHead)
	s.Handle("/cart/lines", rs.Wrap(h.addLine)).Methods(http.MethodPost)
	s.Handle("/cart/lines/{product:[0-9]+}", rs.Wrap(h.setLine)).Methods(http.MethodPost)
	s.Handle("/checkout", rs.Wrap(h.checkoutPage)).Methods(http.MethodGet, http.MethodHead)
	s.Handle("/checkout", rs.Wrap(h.placeOrder)).Methods(http.MethodPost)
	s.Handle("/api/v1/shop/cart", rs.Wrap(h.apiCart)).Methods(http.MethodGet)
	s.Handle("/api/v1/shop/cart/lines", rs.Wrap(h.apiAddLine)).Methods(http.MethodPost)
	s.Handle("/api/v1/shop/cart/lines/{product:[0-9]+}", rs.Wrap(h.apiSetLine)).Methods(http.MethodPatch, http.MethodDelete)
	s.Handle("/api/v1/shop/checkout", rs.Wrap(h.apiCheckout)).Methods(http.MethodGet, http.MethodPost)

	// An order's pages are reached by the secret in their link, with or
	// without a session: a shopper who paid on another device, or whose
	// session ended, still sees their order.
	o := r.NewRoute().Subrouter()
	o.Use(http.NewCrossOriginProtection().Handler, noStore)
	o.Handle("/orders/{token:[A-Za-z0-9_-]+}", rs.Wrap(h.orderPage)).Methods(http.MethodGet, http.MethodHead)
	o.Handle("/orders/{token:[A-Za-z0-9_-]+}/pay", rs.Wrap(h.pay)).Methods(http.MethodPost)
	o.Handle("/orders/{token:[A-Za-z0-9_-]+}/complete", rs.Wrap(h.complete)).Methods(http.MethodGet)
	o.Handle("/api/v1/shop/orders/{token:[A-Za-z0-9_-]+}", rs.Wrap(h.apiOrder)).Methods(http.MethodGet)
	o.Handle("/api/v1/shop/orders/{token:[A-Za-z0-9_-]+}/pay", rs.Wrap(h.apiPay)).Methods(http.MethodPost)
	r.Handle("/api/v1/shop/shipping-methods", rs.Wrap(h.apiShippingMethods)).Methods(http.MethodGet)
}

func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// Merge is the shopper.MergeFunc that moves the anonymous cart into the
// customer's at sign-in.
func Merge(ctx context.Context, t *tenant.Tenant, anonCartID, customerID int64) (int64, error) {
	return MergeCarts(ctx, t.Pool, anonCartID, customerID)
}

// shopper is the session's customer id (0: anonymous) and cart id, with a
// cart that is not this customer's forgotten.
func (h *Handler) shopper(r *http.Request) (customerID, cartID int64, err error) {
	ctx := r.Context()
	c, err := h.o.Sessions.Customer(ctx)
	if err != nil {
		return 0, 0, err
	}
	if c != nil {
		customerID = c.ID
	}
	return customerID, h.o.Sessions.CartID(ctx), nil
}

// cartView is a cart as the pages show it.
type cartView struct {
	*Cart
	Lines    []lineView
	Subtotal string
	Count    int
}

type lineView struct {
	Line
	Unit, Regular, Total string
	OnSale               bool
	Image                string
	URL                  string
	Problem              string
}

func viewCart(t *tenant.Tenant, c *Cart) cartView {
	v := cartView{Cart: c, Subtotal: money.Format(c.Subtotal, c.Currency), Count: c.Count()}
	for _, l := range c.Lines {
		lv := lineView{Line: l, Unit: money.Format(l.UnitPrice, c.Currency), Regular: money.Format(l.RegularPrice, c.Currency),
			Total: money.Format(l.LineTotal, c.Currency), OnSale: l.UnitPrice < l.RegularPrice, Problem: l.Problem()}
		if l.MediaID != nil {
			lv.Image = media.URL(t.Base, *l.MediaID, "200")
		}
		if l.Handle != "" {
			lv.URL = t.Base + "/products/" + l.Handle
		}
		v.Lines = append(v.Lines, lv)
	}
	return v
}

type cartPage struct {
	storefront.Page
	Title string
	Flash string
	Error string
	Cart  cartView
}

func (h *Handler) cartPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	_, cartID, err := h.shopper(r)
	if err != nil {
		return err
	}
	h.releaseExpired(ctx, t) // what others left unpaid is back on sale
	c, err := LoadCart(ctx, t.Pool, cartID)
	if err != nil {
		return err
	}
	p, _, err := storefront.LoadPage(ctx, t)
	if err != nil {
		return err
	}
	return h.o.Templates.Render(w, http.StatusOK, "cart", cartPage{Page: p, Title: "Your cart",
		Flash: h.o.Sessions.PopFlash(ctx), Cart: viewCart(t, c)})
}

// formInt reads a whole number from a form field, with a field error.
func formInt(r *http.Request, field string, def int64) (int64, error) {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, web.FieldError(field, fmt.Sprintf("%s must be a whole number.", field))
	}
	return n, nil
}

// addLine serves POST /cart/lines (product_id, quantity) from a product
// page.
func (h *Handler) addLine(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	productID, err := formInt(r, "product_id", 0)
	if err != nil {
		return err
	}
	qty, err := formInt(r, "quantity", 1)
	if err != nil {
		return err
	}
	customerID, cartID, err := h.shopper(r)
	if err != nil {
		return err
	}
	newID, err := AddToCart(ctx, t.Pool, cartID, customerID, productID, int(min(max(qty, -1), MaxQuantity+1)))
	if err != nil {
		return err
	}
	if newID != cartID {
		h.o.Sessions.SetCartID(ctx, newID)
	}
	h.o.Sessions.Flash(ctx, "Added to your cart.")
	http.Redirect(w, r, t.Base+"/cart", http.StatusSeeOther)
	return nil
}

// setLine serves POST /cart/lines/{product} (quantity; 0 or "remove"
// removes the line).
func (h *Handler) setLine(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	productID, _ := strconv.ParseInt(mux.Vars(r)["product"], 10, 64)
	qty, err := formInt(r, "quantity", 0)
	if err != nil {
		return err
	}
	if r.PostFormValue("remove") != "" {
		qty = 0
	}
	_, cartID, err := h.shopper(r)
	if err != nil {
		return err
	}
	if cartID == 0 {
		return &web.Error{Status: http.StatusNotFound, Message: "This product is not in your cart."}
	}
	if err := SetQuantity(ctx, t.Pool, cartID, productID, int(min(max(qty, -1), MaxQuantity+1))); err != nil {
		return err
	}
	if qty == 0 {
		h.o.Sessions.Flash(ctx, "Removed from your cart.")
	} else {
		h.o.Sessions.Flash(ctx, "Cart updated.")
	}
	http.Redirect(w, r, t.Base+"/cart", http.StatusSeeOther)
	return nil
}

// paymentsReady says why the shop cannot take payments, or "".
func (h *Handler) paymentsReady(ctx context.Context, t *tenant.Tenant) (string, error) {
	if h.o.Stripe == nil {
		return "This shop cannot take orders right now: payments are not set up on the platform.", nil
	}
	var account *string
	var enabled bool
	if err := t.Pool.QueryRow(ctx, `SELECT stripe_account_id, stripe_charges_enabled FROM shop_profile`).Scan(&account, &enabled); err != nil {
		return "", fmt.Errorf("read the shop's payment account: %w", err)
	}
	if account == nil || !enabled {
		return "This shop cannot take orders yet: it has not finished setting up its payments.", nil
	}
	return "", nil
}

type checkoutPage struct {
	storefront.Page
	Title       string
	Cart        cartView
	Methods     []methodView
	Form        Details
	Key         string
	Countries   []account.Country
	Quote       quoteView
	Unavailable string
	Error       *web.Error
	SignedIn    bool
	// the form's fields, with their problems
	Contact, Address, Phone []fieldView
	CountryError            string
}

// fieldView is a text field of the checkout form.
type fieldView struct {
	Name, Label, Value, Type, Auto string
	Required, Half                 bool
	Invalid                        string
}

// fields lays out the checkout form's text fields with the problems the
// last attempt had.
func (p *checkoutPage) fields() {
	problems := map[string]string{}
	if p.Error != nil {
		if fs, ok := p.Error.Extra["fields"].(map[string]string); ok {
			problems = fs
		} else if p.Error.Field != "" {
			problems[p.Error.Field] = p.Error.Message
		}
	}
	a := p.Form.ShippingAddress
	f := func(field, name, label, value, typ, auto string, required, half bool) fieldView {
		return fieldView{Name: name, Label: label, Value: value, Type: typ, Auto: auto, Required: required, Half: half, Invalid: problems[field]}
	}
	p.Contact = []fieldView{f("email", "email", "E-mail", p.Form.Email, "email", "email", true, false)}
	p.Address = []fieldView{
		f("shipping_address.name", "name", "Full name", a.Name, "text", "name", true, false),
		f("shipping_address.line1", "line1", "Street and number", a.Line1, "text", "address-line1", true, false),
		f("shipping_address.line2", "line2", "Apartment, floor (optional)", a.Line2, "text", "address-line2", false, false),
		f("shipping_address.postal_code", "postal_code", "Postal code", a.PostalCode, "text", "postal-code", true, true),
		f("shipping_address.city", "city", "City", a.City, "text", "address-level2", true, true),
		f("shipping_address.region", "region", "Region (optional)", a.Region, "text", "address-level1", false, false),
	}
	p.Phone = []fieldView{f("shipping_address.phone", "phone", "Phone (optional, for the courier)", a.Phone, "tel", "tel", false, false)}
	p.CountryError = problems["shipping_address.country"]
}

type methodView struct {
	ShippingMethod
	Cost     string
	Checked  bool
	Where    string
	FreeNote string
}

type quoteView struct {
	Quote
	Subtotal, Shipping, Tax, Total string
	Rate                           string
}

func viewQuote(q Quote, cur string) quoteView {
	v := quoteView{Quote: q, Subtotal: money.Format(q.Subtotal, cur), Shipping: money.Format(q.Shipping, cur),
		Tax: money.Format(q.Tax, cur), Total: money.Format(q.Total, cur)}
	v.Rate = strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%d.%02d", q.TaxRateBP/100, q.TaxRateBP%100), "0"), ".0") + " %"
	return v
}

// checkoutForm renders the checkout page, with the shopper's details so
// far and an error, if any.
func (h *Handler) checkoutForm(w http.ResponseWriter, r *http.Request, status int, d Details, formErr *web.Error) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	customerID, cartID, err := h.shopper(r)
	if err != nil {
		return err
	}
	c, err := LoadCart(ctx, t.Pool, cartID)
	if err != nil {
		return err
	}
	if len(c.Lines) == 0 && formErr == nil {
		http.Redirect(w, r, t.Base+"/cart", http.StatusSeeOther)
		return nil
	}
	p, _, err := storefront.LoadPage(ctx, t)
	if err != nil {
		return err
	}
	methods, err := ShippingMethods(ctx, t.Pool)
	if err != nil {
		return err
	}
	tax, err := loadTax(ctx, t.Pool)
	if err != nil {
		return err
	}
	unavailable, err := h.paymentsReady(ctx, t)
	if err != nil {
		return err
	}
	if d.CheckoutKey == "" {
		d.CheckoutKey = NewCheckoutKey()
	}
	if d.ShippingMethodID == 0 && len(methods) > 0 {
		d.ShippingMethodID = methods[0].ID
	}
	page := checkoutPage{Page: p, Title: "Checkout", Cart: viewCart(t, c), Form: d, Countries: account.Countries,
		Unavailable: unavailable, Error: formErr, SignedIn: customerID != 0}
	chosen := ShippingMethod{}
	for _, m := range methods {
		mv := methodView{ShippingMethod: m, Cost: money.Format(m.Cost(c.Subtotal), c.Currency), Checked: m.ID == d.ShippingMethodID}
		if m.Cost(c.Subtotal) == 0 {
			mv.Cost = "Free"
		} else if m.FreeOver != nil {
			mv.FreeNote = "free from " + money.Format(*m.FreeOver, c.Currency)
		}
		if len(m.Countries) > 0 {
			mv.Where = "to " + strings.Join(m.Countries, ", ")
		}
		if mv.Checked {
			chosen = m
		}
		page.Methods = append(page.Methods, mv)
	}
	page.Quote = viewQuote(Price(c.Subtotal, chosen.Cost(c.Subtotal), tax), c.Currency)
	page.fields()
	return h.o.Templates.Render(w, status, "checkout", page)
}

// checkoutPage serves GET /checkout: the form, filled from the signed-in
// customer's default address.
func (h *Handler) checkoutPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	var d Details
	c, err := h.o.Sessions.Customer(ctx)
	if err != nil {
		return err
	}
	if c != nil {
		d.Email = c.Email
		if err := prefill(ctx, t, c.ID, &d); err != nil {
			return err
		}
	}
	return h.checkoutForm(w, r, http.StatusOK, d, nil)
}

// prefill fills the address from the customer's default address.
func prefill(ctx context.Context, t *tenant.Tenant, customerID int64, d *Details) error {
	a := &d.ShippingAddress
	err := t.Pool.QueryRow(ctx, `SELECT name, line1, line2, postal_code, city, region, country, phone
		FROM customer_addresses WHERE customer_id = $1 ORDER BY is_default DESC, id LIMIT 1`, customerID).
		Scan(&a.Name, &a.Line1, &a.Line2, &a.PostalCode, &a.City, &a.Region, &a.Country, &a.Phone)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read the customer's address: %w", err)
	}
	return nil
}

func detailsFromForm(r *http.Request) Details {
	f := r.PostFormValue
	id, _ := strconv.ParseInt(f("shipping_method_id"), 10, 64)
	return Details{CheckoutKey: f("checkout_key"), CartVersion: f("cart_version"), Email: f("email"), ShippingMethodID: id,
		ShippingAddress: orders.Address{Name: f("name"), Line1: f("line1"), Line2: f("line2"), PostalCode: f("postal_code"),
			City: f("city"), Region: f("region"), Country: f("country"), Phone: f("phone")}}
}

// placeOrder serves POST /checkout: the order is made, holding its stock,
// and the shopper goes on to pay. A form with problems comes back with
// them; a cart that changed, or a product that sold out, comes back as a
// 409 with the new cart.
func (h *Handler) placeOrder(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	d := detailsFromForm(r)
	placed, err := h.place(r, d)
	var we *web.Error
	if errors.As(err, &we) && we.Status < 500 {
		if we == ErrCartChanged || we.Status == http.StatusConflict {
			d.CheckoutKey = "" // a new review, a new key
		}
		return h.checkoutForm(w, r, we.Status, d, we)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, t.Base+"/orders/"+placed.Token, http.StatusSeeOther)
	return nil
}

// place places the session's cart, and makes the order's payment at
// Stripe. A payment that could not be made yet is made again when the
// order's page is opened.
func (h *Handler) place(r *http.Request, d Details) (*Placed, error) {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	if msg, err := h.paymentsReady(ctx, t); err != nil || msg != "" {
		if err != nil {
			return nil, err
		}
		return nil, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 300, Message: msg}
	}
	customerID, cartID, err := h.shopper(r)
	if err != nil {
		return nil, err
	}
	bp, err := h.o.Platform.CommissionBP(ctx)
	if err != nil {
		return nil, err
	}
	h.releaseExpired(ctx, t)
	p := &Placer{Pool: t.Pool, CommissionBP: bp}
	placed, err := p.Place(ctx, cartID, customerID, d)
	if err != nil {
		return nil, err
	}
	h.cancelIntents(ctx, t, placed.Replaced)
	if _, err := h.ensureIntent(ctx, t, placed.OrderID); err != nil {
		h.o.Logger.Warn("payment not made yet; the order's page tries again", "vendor", t.Entry.Slug, "order", placed.OrderID, "err", err)
	}
	return placed, nil
}

// releaseExpired gives back the stock of orders that were not paid in
// time, and cancels their payments at Stripe.
func (h *Handler) releaseExpired(ctx context.Context, t *tenant.Tenant) {
	expired, err := orders.ReleaseExpired(ctx, t.Pool, time.Now(), 20)
	if err != nil {
		h.o.Logger.Warn("cannot release expired reservations", "vendor", t.Entry.Slug, "err", err)
	}
	h.cancelIntents(ctx, t, expired)
}

// cancelIntents cancels at Stripe the PaymentIntents of orders that were
// cancelled before they were paid, in the background. Should one still be
// paid (the call failed, or the payment was under way), the payment
// arrives for a cancelled order and is refunded in full (orders.ApplyPaid).
func (h *Handler) cancelIntents(ctx context.Context, t *tenant.Tenant, cancelled []orders.Expired) {
	for _, e := range cancelled {
		if e.IntentID == "" {
			continue
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := h.o.Stripe.CancelPaymentIntent(ctx, e.Account, e.IntentID); err != nil {
				h.o.Logger.Warn("cannot cancel the payment of a cancelled order; a late payment will be refunded", "vendor", t.Entry.Slug, "order", e.OrderID, "err", err)
			}
		}()
	}
}

// ensureIntent makes the order's PaymentIntent at Stripe if it has none
// yet, and returns it. The call's idempotency key is the order's, so two
// requests at once make one intent; the first to store it wins.
func (h *Handler) ensureIntent(ctx context.Context, t *tenant.Tenant, orderID int64) (*payments.Intent, error) {
	var (
		intent, account *string
		total, fee      int64
		cur, email      string
		status          string
	)
	err := t.Pool.QueryRow(ctx, `SELECT payment_intent_id, stripe_account_id, total_minor, application_fee_minor, currency, email, status
		FROM orders WHERE id = $1`, orderID).Scan(&intent, &account, &total, &fee, &cur, &email, &status)
	if err != nil {
		return nil, fmt.Errorf("read order %d: %w", orderID, err)
	}
	if intent != nil {
		return &payments.Intent{ID: *intent, Amount: total, Currency: cur}, nil
	}
	if account == nil {
		return nil, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 300,
			Message: "This shop cannot take payments yet: it has not finished setting up its payments."}
	}
	if status != orders.StatusPending {
		return nil, &web.Error{Status: http.StatusConflict, Message: "This order cannot be paid any more."}
	}
	returnURL, err := tenant.AbsURL(h.o.PublicURL, t, "")
	if err != nil {
		return nil, err
	}
	pi, err := h.o.Stripe.CreatePaymentIntent(ctx, payments.Charge{VendorID: t.Entry.VendorID, OrderID: orderID, Account: *account,
		Amount: total, Currency: cur, Fee: fee, Email: email, ReturnURL: returnURL})
	if err != nil {
		return nil, err
	}
	tag, err := t.Pool.Exec(ctx, `UPDATE orders SET payment_intent_id = $2, updated_at = now() WHERE id = $1 AND payment_intent_id IS NULL`,
		orderID, pi.ID)
	if err != nil {
		return nil, fmt.Errorf("record the payment of order %d: %w", orderID, err)
	}
	if tag.RowsAffected() == 0 { // another request stored its intent first
		return h.ensureIntent(ctx, t, orderID)
	}
	return pi, nil
}

// confirm is the orders.Confirm that queues the order confirmation with
// links on the vendor's domain.
func (h *Handler) confirm(t *tenant.Tenant) orders.Confirm {
	return func(ctx context.Context, tx pgx.Tx, orderID int64) (int64, error) {
		base, err := tenant.AbsURL(h.o.PublicURL, t, "")
		if err != nil {
			return 0, err
		}
		return orders.QueueConfirmation(ctx, tx, orderID, base)
	}
}

// applyPaid records a payment the shopper's return (or a test payment)
// reported, then sends the confirmation and makes any refund the
// outcome asks for.
func (h *Handler) applyPaid(ctx context.Context, t *tenant.Tenant, p orders.Paid) error {
	out, err := orders.ApplyPaid(ctx, t.Pool, p, h.confirm(t))
	if err != nil {
		return err
	}
	if out.Confirmation != 0 && h.o.Platform != nil {
		if err := h.o.Platform.RequestWork(ctx, t.Entry.VendorID, notify.WorkKind); err != nil {
			h.o.Logger.Warn("cannot ask for the confirmation to be sent; the job system's sweep sends it", "vendor", t.Entry.Slug, "err", err)
		}
	}
	if out.Refund {
		id, status, err := h.o.Stripe.CreateRefund(ctx, payments.Refund{Account: out.Account, IntentID: p.IntentID, Amount: p.Amount,
			Key: out.RefundKey, ReverseFee: true})
		if err != nil {
			return err
		}
		if _, err := orders.ApplyRefund(ctx, t.Pool, orders.RefundNews{IntentID: p.IntentID, RefundID: id, Amount: p.Amount,
			Status: status, RequestKey: out.RefundKey}); err != nil {
			return err
		}
	}
	return nil
}
