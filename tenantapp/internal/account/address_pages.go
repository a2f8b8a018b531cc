package account

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// errNoAddress is the answer for an address id that is not one of the
// signed-in customer's, whether it exists or not.
var errNoAddress = &web.Error{Status: http.StatusNotFound, Message: "There is no such address in your address book."}

// pathID is the {id} of the route; -1 (no row has it) if it is too
// large to be one.
func pathID(r *http.Request) int64 {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return -1
	}
	return id
}

type addressListPage struct {
	page
	Addresses []Address
	Full      bool
	Max       int
}

// GET /account/addresses
func (h *Handler) addressList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	list, err := listAddresses(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID)
	if err != nil {
		return err
	}
	p, err := h.page(r, "Your addresses", "addresses")
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "account_addresses", addressListPage{page: p, Addresses: list, Full: len(list) >= MaxAddresses, Max: MaxAddresses})
}

type addressFormPage struct {
	page
	Address   Address
	Countries []Country
	// IsDefault says the address is the default already (as stored).
	IsDefault bool
}

func (h *Handler) addressForm(w http.ResponseWriter, r *http.Request, status int, a Address, errs problems) error {
	title := "Add an address"
	if a.ID != 0 {
		title = "Change an address"
	}
	p, err := h.page(r, title, "addresses")
	if err != nil {
		return err
	}
	p.Errors = errs.Map()
	fp := addressFormPage{page: p, Address: a, Countries: Countries}
	if a.ID != 0 {
		ctx := r.Context()
		stored, err := getAddress(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, a.ID)
		if errors.Is(err, errNotFound) {
			return errNoAddress
		}
		if err != nil {
			return err
		}
		fp.IsDefault = stored.IsDefault
	}
	return h.render(w, status, "account_address_form", fp)
}

// GET /account/addresses/new
func (h *Handler) addressNew(w http.ResponseWriter, r *http.Request) error {
	return h.addressForm(w, r, http.StatusOK, Address{Name: current(r.Context()).Name}, nil)
}

// GET /account/addresses/{id}
func (h *Handler) addressEdit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a, err := getAddress(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, pathID(r))
	if errors.Is(err, errNotFound) {
		return errNoAddress
	}
	if err != nil {
		return err
	}
	return h.addressForm(w, r, http.StatusOK, *a, nil)
}

func addressFromForm(r *http.Request) Address {
	return Address{Name: r.PostFormValue("name"), Line1: r.PostFormValue("line1"), Line2: r.PostFormValue("line2"),
		PostalCode: r.PostFormValue("postal_code"), City: r.PostFormValue("city"), Region: r.PostFormValue("region"),
		Country: r.PostFormValue("country"), Phone: r.PostFormValue("phone"), IsDefault: r.PostFormValue("is_default") != ""}
}

// saveFromForm checks and saves the posted address (a.ID 0: a new one).
func (h *Handler) saveFromForm(w http.ResponseWriter, r *http.Request, id int64) error {
	ctx := r.Context()
	a := addressFromForm(r)
	a.ID = id
	errs := a.Check()
	if len(errs) == 0 {
		err := saveAddress(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, &a)
		switch {
		case errors.Is(err, errNotFound):
			return errNoAddress
		case errors.Is(err, errTooManyAddresses):
			errs.add("name", "Your address book is full ("+strconv.Itoa(MaxAddresses)+" addresses). Delete one you no longer use first.")
		case err != nil:
			return err
		}
	}
	if len(errs) > 0 {
		return h.addressForm(w, r, http.StatusUnprocessableEntity, a, errs)
	}
	msg := "The address is added."
	if id != 0 {
		msg = "The address is saved."
	}
	h.sessions.Flash(ctx, msg)
	redirect(w, r, "/account/addresses")
	return nil
}

// POST /account/addresses
func (h *Handler) addressCreate(w http.ResponseWriter, r *http.Request) error {
	return h.saveFromForm(w, r, 0)
}

// POST /account/addresses/{id}
func (h *Handler) addressUpdate(w http.ResponseWriter, r *http.Request) error {
	return h.saveFromForm(w, r, pathID(r))
}

// POST /account/addresses/{id}/delete
func (h *Handler) addressDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	err := deleteAddress(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, pathID(r))
	if errors.Is(err, errNotFound) {
		return errNoAddress
	}
	if err != nil {
		return err
	}
	h.sessions.Flash(ctx, "The address is deleted.")
	redirect(w, r, "/account/addresses")
	return nil
}

// POST /account/addresses/{id}/default
func (h *Handler) addressDefault(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	err := makeDefault(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID, pathID(r))
	if errors.Is(err, errNotFound) {
		return errNoAddress
	}
	if err != nil {
		return err
	}
	h.sessions.Flash(ctx, "This is now your default address.")
	redirect(w, r, "/account/addresses")
	return nil
}
