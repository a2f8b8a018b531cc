package storefront

import (
	"context"
	"fmt"
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

// searchHits is what a search found, as the cache keeps it: the ids of
// the matches (best first, at most maxRanked) and of the products the
// corrected text found, and when.
type searchHits struct {
	Matches []int64 `json:"m"`
	Similar []int64 `json:"s,omitempty"`
	At      int64   `json:"t"` // when the search read the catalog, unix seconds
	Gen     string  `json:"g"` // the vendor's search generation then (search_cache.go)
}

// runSearch reads a page of search results, and the shop's settings if
// asked:
//   - what the text finds (HitsSQL) comes from the cache when the same
//     text (ignoring case and spaces) was searched in this shop within the
//     cache's list life (a minute by default) and nothing was written
//     through its back office since (search_cache.go); otherwise it is
//     read in the same round trip as the settings, and kept;
//   - the page's cards are then read by id (CardsByIDSQL), with today's
//     prices and stock, without what is no longer on sale.
//
// So a text searched again, or the next page of a search, reads a few
// rows by primary key instead of the full-text index. A product added or
// renamed outside the back office (a marketplace publish) shows in the
// results of a text searched just before within that minute.
func runSearch(ctx context.Context, t *tenant.Tenant, q string, page int, settings *Settings) (SearchResult, error) {
	var res SearchResult
	page = max(1, min(page, MaxPage))
	b := &pgx.Batch{}
	if settings != nil {
		queueSettingsCached(ctx, t, b, settings)
	}
	if t.Entry.SchemaVersion < searchWordsSchema {
		queueLegacySearch(b, t, q, page, &res)
		err := sendBatchIfAny(ctx, t, b)
		return res, err
	}
	c := cacheFrom(ctx)
	hits, cached, ticket := c.searchHits(ctx, t, q)
	if !cached {
		b.Queue(HitsSQL, q).Query(func(rows pgx.Rows) error {
			var id int64
			var grp int
			_, err := pgx.ForEachRow(rows, []any{&id, &grp}, func() error {
				if grp == 0 {
					hits.Matches = append(hits.Matches, id)
				} else {
					hits.Similar = append(hits.Similar, id)
				}
				return nil
			})
			return err
		})
	}
	if err := sendBatchIfAny(ctx, t, b); err != nil {
		return res, fmt.Errorf("search for %q: %w", q, err)
	}
	if !cached {
		c.keepSearchHits(ctx, ticket, hits)
	}

	// The page's share of the matches, one more to know whether another
	// page follows, and the corrected text's finds on the first page.
	from := min((page-1)*PageSize, len(hits.Matches))
	ids := hits.Matches[from:min(from+PageSize, len(hits.Matches))]
	res.HasMore = len(hits.Matches) > from+PageSize
	similar := map[int64]bool{}
	if page == 1 {
		ids = append(ids[:len(ids):len(ids)], hits.Similar...)
		for _, id := range hits.Similar {
			similar[id] = true
		}
	}
	if len(ids) == 0 {
		return res, nil
	}
	rows, err := t.Pool.Query(ctx, CardsByIDSQL, ids)
	if err != nil {
		return res, fmt.Errorf("read the results of a search in %s: %w", t.Entry.Slug, err)
	}
	_, err = scanCards(t, rows, func(card Card) {
		if similar[card.ID] {
			res.Similar = append(res.Similar, card)
		} else {
			res.Matches = append(res.Matches, card)
		}
	})
	if err != nil {
		return res, fmt.Errorf("read the results of a search in %s: %w", t.Entry.Slug, err)
	}
	return res, nil
}

// Search is a page of what a text finds in a shop (as the search page and
// the shop API show it), through the cache c (nil: none).
func Search(ctx context.Context, c *Cache, t *tenant.Tenant, q string, page int) (SearchResult, error) {
	return runSearch(context.WithValue(ctx, cacheCtxKey{}, c), t, q, page, nil)
}

// queueLegacySearch queues a page of search results for a schema before
// the vocabulary (legacySearchSQL).
func queueLegacySearch(b *pgx.Batch, t *tenant.Tenant, q string, page int, out *SearchResult) {
	queueTrigramLimits(b)
	b.Queue(legacySearchSQL, q, PageSize+1, (page-1)*PageSize).Query(func(rows pgx.Rows) error {
		var grp int
		_, err := scanCards(t, rows, func(c Card) {
			if grp == 0 {
				out.Matches = append(out.Matches, c)
			} else {
				out.Similar = append(out.Similar, c)
			}
		}, &grp)
		if err != nil {
			return fmt.Errorf("search for %q: %w", q, err)
		}
		if len(out.Matches) > PageSize {
			out.Matches, out.HasMore = out.Matches[:PageSize], true
		}
		return nil
	})
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
