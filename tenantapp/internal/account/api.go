package account

import (
	"errors"
	"net/http"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// The JSON API under /api/v1/shop/account/ does what the pages do, with
// the same checks, for the shop's own scripts and apps: it authenticates
// with the shopper's session cookie (sf_shop), so cross-origin requests
// are refused like the pages' forms. Errors are web.Responder's JSON;
// 401 when not signed in; 422 with every invalid property in "fields".
// It is described in storefront/openapi/account.json.

// me is the answer of GET /me and of sign-in and registration.
type me struct {
	Customer       *Customer `json:"customer"`
	DefaultAddress *Address  `json:"default_address"`
}

func (h *Handler) writeMe(w http.ResponseWriter, r *http.Request, status int, id int64) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	c, err := customerByID(ctx, t.Pool, id)
	if errors.Is(err, errNotFound) {
		return &web.Error{Status: http.StatusUnauthorized, Message: "Your account does not exist any more."}
	}
	if err != nil {
		return err
	}
	a, err := DefaultAddress(ctx, t.Pool, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, status, me{Customer: c, DefaultAddress: a})
	return nil
}

// POST /api/v1/shop/account/register {email, name, password}: 201 and
// signed in.
func (h *Handler) apiRegister(w http.ResponseWriter, r *http.Request) error {
	var in registration
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	id, errs, err := h.register(r.Context(), r, &in, nil)
	if len(errs) > 0 {
		return errs.apiError()
	}
	if err != nil {
		return err
	}
	return h.writeMe(w, r, http.StatusCreated, id)
}

// POST /api/v1/shop/account/login {email, password}
func (h *Handler) apiLogin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := h.authenticate(r.Context(), r, in.Email, in.Password)
	if err != nil {
		return err
	}
	return h.writeMe(w, r, http.StatusOK, c.ID)
}

// POST /api/v1/shop/account/logout: 204, signed in or not.
func (h *Handler) apiLogout(w http.ResponseWriter, r *http.Request) error {
	if err := h.sessions.Logout(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// POST /api/v1/shop/account/password/forgot {email}: 202, whether or not
// the address has an account.
func (h *Handler) apiForgot(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := h.requestReset(r.Context(), r, in.Email); err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusAccepted, map[string]string{"message": forgotSent})
	return nil
}

// GET /api/v1/shop/account/me
func (h *Handler) apiMe(w http.ResponseWriter, r *http.Request) error {
	return h.writeMe(w, r, http.StatusOK, current(r.Context()).ID)
}

// PATCH /api/v1/shop/account/me {name?, phone?, email?, new_password?,
// current_password?}
func (h *Handler) apiMeUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in profileChange
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := currentAccount(ctx)
	if err != nil {
		return err
	}
	errs, err := h.changeProfile(ctx, r, c, &in, nil)
	if len(errs) > 0 {
		return errs.apiError()
	}
	if err != nil {
		return err
	}
	return h.writeMe(w, r, http.StatusOK, c.ID)
}

// addressInput is an address in a request; PATCH changes only the
// properties it has.
type addressInput struct {
	Name       *string `json:"name"`
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	PostalCode *string `json:"postal_code"`
	City       *string `json:"city"`
	Region     *string `json:"region"`
	Country    *string `json:"country"`
	Phone      *string `json:"phone"`
	IsDefault  *bool   `json:"is_default"`
}

// apply puts the input's properties on a.
func (in *addressInput) apply(a *Address) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&a.Name, in.Name)
	set(&a.Line1, in.Line1)
	set(&a.Line2, in.Line2)
	set(&a.PostalCode, in.PostalCode)
	set(&a.City, in.City)
	set(&a.Region, in.Region)
	set(&a.Country, in.Country)
	set(&a.Phone, in.Phone)
	if in.IsDefault != nil {
		a.IsDefault = *in.IsDefault
	}
}

// GET /api/v1/shop/account/addresses
func (h *Handler) apiAddressList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	list, err := listAddresses(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID)
	if err != nil {
		return err
	}
	if list == nil {
		list = []Address{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"addresses": list})
	return nil
}

// apiSaveAddress checks and saves an address of the signed-in customer
// and answers with it.
func (h *Handler) apiSaveAddress(w http.ResponseWriter, r *http.Request, a *Address, status int) error {
	ctx := r.Context()
	if errs := a.Check(); len(errs) > 0 {
		return errs.apiError()
	}
	err := saveAddress(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, a)
	switch {
	case errors.Is(err, errNotFound):
		return errNoAddress
	case errors.Is(err, errTooManyAddresses):
		return &web.Error{Status: http.StatusConflict, Message: "The address book is full (" + errTooManyAddresses.Error() + "): delete an address first."}
	case err != nil:
		return err
	}
	web.WriteJSON(w, status, a)
	return nil
}

// POST /api/v1/shop/account/addresses: 201 with the address.
func (h *Handler) apiAddressCreate(w http.ResponseWriter, r *http.Request) error {
	var in addressInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	var a Address
	in.apply(&a)
	return h.apiSaveAddress(w, r, &a, http.StatusCreated)
}

// GET /api/v1/shop/account/addresses/{id}
func (h *Handler) apiAddressGet(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a, err := getAddress(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, pathID(r))
	if errors.Is(err, errNotFound) {
		return errNoAddress
	}
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, a)
	return nil
}

// PATCH /api/v1/shop/account/addresses/{id}: the properties sent change;
// "is_default": true makes it the default.
func (h *Handler) apiAddressUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in addressInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := getAddress(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, pathID(r))
	if errors.Is(err, errNotFound) {
		return errNoAddress
	}
	if err != nil {
		return err
	}
	in.apply(a)
	return h.apiSaveAddress(w, r, a, http.StatusOK)
}

// DELETE /api/v1/shop/account/addresses/{id}: 204.
func (h *Handler) apiAddressDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	err := deleteAddress(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, pathID(r))
	if errors.Is(err, errNotFound) {
		return errNoAddress
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// GET /api/v1/shop/account/orders[?page=n]: newest first.
func (h *Handler) apiOrderList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	n := pageNumber(r)
	orders, more, err := listOrders(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, n, OrdersPerPage)
	if err != nil {
		return err
	}
	if orders == nil {
		orders = []OrderSummary{}
	}
	var next *int
	if more {
		next = new(int)
		*next = n + 1
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"orders": orders, "page": n, "next_page": next})
	return nil
}

// GET /api/v1/shop/account/orders/{id}
func (h *Handler) apiOrderGet(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	o, err := getOrder(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, pathID(r))
	if errors.Is(err, errNotFound) {
		return errNoOrder
	}
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, o)
	return nil
}
