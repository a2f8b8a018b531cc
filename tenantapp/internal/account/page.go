package account

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/shopper"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// page is what every account template gets.
type page struct {
	storefront.Page
	Title    string
	Customer *shopper.CustomerRef // nil: anonymous
	Flash    string
	// Section is the area of the account the page belongs to, for the
	// account menu: overview, orders, addresses, profile ("" on the
	// sign-in pages).
	Section string
	Menu    []menuLink
	Errors  map[string]string
}

// menuLink is a link of the account menu.
type menuLink struct {
	Href, Label string
	Active      bool
}

// menuItems are the account's areas, by section.
var menuItems = []struct{ section, path, label string }{
	{"overview", "/account", "Overview"},
	{"orders", "/account/orders", "Orders"},
	{"addresses", "/account/addresses", "Addresses"},
	{"profile", "/account/profile", "Profile"},
}

// page fills the common fields of a page.
func (h *Handler) page(r *http.Request, title, section string) (page, error) {
	ctx := r.Context()
	p, _, err := storefront.LoadPage(ctx, tenant.FromContext(ctx))
	if err != nil {
		return page{}, err
	}
	pg := page{Page: p, Title: title, Customer: current(ctx), Flash: h.sessions.PopFlash(ctx), Section: section}
	if pg.Customer != nil {
		for _, m := range menuItems {
			pg.Menu = append(pg.Menu, menuLink{Href: p.Base + m.path, Label: m.label, Active: m.section == section})
		}
	}
	return pg, nil
}

// render renders an account page with its status.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) error {
	return h.templates.Render(w, status, name, data)
}

// problem is what is wrong with one field of a form or JSON body.
type problem struct{ Field, Message string }

// problems are a form's field errors, in the order of the form.
type problems []problem

func (p *problems) add(field, message string) {
	for _, q := range *p {
		if q.Field == field {
			return
		}
	}
	*p = append(*p, problem{field, message})
}

// Map is the problems by field, for the templates.
func (p problems) Map() map[string]string {
	m := make(map[string]string, len(p))
	for _, q := range p {
		m[q.Field] = q.Message
	}
	return m
}

// apiError is the problems as a 422 of the JSON API: the first in
// field and message, every one in fields.
func (p problems) apiError() *web.Error {
	return &web.Error{Status: http.StatusUnprocessableEntity, Field: p[0].Field, Message: p[0].Message,
		Extra: map[string]any{"fields": p.Map()}}
}

// customerKey carries the signed-in customer through a request.
type customerKey struct{}

// current is the request's signed-in customer, or nil.
func current(ctx context.Context) *shopper.CustomerRef {
	c, _ := ctx.Value(customerKey{}).(*shopper.CustomerRef)
	return c
}

// safeNext returns next if it is a path of this shop to go back to
// after signing in ("/account/orders?page=2"), else "". Absolute URLs,
// protocol-relative ones ("//evil.example"), backslashes and control
// characters are refused: the redirect never leaves the shop.
func safeNext(next string) string {
	if next == "" || len(next) > 2000 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return ""
	}
	for _, r := range next {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") {
		return ""
	}
	// The sign-in pages themselves are no place to come back to.
	for _, p := range []string{"/account/login", "/account/register", "/account/logout", "/account/password/"} {
		if strings.HasPrefix(u.Path, p) {
			return ""
		}
	}
	return next
}

// redirect sends the browser to a path of the shop (t.Base added).
func redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, tenant.FromContext(r.Context()).Base+path, http.StatusSeeOther)
}

// loginURL is the sign-in page, coming back to next afterwards.
func loginURL(next string) string {
	if next = safeNext(next); next == "" {
		return "/account/login"
	}
	return "/account/login?next=" + url.QueryEscape(next)
}

// dateFormat is how the account pages write dates.
const dateFormat = "2 January 2006"

func formatDate(t time.Time) string { return t.UTC().Format(dateFormat) }
