package storefront

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// legalDoc is one of the shop's legal pages.
type legalDoc struct {
	slug, title string
	text        func(*Settings) string
}

var legalDocs = []legalDoc{
	{"imprint", "Imprint", func(s *Settings) string { return s.Imprint }},
	{"terms", "Terms and conditions", func(s *Settings) string { return s.Terms }},
	{"privacy", "Privacy policy", func(s *Settings) string { return s.Privacy }},
}

// legalPage is a legal page's title and its plain text in paragraphs of
// lines; the template escapes every line.
type legalPage struct {
	Title      string
	Paragraphs [][]string
}

// handleLegal serves GET /legal/{imprint,terms,privacy}: the shop's text,
// as plain text.
func (h *Handler) handleLegal(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	p, s, err := LoadPage(r.Context(), t)
	if err != nil {
		return err
	}
	for _, d := range legalDocs {
		if d.slug != mux.Vars(r)["doc"] {
			continue
		}
		text := d.text(&s)
		if text == "" {
			break
		}
		return h.Templates.Render(w, http.StatusOK, "storefront", homePage{Page: p,
			Legal: &legalPage{Title: d.title, Paragraphs: Paragraphs(text)}})
	}
	return &web.Error{Status: http.StatusNotFound, Message: "This shop has not published that page."}
}
