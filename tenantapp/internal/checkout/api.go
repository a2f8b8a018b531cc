package checkout

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// decodeLenient reads a JSON body of at most 64 KiB. Unknown members are
// ignored, not refused: a client that sends a price or a total is not
// believed, and not failed either.
func decodeLenient(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" && !startsWith(ct, "application/json;") {
		return web.Errorf(http.StatusUnsupportedMediaType, "send the body as application/json (got %s)", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return web.Errorf(http.StatusRequestEntityTooLarge, "the request body is larger than 64 KiB")
		}
		return &web.Error{Status: http.StatusBadRequest, Message: "the request body is not valid JSON for this endpoint: " + err.Error()}
	}
	return nil
}

func startsWith(s, prefix string) bool { return len(s) >= len(prefix) && s[:len(prefix)] == prefix }

// apiCart serves GET /api/v1/shop/cart.
func (h *Handler) apiCart(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	_, cartID, err := h.shopper(r)
	if err != nil {
		return err
	}
	c, err := LoadCart(r.Context(), t.Pool, cartID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, c)
	return nil
}

// apiAddLine serves POST /api/v1/shop/cart/lines {product_id, quantity}.
func (h *Handler) apiAddLine(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	var in struct {
		ProductID int64 `json:"product_id"`
		Quantity  *int  `json:"quantity"`
	}
	if err := decodeLenient(w, r, &in); err != nil {
		return err
	}
	qty := 1
	if in.Quantity != nil {
		qty = *in.Quantity
	}
	customerID, cartID, err := h.shopper(r)
	if err != nil {
		return err
	}
	newID, err := AddToCart(ctx, t.Pool, cartID, customerID, in.ProductID, qty)
	if err != nil {
		return err
	}
	if newID != cartID {
		h.o.Sessions.SetCartID(ctx, newID)
	}
	c, err := LoadCart(ctx, t.Pool, newID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, c)
	return nil
}

// apiSetLine serves PATCH /api/v1/shop/cart/lines/{product} {quantity}
// and DELETE of the same.
func (h *Handler) apiSetLine(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	productID, _ := strconv.ParseInt(mux.Vars(r)["product"], 10, 64)
	qty := 0
	if r.Method == http.MethodPatch {
		var in struct {
			Quantity *int `json:"quantity"`
		}
		if err := decodeLenient(w, r, &in); err != nil {
			return err
		}
		if in.Quantity == nil {
			return web.FieldError("quantity", "Send the new quantity (0 removes the product).")
		}
		qty = *in.Quantity
	}
	_, cartID, err := h.shopper(r)
	if err != nil {
		return err
	}
	if cartID == 0 {
		return &web.Error{Status: http.StatusNotFound, Message: "This product is not in your cart."}
	}
	if err := SetQuantity(ctx, t.Pool, cartID, productID, qty); err != nil {
		return err
	}
	c, err := LoadCart(ctx, t.Pool, cartID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, c)
	return nil
}

// apiShippingMethods serves GET /api/v1/shop/shipping-methods.
func (h *Handler) apiShippingMethods(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	ms, err := ShippingMethods(r.Context(), t.Pool)
	if err != nil {
		return err
	}
	cur, err := shopCurrency(r.Context(), t.Pool)
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []ShippingMethod{}
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	web.WriteJSON(w, http.StatusOK, map[string]any{"currency": cur, "methods": ms})
	return nil
}

// checkoutQuote is GET /api/v1/shop/checkout: what the cart costs with a
// shipping method, and a checkout key and cart version to place it with.
type checkoutQuote struct {
	CheckoutKey string `json:"checkout_key"`
	Cart        *Cart  `json:"cart"`
	Quote       *Quote `json:"quote,omitempty"`
}

// apiCheckout serves GET /api/v1/shop/checkout?shipping_method_id= (a
// quote) and POST /api/v1/shop/checkout (place the order).
func (h *Handler) apiCheckout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	if r.Method == http.MethodGet {
		_, cartID, err := h.shopper(r)
		if err != nil {
			return err
		}
		c, err := LoadCart(ctx, t.Pool, cartID)
		if err != nil {
			return err
		}
		out := checkoutQuote{CheckoutKey: NewCheckoutKey(), Cart: c}
		if id, err := strconv.ParseInt(r.URL.Query().Get("shipping_method_id"), 10, 64); err == nil {
			ms, err := ShippingMethods(ctx, t.Pool)
			if err != nil {
				return err
			}
			tax, err := loadTax(ctx, t.Pool)
			if err != nil {
				return err
			}
			for _, m := range ms {
				if m.ID == id {
					q := Price(c.Subtotal, m.Cost(c.Subtotal), tax)
					out.Quote = &q
				}
			}
			if out.Quote == nil {
				return web.FieldError("shipping_method_id", "There is no such shipping method in this shop.")
			}
		}
		web.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	var d Details
	if err := decodeLenient(w, r, &d); err != nil {
		return err
	}
	placed, err := h.place(r, d)
	if err != nil {
		return err
	}
	o, err := loadOrder(ctx, t.Pool, placed.Token)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if placed.Existing {
		status = http.StatusOK
	}
	web.WriteJSON(w, status, h.apiOrderBody(r, o))
	return nil
}

// apiOrderBody is an order with the links a client follows.
func (h *Handler) apiOrderBody(r *http.Request, o *Order) map[string]any {
	t := tenant.FromContext(r.Context())
	body := map[string]any{"order": o, "token": o.token, "status_url": t.Base + "/orders/" + o.token}
	if o.Payable() {
		pay := map[string]any{"test_payments": h.o.TestPayments, "publishable_key": h.o.PublishableKey, "stripe_account": o.account}
		if pi, err := h.ensureIntent(r.Context(), t, o.ID); err == nil && !h.o.TestPayments {
			if full, err := h.o.Stripe.GetPaymentIntent(r.Context(), o.account, pi.ID); err == nil {
				pay["client_secret"] = full.ClientSecret
			}
		}
		body["payment"] = pay
	}
	return body
}

// apiOrder serves GET /api/v1/shop/orders/{token}.
func (h *Handler) apiOrder(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	o, err := loadOrder(r.Context(), t.Pool, mux.Vars(r)["token"])
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, h.apiOrderBody(r, o))
	return nil
}

// apiPay serves POST /api/v1/shop/orders/{token}/pay (test payments).
func (h *Handler) apiPay(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	token := mux.Vars(r)["token"]
	if err := h.payTest(ctx, t, token); err != nil {
		return err
	}
	o, err := loadOrder(ctx, t.Pool, token)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, h.apiOrderBody(r, o))
	return nil
}
