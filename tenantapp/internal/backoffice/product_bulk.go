package backoffice

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type bulkChangeView struct {
	catalog.BulkChange
	PriceBefore, PriceAfter, SaleBefore, SaleAfter string
}

type productBulkPage struct {
	page
	Edit    catalog.BulkEdit
	IDs     []string
	Plan    *catalog.BulkPlan
	Changes []bulkChangeView
	Errors  catalog.FieldErrors
	Notice  string
	States  []string
	Back    string // the product list's query string
}

// BackURL is the product list the edit started from.
func (p productBulkPage) BackURL() string {
	u := p.Base + "/admin/products"
	if p.Back != "" {
		u += "?" + p.Back
	}
	return u
}

// Kind is the edit's kind if it is a known one (it goes into a script
// expression, so never the raw input), else the first kind.
func (p productBulkPage) Kind() string {
	switch p.Edit.Kind {
	case catalog.BulkSetPrice, catalog.BulkAdjustPrice, catalog.BulkSetState:
		return p.Edit.Kind
	}
	return catalog.BulkSetPrice
}

// CanApply reports whether the preview may be applied.
func (p productBulkPage) CanApply() bool {
	return p.Plan != nil && len(p.Errors) == 0 && p.Plan.Errors() == 0 && p.Plan.Changed() > 0
}

func readBulk(r *http.Request) (catalog.BulkEdit, []string, string) {
	_ = r.ParseForm()
	v := r.PostForm
	b := catalog.BulkEdit{Kind: v.Get("kind"), Price: v.Get("price"), Percent: v.Get("percent"), State: v.Get("state")}
	for _, s := range v["ids"] {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			b.IDs = append(b.IDs, id)
		}
	}
	// The list's filter, re-encoded so that only a query string comes back.
	back, _ := url.ParseQuery(v.Get("back"))
	return b, v["ids"], back.Encode()
}

func (h *Handler) renderBulk(w http.ResponseWriter, r *http.Request, status int, d productBulkPage) error {
	d.page, d.States = h.page(r, "Bulk edit"), catalog.States
	d.IDs = d.IDs[:0]
	for _, id := range d.Edit.IDs {
		d.IDs = append(d.IDs, strconv.FormatInt(id, 10))
	}
	if d.Plan != nil {
		for _, c := range d.Plan.Changes {
			v := bulkChangeView{BulkChange: c, PriceBefore: catalog.Display(c.PriceBefore, c.Currency), PriceAfter: catalog.Display(c.PriceAfter, c.Currency)}
			if c.SaleBefore != nil {
				v.SaleBefore = catalog.Display(*c.SaleBefore, c.Currency)
			}
			if c.SaleAfter != nil {
				v.SaleAfter = catalog.Display(*c.SaleAfter, c.Currency)
			}
			d.Changes = append(d.Changes, v)
		}
	}
	return h.templates.Render(w, status, "admin_product_bulk", d)
}

// POST /admin/products/bulk/preview: what a bulk edit of the selected
// products would change, product by product, before anything is written.
func (h *Handler) productBulkPreview(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	b, _, back := readBulk(r)
	d := productBulkPage{Edit: b, Back: back}
	plan, err := catalog.PreviewBulk(r.Context(), t.Pool, b)
	if fe, ok := catalog.AsFieldErrors(err); ok {
		d.Errors = fe
		return h.renderBulk(w, r, http.StatusUnprocessableEntity, d)
	}
	if err != nil {
		return err
	}
	d.Edit.IDs = b.IDs
	d.Plan = plan
	return h.renderBulk(w, r, http.StatusOK, d)
}

// POST /admin/products/bulk/apply: makes the previewed edit, all of it in
// one transaction, or nothing if the products changed since the preview.
func (h *Handler) productBulkApply(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	b, _, back := readBulk(r)
	d := productBulkPage{Edit: b, Back: back}
	plan, err := catalog.ApplyBulk(ctx, t.Pool, b, r.PostFormValue("fingerprint"), actor(r, Current(ctx)))
	d.Plan = plan
	if errors.Is(err, catalog.ErrBulkStale) {
		d.Notice = "Some of these products changed since the preview, so nothing was changed. Here is the preview again with their current values."
		return h.renderBulk(w, r, http.StatusConflict, d)
	}
	if fe, ok := catalog.AsFieldErrors(err); ok {
		d.Errors = fe
		return h.renderBulk(w, r, http.StatusUnprocessableEntity, d)
	}
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("%s: %d products changed.", b.Describe(), plan.Changed()))
	http.Redirect(w, r, d.BackURL(), http.StatusSeeOther)
	return nil
}
