package storefront

import (
	"context"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/sku"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// validHandle is the shape of a product handle (migration 00002).
var validHandle = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// lookupHandle is what to look a product up by for a handle in a URL:
// the handle itself, or the handle its text gives as a SKU (so that
// /products/HAM-1 finds ham-1). ok is false for text that cannot name a
// product.
func lookupHandle(raw string) (string, bool) {
	if raw == "" || len(raw) > 200 || !utf8.ValidString(raw) {
		return "", false
	}
	if validHandle.MatchString(raw) && len(raw) <= 120 {
		return raw, true
	}
	h := sku.HandleBase(raw)
	return h, validHandle.MatchString(h)
}

// loadProduct reads the shop's settings and an active product by handle
// (or the handle of its SKU) in one round trip; the product is nil if
// there is none.
func loadProduct(ctx context.Context, t *tenant.Tenant, handle string, settings *Settings) (*Product, error) {
	var p *Product
	b := &pgx.Batch{}
	if settings != nil {
		queueSettingsCached(ctx, t, b, settings)
	}
	queueProduct(b, t, handle, &p)
	if err := sendBatch(ctx, t, b); err != nil {
		return nil, err
	}
	return p, nil
}

// productPage is the data of the product template.
type productPage struct {
	Product *Product
	Page
	Paragraphs [][]string // the description
	// Cart says whether the "Add to cart" form shows, and CSRF is its
	// token (from Handler.CartForm).
	Cart bool
	CSRF string
	// Crumbs lead home, back to the catalog and to the product's first
	// category; CrumbsHTML is them as links (crumbsHTML).
	Crumbs     []link
	CrumbsHTML template.HTML
}

// errNoProduct is the 404 of a product page.
var errNoProduct = &web.Error{Status: http.StatusNotFound,
	Message: "We could not find that product. It may have sold out for good or moved: try searching for it."}

// handleProduct serves GET /products/{handle}: one active product with
// its pictures, price, stock, brand, categories and description. An old
// or SKU-shaped address is sent on to the product's own.
func (h *Handler) handleProduct(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if t.Entry.SchemaVersion < catalogSchema {
		return errUpgrading(t)
	}
	raw := mux.Vars(r)["handle"]
	handle, ok := lookupHandle(raw)
	var s Settings
	var p *Product
	if ok {
		var err error
		if p, err = loadProduct(r.Context(), t, handle, &s); err != nil {
			return err
		}
	}
	if p == nil {
		return h.productNotFound(w, r, t, raw)
	}
	if p.Handle != raw {
		http.Redirect(w, r, p.URL, http.StatusMovedPermanently)
		return nil
	}
	data := productPage{Page: h.look(t, s).pageIn("catalog"), Product: p, Paragraphs: Paragraphs(p.Description)}
	data.Crumbs = []link{{Label: "Catalog", URL: t.Base + "/products"}}
	if len(p.Categories) > 0 {
		data.Crumbs = append(data.Crumbs, link{Label: p.Categories[0].Name, URL: p.Categories[0].URL})
	}
	data.CrumbsHTML = crumbsHTML(t.Base, data.Crumbs)
	cache := cachePublic
	if h.CartForm != nil {
		data.CSRF, data.Cart = h.CartForm(r)
		if data.Cart && data.CSRF != "" {
			cache = cachePrivate // the form carries the visitor's token
		}
	}
	w.Header().Set("Cache-Control", cache)
	return h.Templates.Render(w, http.StatusOK, "shop_product", data)
}

// productNotFound answers a product page with no product: a 404 in the
// shop's look, with a search for the words of the address.
func (h *Handler) productNotFound(w http.ResponseWriter, r *http.Request, t *tenant.Tenant, raw string) error {
	p, _, err := LoadPage(r.Context(), t)
	if err != nil {
		return err
	}
	words := ""
	if utf8.ValidString(raw) && !strings.ContainsRune(raw, 0) && len(raw) <= MaxQueryLen {
		words = strings.Join(strings.FieldsFunc(raw, func(r rune) bool { return r == '-' || r == '_' || r == ' ' }), " ")
	}
	w.Header().Set("Cache-Control", "no-store")
	return h.Templates.Render(w, http.StatusNotFound, "shop_notice", noticePage{Page: p, Status: http.StatusNotFound,
		Title: "Product not found", Message: errNoProduct.Message, Query: words})
}
