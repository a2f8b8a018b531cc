package storefront

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// catalogList is a catalog page's data, for the page and the API alike.
type catalogList struct {
	Settings   Settings
	Filter     Filter
	Errors     map[string]string
	Categories []Category
	Brands     []Brand
	Category   *Category // the category the list is in, if any
	Products   []Card
	HasMore    bool
}

var errNoCategory = &web.Error{Status: http.StatusNotFound, Field: "category",
	Message: "This category does not exist in the shop (any more). Browse the whole catalog instead."}

// loadCatalog reads a catalog page: the shop's settings, its categories
// and brands for the filters, and the page of products, in one round
// trip (two when prices are filtered: their bounds are read in the shop's
// currency, from its settings). categoryID comes from the path, if it
// names one; minor says the prices in q are minor units (the API).
func loadCatalog(ctx context.Context, t *tenant.Tenant, q url.Values, categoryID int64, minor bool) (*catalogList, error) {
	out := &catalogList{}
	b := &pgx.Batch{}
	if q.Has("min_price") || q.Has("max_price") {
		s, err := loadSettings(ctx, t)
		if err != nil {
			return nil, err
		}
		out.Settings = s
	} else {
		queueSettingsCached(ctx, t, b, &out.Settings)
	}
	out.Filter, out.Errors = ParseFilter(q, out.Settings.Currency, minor)
	if categoryID != 0 {
		out.Filter.CategoryID = categoryID
		delete(out.Errors, "category")
	}
	if _, bad := out.Errors["category"]; bad {
		return nil, errNoCategory
	}
	queueCategoriesCached(ctx, t, b, out.Filter.CategoryID, &out.Categories)
	queueBrandsCached(ctx, t, b, &out.Brands)
	sql, args := ListSQL(out.Filter)
	queueCards(b, t, "list products", &out.Products, sql, args...)
	if err := sendBatch(ctx, t, b); err != nil {
		return nil, err
	}
	out.Filter.Currency = out.Settings.Currency
	if out.Filter.CategoryID != 0 {
		for i, c := range out.Categories {
			if c.ID == out.Filter.CategoryID {
				out.Category = &out.Categories[i]
			}
		}
		if out.Category == nil {
			return nil, errNoCategory
		}
	}
	if len(out.Products) > PageSize {
		out.Products, out.HasMore = out.Products[:PageSize], true
	}
	return out, nil
}

// lastPage is the last page with products of a filter (1 if none).
func lastPage(ctx context.Context, t *tenant.Tenant, f Filter) (int, error) {
	sql, args := CountSQL(f)
	var n int
	if err := t.Pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count products of %s: %w", t.Entry.Slug, err)
	}
	return max(1, (n+PageSize-1)/PageSize), nil
}

// catalogPage is the data of the catalog template.
type catalogPage struct {
	Page
	Heading string
	Action  string // the filter form's path
	List    *catalogList
	Form    url.Values // the filters as typed, to show them again
	Symbol  string     // the shop's currency, for the price fields
	Cats    []link     // categories, each keeping the other filters
	AllURL  string     // the catalog without a category, keeping the other filters
	Brands  []option
	Sorts   []option
	Active  []link // the filters in use, each linking to the list without it
	Clear   string // the list (in its category, if any) without filters
	Pager   pager
	// CatLinks and BrandOptions are Cats and Brands as HTML (catLinksHTML,
	// optionsHTML).
	CatLinks, BrandOptions template.HTML
}

// link is a link with a label; Current marks the one in use.
type link struct {
	Label, URL string
	Current    bool
}

// option is a choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// pager links to the pages around the current one.
type pager struct {
	Page       int
	Prev, Next string
	First      string // the first page, when the previous is not it
}

// pageURL is the address of page n of a list.
func pageURL(path string, v url.Values, n int) string {
	w := url.Values{}
	for k, vs := range v {
		w[k] = vs
	}
	if n > 1 {
		w.Set("page", strconv.Itoa(n))
	}
	return withQuery(path, w)
}

func pagerFor(path string, v url.Values, page int, hasMore bool) pager {
	p := pager{Page: page}
	if page > 1 {
		p.Prev = pageURL(path, v, page-1)
	}
	if page > 2 {
		p.First = pageURL(path, v, 1)
	}
	if hasMore && page < MaxPage {
		p.Next = pageURL(path, v, page+1)
	}
	return p
}

// withQuery is path with a query string, if any.
func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// handleCatalog serves GET /products and GET /categories/{id}: the active
// products, filtered, sorted and paged.
func (h *Handler) handleCatalog(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if t.Entry.SchemaVersion < catalogSchema {
		return errUpgrading(t)
	}
	q := r.URL.Query()
	var pathCategory int64
	if s, ok := mux.Vars(r)["id"]; ok {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return errNoCategory
		}
		pathCategory = id
	}
	list, err := loadCatalog(r.Context(), t, q, pathCategory, false)
	if err != nil {
		return err
	}
	f := list.Filter
	path := t.Base + "/products"
	if pathCategory != 0 {
		path = t.Base + "/categories/" + strconv.FormatInt(pathCategory, 10)
	}
	v := f.Values(pathCategory == 0)
	// Past the last page: the last page with products (or the first).
	if len(list.Products) == 0 && f.Page > 1 {
		last, err := lastPage(r.Context(), t, f)
		if err != nil {
			return err
		}
		http.Redirect(w, r, pageURL(path, v, last), http.StatusFound)
		return nil
	}
	// A page number out of range, or not a number, is clamped: send the
	// shopper to the page they see, so that the address says it.
	if raw := q.Get("page"); raw != "" && raw != strconv.Itoa(f.Page) {
		http.Redirect(w, r, pageURL(path, v, f.Page), http.StatusFound)
		return nil
	}

	data := catalogPage{Page: h.look(t, list.Settings).pageIn("catalog"), List: list, Form: q, Action: path, Symbol: list.Settings.Currency,
		Heading: "All products", Clear: path, Pager: pagerFor(path, v, f.Page, list.HasMore)}
	if list.Category != nil {
		data.Heading = list.Category.Name
	}
	// Category links keep the other filters, and start at page 1.
	others := f.Values(false)
	data.AllURL = withQuery(t.Base+"/products", others)
	for _, c := range list.Categories {
		data.Cats = append(data.Cats, link{Label: c.Name, URL: withQuery(c.URL, others), Current: c.ID == f.CategoryID})
	}
	data.Brands = append(data.Brands, option{Value: "", Label: "All brands"})
	for _, b := range list.Brands {
		data.Brands = append(data.Brands, option{Value: b.Name, Label: b.Name, Selected: strings.EqualFold(b.Name, f.Brand)})
	}
	if f.Brand != "" && !anySelected(data.Brands) {
		data.Brands = append(data.Brands, option{Value: f.Brand, Label: f.Brand, Selected: true})
	}
	data.CatLinks, data.BrandOptions = catLinksHTML(data.Cats), optionsHTML(data.Brands)
	for _, s := range Sorts {
		data.Sorts = append(data.Sorts, option{Value: s.Key, Label: s.Label, Selected: s.Key == f.Sort})
	}
	// The filters in use, each removable on its own (the category is the
	// page's own: the breadcrumbs lead out of it).
	without := func(keys ...string) string {
		w := f.Values(pathCategory == 0)
		for _, k := range keys {
			w.Del(k)
		}
		return withQuery(path, w)
	}
	if f.Brand != "" {
		data.Active = append(data.Active, link{Label: "Brand: " + f.Brand, URL: without("brand")})
	}
	if f.MinPrice != nil || f.MaxPrice != nil {
		vals := f.Values(false)
		label := "Price: "
		switch {
		case f.MinPrice != nil && f.MaxPrice != nil:
			label += vals.Get("min_price") + " to " + vals.Get("max_price")
		case f.MinPrice != nil:
			label += "from " + vals.Get("min_price")
		default:
			label += "up to " + vals.Get("max_price")
		}
		data.Active = append(data.Active, link{Label: label + " " + f.Currency, URL: without("min_price", "max_price")})
	}
	if f.InStock {
		data.Active = append(data.Active, link{Label: "In stock", URL: without("in_stock")})
	}
	w.Header().Set("Cache-Control", cachePublic)
	return h.Templates.Render(w, http.StatusOK, "shop_catalog", data)
}

func anySelected(opts []option) bool {
	for _, o := range opts {
		if o.Selected {
			return true
		}
	}
	return false
}
