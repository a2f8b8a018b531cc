// Package storefront serves a vendor's shop pages.
package storefront

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/static"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Handler serves storefront pages and the shop API's catalog.
type Handler struct {
	Templates *web.Templates
	// CartForm is the hook through which the cart offers its "Add to
	// cart" form on product pages: it returns the form's CSRF token for
	// the request (may be empty) and whether buying is possible now. When
	// it is nil or says no, product pages show "Buying is unavailable
	// right now" instead of the form.
	CartForm func(r *http.Request) (csrf string, ok bool)
	// Flags says whether a feature flag is on for a vendor (the tenant
	// app's flags.Cache); nil leaves every flagged feature on.
	Flags interface {
		Enabled(ctx context.Context, vendorID int64, name string) bool
	}
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
	// Search is the text in the header's search box.
	Search string
	// Section is the part of the shop the page belongs to ("home",
	// "catalog", "search"), for the header's links.
	Section string
	// HeaderHTML and FooterHTML, when set, are the shopheader and
	// shopfooter templates already rendered for this page (the storefront
	// keeps them per shop look, see chrome.go); pages render the templates
	// when they are empty.
	HeaderHTML, FooterHTML template.HTML
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
	s, err := loadSettings(ctx, t) // through the cache (cache.go)
	if err != nil {
		return NewPage(t), s, err
	}
	return pageFor(t, s), s, nil
}

// pageFor fills the common page fields from the shop's settings.
func pageFor(t *tenant.Tenant, s Settings) Page {
	p := NewPage(t)
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
	return p
}

// homePage is the data of the storefront template: the home page, or a
// legal page when Legal is set.
type homePage struct {
	Page
	Featured []Card
	Products []Card // the newest
	Legal    *legalPage
}

// Cache lives of what the storefront serves. Pages show nothing personal
// (no cart, no account), so shared caches may keep them briefly; a page
// with a form token (the product page, once the cart is wired) is private.
const (
	cachePublic      = "public, max-age=60"
	cacheSuggestions = "public, max-age=300"
	cachePrivate     = "private, no-store"
)

// handleHome serves GET / : featured products and new arrivals, each
// with its first image (served by the media library at /media/{id}/{size}).
func (h *Handler) handleHome(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if t.Entry.SchemaVersion < catalogSchema {
		return h.handleOldHome(w, r)
	}
	var s Settings
	var data homePage
	b := &pgx.Batch{}
	queueSettingsCached(r.Context(), t, b, &s)
	queueCards(b, t, "list featured products", &data.Featured, featuredSQL)
	queueCards(b, t, "list new products", &data.Products, newestSQL)
	if err := sendBatch(r.Context(), t, b); err != nil {
		return err
	}
	data.Page = h.look(t, s).pageIn("home")
	w.Header().Set("Cache-Control", cachePublic)
	return h.Templates.Render(w, http.StatusOK, "storefront", data)
}

// The home page of a vendor whose schema predates the catalog (a rollout
// has not reached it yet): the newest products, with images from
// imagesSchema on.
const (
	imagesSchema = 8
	oldHome      = `SELECT p.id, p.sku, '', p.title, '', p.price_minor, NULL::bigint, p.currency, 0, NULL::bigint, ''
		FROM products p WHERE p.state = 'active' ORDER BY p.created_at DESC, p.id DESC LIMIT 12`
	oldHomeWithImages = `SELECT p.id, p.sku, '', p.title, '', p.price_minor, NULL::bigint, p.currency, 0, img.media_id, coalesce(img.alt_text, '')
		FROM products p ` + firstImageJoin + `
		WHERE p.state = 'active' ORDER BY p.created_at DESC, p.id DESC LIMIT 12`
)

func (h *Handler) handleOldHome(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	query := oldHome
	if t.Entry.SchemaVersion >= imagesSchema {
		query = oldHomeWithImages
	}
	rows, err := t.Pool.Query(r.Context(), query)
	if err != nil {
		return fmt.Errorf("list products of %s: %w", t.Entry.Slug, err)
	}
	cards, err := scanCards(t, rows, nil)
	if err != nil {
		return fmt.Errorf("list products of %s: %w", t.Entry.Slug, err)
	}
	p, _, err := LoadPage(r.Context(), t)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", cachePublic)
	return h.Templates.Render(w, http.StatusOK, "storefront", homePage{Page: p, Products: cards})
}

// noticePage is the shop's own page for a 4xx or 503 answer.
type noticePage struct {
	Page
	Status         int
	Title, Message string
	// Query, if set, fills a search form that offers a way on.
	Query string
}

// themed shows what a storefront page returns as a client error (4xx) or
// maintenance (503) on a page in the shop's own look; server errors go
// to the responder as they are.
func (h *Handler) themed(fn web.Handler) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := fn(w, r)
		var we *web.Error
		if err == nil || !errors.As(err, &we) || we.Status < 400 || we.Status >= 500 && we.Status != http.StatusServiceUnavailable {
			return err
		}
		t := tenant.FromContext(r.Context())
		p, _, perr := LoadPage(r.Context(), t)
		if perr != nil {
			return err
		}
		web.AddLogAttrs(r.Context(), slog.String("error", we.Error()))
		if we.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(we.RetryAfter))
		}
		w.Header().Set("Cache-Control", "no-store")
		title := http.StatusText(we.Status)
		switch we.Status {
		case http.StatusNotFound:
			title = "Page not found"
		case http.StatusBadRequest:
			title = "We could not read that"
		case http.StatusServiceUnavailable:
			title = "Back in a moment"
		}
		return h.Templates.Render(w, we.Status, "shop_notice", noticePage{Page: p, Status: we.Status, Title: title, Message: we.Message})
	}
}

// errUpgrading answers the catalog pages of a vendor whose schema is not
// there yet.
func errUpgrading(t *tenant.Tenant) error {
	return &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 60,
		Message: t.Entry.Name + " is updating its catalog. Please come back in a few minutes."}
}

// Routes registers the storefront's pages and the shop API's catalog
// routes. It panics if the shop API's OpenAPI fragments do not merge, so
// that a broken document stops the start-up.
func (h *Handler) Routes(r *mux.Router, rs *web.Responder) {
	doc, err := OpenAPI()
	if err != nil {
		panic(err)
	}
	page := func(fn web.Handler) http.Handler { return rs.Wrap(h.themed(fn)) }
	get := []string{http.MethodGet, http.MethodHead}
	r.Handle("/", page(h.handleHome)).Methods(get...)
	r.Handle("/products", page(h.handleCatalog)).Methods(get...)
	r.Handle("/categories/{id:[0-9]+}", page(h.handleCatalog)).Methods(get...)
	r.Handle("/products/{handle}", page(h.handleProduct)).Methods(get...)
	r.Handle("/search", page(h.handleSearch)).Methods(get...)
	r.Handle("/search/suggest", rs.Wrap(h.handleSuggest)).Methods(get...)
	r.Handle("/legal/{doc}", page(h.handleLegal)).Methods(get...)

	r.Handle("/api/v1/shop/openapi.json", rs.Wrap(doc.serve)).Methods(get...)
	r.Handle("/api/v1/shop/products", rs.Wrap(h.apiProducts)).Methods(get...)
	r.Handle("/api/v1/shop/products/{handle}", rs.Wrap(h.apiProduct)).Methods(get...)
	r.Handle("/api/v1/shop/search", rs.Wrap(h.apiSearch)).Methods(get...)
	r.Handle("/api/v1/shop/suggest", rs.Wrap(h.handleSuggest)).Methods(get...)
	r.Handle("/api/v1/shop/categories", rs.Wrap(h.apiCategories)).Methods(get...)
}
