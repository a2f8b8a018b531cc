// Package storefront serves a vendor's shop pages.
package storefront

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/static"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Handler serves storefront pages.
type Handler struct {
	Templates *web.Templates
}

// Page is what every storefront template gets.
type Page struct {
	ShopName string
	Base     string
	Lang     string
	Alpine   string
}

// NewPage fills the common page fields for a tenant.
func NewPage(t *tenant.Tenant) Page {
	return Page{ShopName: t.Entry.Name, Base: t.Base, Lang: "en", Alpine: static.Alpine}
}

type productCard struct {
	SKU, Title, Description, Price string
}

// handleHome serves GET / : the shop's newest products.
func (h *Handler) handleHome(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	rows, err := t.Pool.Query(r.Context(), `
		SELECT sku, title, description, price_minor, currency FROM products
		WHERE state = 'active' ORDER BY created_at DESC, id DESC LIMIT 24`)
	if err != nil {
		return fmt.Errorf("list products of %s: %w", t.Entry.Slug, err)
	}
	var cards []productCard
	var sku, title, desc, cur string
	var price int64
	_, err = pgx.ForEachRow(rows, []any{&sku, &title, &desc, &price, &cur}, func() error {
		cards = append(cards, productCard{SKU: sku, Title: title, Description: desc, Price: money.Format(price, cur)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("list products of %s: %w", t.Entry.Slug, err)
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
	return h.Templates.Render(w, http.StatusOK, "storefront", struct {
		Page
		Products []productCard
	}{NewPage(t), cards})
}

// Routes registers the storefront's routes on its subrouter.
func (h *Handler) Routes(r *mux.Router, rs *web.Responder) {
	r.Handle("/", rs.Wrap(h.handleHome)).Methods(http.MethodGet, http.MethodHead)
}
