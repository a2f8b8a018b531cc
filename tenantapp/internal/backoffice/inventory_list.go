package backoffice

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// GET /admin/inventory: stock of every product, searchable, with a
// low-stock filter.
func (h *Handler) inventoryList(w http.ResponseWriter, r *http.Request) error {
	return h.listProducts(w, r, "/admin/inventory", "admin_inventory", "Inventory")
}

type inventoryPage struct {
	page
	Product   *catalog.Product
	Movements []catalog.MovementRecord
	Older     string // the next page of the ledger, if any
	Kinds     []string
	Move      moveForm
	Threshold string
	Errors    catalog.FieldErrors
}

type moveForm struct{ Kind, Quantity, Reason, Reference string }

const ledgerPage = 100

func (h *Handler) renderInventory(w http.ResponseWriter, r *http.Request, status int, id int64, d inventoryPage) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	p, err := catalog.Get(ctx, t.Pool, id)
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	moves, err := catalog.Movements(ctx, t.Pool, id, before, ledgerPage+1)
	if err != nil {
		return err
	}
	if len(moves) > ledgerPage {
		moves = moves[:ledgerPage]
		d.Older = fmt.Sprintf("%s/admin/inventory/%d?before=%d", t.Base, id, moves[len(moves)-1].ID)
	}
	d.page, d.Product, d.Movements, d.Kinds = h.page(r, "Stock of "+p.Title), p, moves, catalog.MovementKinds
	if d.Move.Kind == "" {
		d.Move.Kind = catalog.MoveReceipt
	}
	if d.Errors["threshold"] == "" && p.Stock.Threshold != nil {
		d.Threshold = strconv.FormatInt(*p.Stock.Threshold, 10)
	}
	return h.templates.Render(w, status, "admin_inventory_product", d)
}

// GET /admin/inventory/{id}: a product's stock and its ledger.
func (h *Handler) inventoryProduct(w http.ResponseWriter, r *http.Request) error {
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	return h.renderInventory(w, r, http.StatusOK, id, inventoryPage{})
}

// POST /admin/inventory/{id}/movements: records a receipt, adjustment,
// sale, return, reservation or release. Stock never goes below zero: a
// movement that would take it there is refused and nothing is written.
func (h *Handler) inventoryMove(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	f := moveForm{Kind: r.PostFormValue("kind"), Quantity: strings.TrimSpace(r.PostFormValue("quantity")),
		Reason: r.PostFormValue("reason"), Reference: r.PostFormValue("reference")}
	d := inventoryPage{Move: f}
	q, perr := strconv.ParseInt(strings.TrimPrefix(f.Quantity, "+"), 10, 64)
	m := catalog.Movement{ProductID: id, Kind: f.Kind, Quantity: q, Reason: f.Reason, Reference: f.Reference}
	errs := m.Check()
	if perr != nil {
		errs["quantity"] = "Enter a whole number, such as 5 (or -2 for an adjustment down)."
	}
	if len(errs) > 0 {
		d.Errors = errs
		return h.renderInventory(w, r, http.StatusUnprocessableEntity, id, d)
	}
	rec, err := catalog.Move(ctx, t.Pool, m, actor(r, Current(ctx)))
	var se *catalog.StockError
	if errors.As(err, &se) {
		d.Errors = catalog.FieldErrors{"quantity": se.Error()}
		return h.renderInventory(w, r, http.StatusConflict, id, d)
	}
	if fe, ok := catalog.AsFieldErrors(err); ok {
		d.Errors = fe
		return h.renderInventory(w, r, http.StatusUnprocessableEntity, id, d)
	}
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("Recorded: %s of %d. Now %d on hand, %d reserved.", rec.Kind, rec.Quantity, rec.OnHandAfter, rec.ReservedAfter))
	http.Redirect(w, r, fmt.Sprintf("%s/admin/inventory/%d", t.Base, id), http.StatusSeeOther)
	return nil
}

// POST /admin/inventory/{id}/threshold: the available stock at or below
// which the product shows as low on stock; empty for no notice.
func (h *Handler) inventoryThreshold(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(r.PostFormValue("threshold"))
	var threshold *int64
	if text != "" {
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return h.renderInventory(w, r, http.StatusUnprocessableEntity, id, inventoryPage{Threshold: text,
				Errors: catalog.FieldErrors{"threshold": "Enter a whole number such as 5, or leave it empty for no notice."}})
		}
		threshold = &v
	}
	err = catalog.SetThreshold(ctx, t.Pool, id, threshold, actor(r, Current(ctx)))
	if fe, ok := catalog.AsFieldErrors(err); ok {
		return h.renderInventory(w, r, http.StatusUnprocessableEntity, id, inventoryPage{Threshold: text, Errors: fe})
	}
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	msg := "The low-stock notice is off for this product."
	if threshold != nil {
		msg = fmt.Sprintf("The product shows as low on stock at %d available or fewer.", *threshold)
	}
	h.sessions.Put(ctx, keyFlash, msg)
	http.Redirect(w, r, fmt.Sprintf("%s/admin/inventory/%d", t.Base, id), http.StatusSeeOther)
	return nil
}
