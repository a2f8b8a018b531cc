// Package storefront serves a vendor's shop pages.
package storefront

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"
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
	// Theme is the shop's theme as CSS custom properties (ThemeCSS), put
	// in an inline <style> by the layout; empty for the default look.
	Theme   template.CSS
	LogoURL string
	Footer  Footer
}

// Footer is what the shop's footer shows: contact details and links to
// the legal pages that have text.
type Footer struct {
	Email, Phone string
	Address      []string
	Legal        []LegalLink
}

// LegalLink is a link to a legal page.
type LegalLink struct{ Path, Title string }

// NewPage fills the common page fields for a tenant, without its settings
// (LoadPage reads them).
func NewPage(t *tenant.Tenant) Page {
	return Page{ShopName: t.Entry.Name, Base: t.Base, Lang: "en", Alpine: static.Alpine}
}

// LoadPage fills the common page fields for a tenant with the shop's
// settings: its name, logo, language, theme, contact details and legal
// pages.
func LoadPage(ctx context.Context, t *tenant.Tenant) (Page, Settings, error) {
	p := NewPage(t)
	s, err := LoadSettings(ctx, t.Pool)
	if err != nil {
		return p, s, err
	}
	if s.DisplayName != "" {
		p.ShopName = s.DisplayName
	}
	p.Lang = s.Language
	p.Theme = s.ThemeCSS()
	if s.LogoMediaID != nil {
		p.LogoURL = fmt.Sprintf("%s/media/%d/200", t.Base, *s.LogoMediaID)
	}
	p.Footer = Footer{Email: s.ContactEmail, Phone: s.ContactPhone}
	if s.ContactAddress != "" {
		p.Footer.Address = strings.Split(s.ContactAddress, "\n")
	}
	for _, d := range legalDocs {
		if d.text(&s) != "" {
			p.Footer.Legal = append(p.Footer.Legal, LegalLink{Path: t.Base + "/legal/" + d.slug, Title: d.title})
		}
	}
	return p, s, nil
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
	p, _, err := LoadPage(r.Context(), t)
	if err != nil {
		return err
	}
	return h.Templates.Render(w, http.StatusOK, "storefront", storefrontPage{Page: p, Products: cards})
}

// storefrontPage is the data of the storefront template: the home page,
// or a legal page when Legal is set.
type storefrontPage struct {
	Page
	Products []productCard
	Legal    *legalPage
}

// Routes registers the storefront's routes on its subrouter.
func (h *Handler) Routes(r *mux.Router, rs *web.Responder) {
	r.Handle("/", rs.Wrap(h.handleHome)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/legal/{doc}", rs.Wrap(h.handleLegal)).Methods(http.MethodGet, http.MethodHead)
}
