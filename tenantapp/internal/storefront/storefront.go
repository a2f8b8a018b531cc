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
	"github.com/storefleet/storefleet/tenantapp/internal/media"
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
		p.LogoURL = media.URL(t.Base, *s.LogoMediaID, "200")
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
	// Image is the product's first image, if it has one.
	Image *cardImage
}

// cardImage is the picture on a product card, in two sizes.
type cardImage struct {
	Small, Large, Alt string
}

// imagesSchema is the first vendor schema with product images
// (product_media, migration 00008). The storefront serves older schemas
// too, without pictures.
const imagesSchema = 8

// homeProducts are the shop's newest active products: SKU, title,
// description, price, currency, and (from imagesSchema on) the id and alt
// text of each product's first image, in the same query.
const (
	homeProducts = `SELECT p.sku, p.title, p.description, p.price_minor, p.currency, NULL::bigint, ''
		FROM products p WHERE p.state = 'active' ORDER BY p.created_at DESC, p.id DESC LIMIT 24`
	homeProductsWithImages = `SELECT p.sku, p.title, p.description, p.price_minor, p.currency, img.media_id, coalesce(img.alt_text, '')
		FROM products p
		LEFT JOIN LATERAL (SELECT pm.media_id, m.alt_text FROM product_media pm JOIN media m ON m.id = pm.media_id
			WHERE pm.product_id = p.id ORDER BY pm.position, pm.media_id LIMIT 1) img ON true
		WHERE p.state = 'active' ORDER BY p.created_at DESC, p.id DESC LIMIT 24`
)

// handleHome serves GET / : the shop's newest products, each with its
// first image (served by the media library at /media/{id}/{size}).
func (h *Handler) handleHome(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	query := homeProducts
	if t.Entry.SchemaVersion >= imagesSchema {
		query = homeProductsWithImages
	}
	rows, err := t.Pool.Query(r.Context(), query)
	if err != nil {
		return fmt.Errorf("list products of %s: %w", t.Entry.Slug, err)
	}
	var cards []productCard
	var sku, title, desc, cur, alt string
	var price int64
	var mediaID *int64
	_, err = pgx.ForEachRow(rows, []any{&sku, &title, &desc, &price, &cur, &mediaID, &alt}, func() error {
		c := productCard{SKU: sku, Title: title, Description: desc, Price: money.Format(price, cur)}
		if mediaID != nil {
			c.Image = &cardImage{Small: media.URL(t.Base, *mediaID, "200"), Large: media.URL(t.Base, *mediaID, "800"), Alt: alt}
		}
		cards = append(cards, c)
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
