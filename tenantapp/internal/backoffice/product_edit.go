package backoffice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type productFormPage struct {
	page
	Product    *catalog.Product // nil for a new product
	Form       catalog.Form
	Version    string
	Errors     catalog.FieldErrors
	Notice     string
	Categories []catalog.Category
	Selected   map[int64]bool
	States     []string
	Price      string // the saved price, for people
	Sale       string
	Images     []catalog.Image // the product's images, in order
	// FeedImages are the image links of a published feed item not kept
	// yet: waiting, being retried, or failed.
	FeedImages []marketplace.ImageFetch
	Picker     imagePicker // the library to add images from (catalog.write)
}

// catalogID reads the {id} of a route; a number too large for an id is no
// product at all.
func catalogID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return 0, errNoProduct
	}
	return id, nil
}

var errNoProduct = &web.Error{Status: http.StatusNotFound, Message: "There is no such product; it may have been deleted."}

// notFound turns the catalog's ErrNotFound into a 404 page.
func orNotFound(err error, e *web.Error) error {
	if errors.Is(err, catalog.ErrNotFound) {
		return e
	}
	return err
}

func formOf(p *catalog.Product) catalog.Form {
	digits, _ := catalog.CurrencyDigits(p.Currency)
	f := catalog.Form{SKU: p.SKU, Title: p.Title, Description: p.Description, GTIN: p.GTIN,
		Price: catalog.FormatAmount(p.PriceMinor, digits), Currency: p.Currency, State: p.State}
	if p.SalePrice != nil {
		f.SalePrice = catalog.FormatAmount(*p.SalePrice, digits)
	}
	for _, id := range p.CategoryIDs {
		f.CategoryIDs = append(f.CategoryIDs, strconv.FormatInt(id, 10))
	}
	return f
}

func readProductForm(r *http.Request) catalog.Form {
	_ = r.ParseForm()
	v := r.PostForm
	return catalog.Form{SKU: v.Get("sku"), Title: v.Get("title"), Description: v.Get("description"), GTIN: v.Get("gtin"),
		Price: v.Get("price"), SalePrice: v.Get("sale_price"), Currency: strings.ToUpper(strings.TrimSpace(v.Get("currency"))),
		State: v.Get("state"), CategoryIDs: v["categories"]}
}

func (h *Handler) renderProductForm(w http.ResponseWriter, r *http.Request, status int, d productFormPage) error {
	t := tenant.FromContext(r.Context())
	cats, err := catalog.Categories(r.Context(), t.Pool)
	if err != nil {
		return err
	}
	title := "New product"
	if d.Product != nil {
		title = d.Product.Title
		d.Price = catalog.Display(d.Product.PriceMinor, d.Product.Currency)
		if d.Product.SalePrice != nil {
			d.Sale = catalog.Display(*d.Product.SalePrice, d.Product.Currency)
		}
		if err := h.loadImages(r, &d); err != nil {
			return err
		}
		if t.Entry.SchemaVersion >= marketplace.MinSchema {
			fetches, err := marketplace.ImageFetches(r.Context(), t.Pool, d.Product.ID)
			if err != nil {
				return err
			}
			for _, f := range fetches {
				if f.State != marketplace.FetchDone {
					d.FeedImages = append(d.FeedImages, f)
				}
			}
		}
	}
	d.page, d.Categories, d.States = h.page(r, title), cats, catalog.States
	d.Selected = map[int64]bool{}
	for _, s := range d.Form.CategoryIDs {
		id, _ := strconv.ParseInt(s, 10, 64)
		d.Selected[id] = true
	}
	return h.templates.Render(w, status, "admin_product_form", d)
}

// defaultCurrency is the currency most of the shop's products have, or EUR.
func defaultCurrency(ctx context.Context, t *tenant.Tenant) (string, error) {
	var c string
	err := t.Pool.QueryRow(ctx, `SELECT coalesce((SELECT currency FROM products GROUP BY currency ORDER BY count(*) DESC LIMIT 1), 'EUR')`).Scan(&c)
	if err != nil {
		return "", fmt.Errorf("find the shop's currency: %w", err)
	}
	return strings.TrimSpace(c), nil
}

// GET /admin/products/new
func (h *Handler) productNew(w http.ResponseWriter, r *http.Request) error {
	cur, err := defaultCurrency(r.Context(), tenant.FromContext(r.Context()))
	if err != nil {
		return err
	}
	return h.renderProductForm(w, r, http.StatusOK, productFormPage{Form: catalog.Form{Currency: cur, State: catalog.StateDraft}})
}

// POST /admin/products
func (h *Handler) productCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	form := readProductForm(r)
	fields, errs := form.Parse()
	if len(errs) > 0 {
		return h.renderProductForm(w, r, http.StatusUnprocessableEntity, productFormPage{Form: form, Errors: errs})
	}
	p, err := catalog.Create(ctx, t.Pool, fields, actor(r, Current(ctx)))
	if fe, ok := catalog.AsFieldErrors(err); ok {
		return h.renderProductForm(w, r, http.StatusUnprocessableEntity, productFormPage{Form: form, Errors: fe})
	}
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("%s is saved.", p.Title))
	http.Redirect(w, r, fmt.Sprintf("%s/admin/products/%d", t.Base, p.ID), http.StatusSeeOther)
	return nil
}

// GET /admin/products/{id}: the product's form, read-only without
// catalog.write.
func (h *Handler) productEdit(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	p, err := catalog.Get(r.Context(), t.Pool, id)
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	return h.renderProductForm(w, r, http.StatusOK, productFormPage{Product: p, Form: formOf(p), Version: productVersion(p)})
}

func productVersion(p *catalog.Product) string { return strconv.FormatInt(p.UpdatedAt.UnixMicro(), 10) }

// POST /admin/products/{id}
func (h *Handler) productUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	p, err := catalog.Get(ctx, t.Pool, id)
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	form := readProductForm(r)
	d := productFormPage{Product: p, Form: form, Version: r.PostFormValue("version")}
	fields, errs := form.Parse()
	if len(errs) > 0 {
		d.Errors = errs
		return h.renderProductForm(w, r, http.StatusUnprocessableEntity, d)
	}
	var seen time.Time
	if v, err := strconv.ParseInt(d.Version, 10, 64); err == nil {
		seen = time.UnixMicro(v)
	}
	saved, err := catalog.Update(ctx, t.Pool, id, seen, fields, actor(r, Current(ctx)))
	if fe, ok := catalog.AsFieldErrors(err); ok {
		d.Errors = fe
		return h.renderProductForm(w, r, http.StatusUnprocessableEntity, d)
	}
	if errors.Is(err, catalog.ErrChanged) {
		// Keep what was typed; saving again replaces the other change.
		if p, err = catalog.Get(ctx, t.Pool, id); err != nil {
			return orNotFound(err, errNoProduct)
		}
		d.Product, d.Version = p, productVersion(p)
		d.Notice = "Someone else saved this product after you opened it. Your changes are below, not saved yet: check them against the saved values and save again to replace theirs."
		return h.renderProductForm(w, r, http.StatusConflict, d)
	}
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("%s is saved.", saved.Title))
	http.Redirect(w, r, fmt.Sprintf("%s/admin/products/%d", t.Base, id), http.StatusSeeOther)
	return nil
}

// POST /admin/products/{id}/archive
func (h *Handler) productArchive(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	p, err := catalog.Archive(ctx, t.Pool, id, actor(r, Current(ctx)))
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("%s is archived: it is no longer in the shop.", p.Title))
	http.Redirect(w, r, fmt.Sprintf("%s/admin/products/%d", t.Base, id), http.StatusSeeOther)
	return nil
}

// POST /admin/products/{id}/delete
func (h *Handler) productDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	err = catalog.Delete(ctx, t.Pool, id, actor(r, Current(ctx)))
	var inUse *catalog.InUseError
	if errors.As(err, &inUse) {
		p, gerr := catalog.Get(ctx, t.Pool, id)
		if gerr != nil {
			return orNotFound(gerr, errNoProduct)
		}
		return h.renderProductForm(w, r, http.StatusConflict, productFormPage{Product: p, Form: formOf(p), Version: productVersion(p), Notice: inUse.Message})
	}
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	h.sessions.Put(ctx, keyFlash, "The product is deleted.")
	http.Redirect(w, r, t.Base+"/admin/products", http.StatusSeeOther)
	return nil
}
