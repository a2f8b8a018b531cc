package storefront

import (
	"context"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// searchPage is the data of the search template.
type searchPage struct {
	Page
	Query  string
	Result SearchResult
	Pager  pager
}

// runSearch reads a page of search results, and the shop's settings if
// asked, in one round trip.
func runSearch(ctx context.Context, t *tenant.Tenant, q string, page int, settings *Settings) (SearchResult, error) {
	var res SearchResult
	b := &pgx.Batch{}
	if settings != nil {
		queueSettingsCached(ctx, t, b, settings)
	}
	queueSearch(b, t, q, page, &res)
	if err := sendBatch(ctx, t, b); err != nil {
		return res, err
	}
	return res, nil
}

// handleSearch serves GET /search?q=: products found by full-text search
// in the shop's language (websearch syntax: "quoted phrases", -excluded
// words, or), best first, with titles that look like the query when
// there are few matches.
func (h *Handler) handleSearch(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if t.Entry.SchemaVersion < catalogSchema {
		return errUpgrading(t)
	}
	q, err := CheckQuery(r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	page := ParsePage(r.URL.Query().Get("page"))
	data := searchPage{Query: q}
	var s Settings
	if q == "" {
		p, _, err := LoadPage(r.Context(), t)
		if err != nil {
			return err
		}
		data.Page = p
	} else {
		if data.Result, err = runSearch(r.Context(), t, q, page, &s); err != nil {
			return err
		}
		data.Page = h.look(t, s).pageIn("search")
		data.Pager = pagerFor(t.Base+"/search", url.Values{"q": {q}}, page, data.Result.HasMore)
	}
	data.Search, data.Section = q, "search"
	w.Header().Set("Cache-Control", cachePublic)
	return h.Templates.Render(w, http.StatusOK, "shop_search", data)
}

// FlagSearchSuggestions is the feature flag that turns title suggestions
// on (on by default; see docs/settings.md).
const FlagSearchSuggestions = "storefront.search_suggestions"

// suggestions is the JSON of GET /search/suggest.
type suggestions struct {
	Suggestions []Suggestion `json:"suggestions"`
}

// handleSuggest serves GET /search/suggest?q= and GET
// /api/v1/shop/suggest?q=: at most 8 titles for what has been typed (at
// least two characters), as JSON.
func (h *Handler) handleSuggest(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if t.Entry.SchemaVersion < catalogSchema {
		return errUpgrading(t)
	}
	q, err := CheckQuery(r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	out := suggestions{Suggestions: []Suggestion{}}
	if h.Flags != nil && !h.Flags.Enabled(r.Context(), t.Entry.VendorID, FlagSearchSuggestions) {
		return writeJSON(w, "no-store", out) // switched off by the platform: nothing to suggest
	}
	if utf8.RuneCountInString(q) >= 2 {
		b := &pgx.Batch{}
		queueSuggest(b, t, q, &out.Suggestions)
		if err := sendBatch(r.Context(), t, b); err != nil {
			return err
		}
	}
	return writeJSON(w, cacheSuggestions, out)
}
