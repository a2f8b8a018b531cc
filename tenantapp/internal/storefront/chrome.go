package storefront

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"sync"

	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Every storefront page shows the shop's header and footer, which depend
// only on the shop's settings (and, for the header, on the section and
// the text in the search box). Rendering them through html/template costs
// more than reading a product, so they are rendered once per shop and
// settings and kept in the process with the page fields made of the same
// settings (pageFor): a shop's look. A look is used only for the settings
// it was made of (compared field by field, so a change shows at once,
// wherever the settings came from); its key carries the vendor's id, its
// database and the URL prefix its pages are served under, so nothing is
// shared between vendors.

// lookKey names one vendor's look.
type lookKey struct {
	vendorID int64
	db       string // host:port/name of the vendor's database
	base     string // tenant.Tenant.Base
}

// shopLook is the page fields made of a shop's settings, and the header
// (per section) and footer rendered with them.
type shopLook struct {
	settings Settings
	page     Page
	headers  map[string]template.HTML
	footer   template.HTML
}

// maxLooks bounds the looks kept (vendors × URL prefixes).
const maxLooks = 10_000

var (
	looksMu sync.RWMutex
	looks   = map[lookKey]*shopLook{}
)

// chromeSections are the sections whose header is kept rendered (with an
// empty search box); a search page renders its own.
var chromeSections = []string{"home", "catalog"}

// look returns the shop's look for settings s: the kept one if it was made
// of the same settings, else a new one (kept for the next page).
func (h *Handler) look(t *tenant.Tenant, s Settings) *shopLook {
	k := lookKey{vendorID: t.Entry.VendorID, db: t.Entry.DBHost + ":" + strconv.Itoa(t.Entry.DBPort) + "/" + t.Entry.DBName, base: t.Base}
	looksMu.RLock()
	l, ok := looks[k]
	looksMu.RUnlock()
	if ok && sameSettings(l.settings, s) {
		return l
	}
	l = &shopLook{settings: s, page: pageFor(t, s)}
	h.chrome(l)
	looksMu.Lock()
	defer looksMu.Unlock()
	if len(looks) >= maxLooks {
		clear(looks)
	}
	looks[k] = l
	return l
}

// sameSettings reports whether two settings show the same.
func sameSettings(a, b Settings) bool {
	la, lb := a.LogoMediaID, b.LogoMediaID
	ta, tb := a.UpdatedAt, b.UpdatedAt
	a.LogoMediaID, b.LogoMediaID = nil, nil
	a.UpdatedAt, b.UpdatedAt = ta.UTC(), tb.UTC()
	return a == b && (la == nil) == (lb == nil) && (la == nil || *la == *lb)
}

// chrome renders the shop's footer, and its header for each of
// chromeSections, into l. It leaves them empty if rendering fails (pages
// then render the templates themselves).
func (h *Handler) chrome(l *shopLook) {
	if h.Templates == nil || !h.Templates.Has("shop_chrome") {
		return
	}
	render := func(part string, p Page) template.HTML {
		w := &bufferWriter{}
		if err := h.Templates.Render(w, http.StatusOK, "shop_chrome", chromePart{Part: part, Page: p}); err != nil {
			return ""
		}
		return template.HTML(w.buf.String()) //nolint:gosec // html/template's output
	}
	l.headers = map[string]template.HTML{}
	for _, section := range chromeSections {
		p := l.page
		p.Section = section
		l.headers[section] = render("header", p)
	}
	l.footer = render("footer", l.page)
}

// pageIn is the shop's page fields for a page of section, with the
// header and footer already rendered when they are kept.
func (l *shopLook) pageIn(section string) Page {
	p := l.page
	p.Section = section
	p.HeaderHTML, p.FooterHTML = l.headers[section], l.footer
	return p
}

// chromePart is the data of the shop_chrome template.
type chromePart struct {
	Part string
	Page Page
}

// bufferWriter is an http.ResponseWriter that keeps the body.
type bufferWriter struct {
	buf    bytes.Buffer
	header http.Header
}

func (w *bufferWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *bufferWriter) Write(b []byte) (int, error) { return w.buf.Write(b) }

func (w *bufferWriter) WriteHeader(int) {}
