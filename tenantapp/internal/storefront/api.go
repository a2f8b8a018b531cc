package storefront

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// writeJSON answers with v as JSON and a cache life: the shop API's
// catalog is public, so shared caches may keep it briefly.
func writeJSON(w http.ResponseWriter, cache string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode the answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", cache)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(append(b, '\n'))
	return err
}

// apiMoney is an amount: integer minor units of an ISO 4217 currency, and
// the amount as the shop shows it.
type apiMoney struct {
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
	Formatted   string `json:"formatted"`
}

func moneyJSON(minor int64, currency string) apiMoney {
	return apiMoney{AmountMinor: minor, Currency: currency, Formatted: money.Format(minor, currency)}
}

// apiImage is a product picture in the sizes the shop serves.
type apiImage struct {
	MediaID  int64  `json:"media_id"`
	SmallURL string `json:"small_url"`
	LargeURL string `json:"large_url"`
	Alt      string `json:"alt"`
}

// apiProductSummary is a product in a list.
type apiProductSummary struct {
	ID     int64  `json:"id"`
	Handle string `json:"handle"`
	SKU    string `json:"sku"`
	Title  string `json:"title"`
	Brand  string `json:"brand"`
	URL    string `json:"url"`
	// Price is what the shopper pays; RegularPrice is the price before
	// the sale, when the product is on sale.
	Price        apiMoney  `json:"price"`
	RegularPrice *apiMoney `json:"regular_price"`
	Availability string    `json:"availability"`
	// QuantityLeft is set when few are left (low_stock).
	QuantityLeft *int64    `json:"quantity_left"`
	Image        *apiImage `json:"image"`
}

func summaryJSON(c *Card) apiProductSummary {
	out := apiProductSummary{ID: c.ID, Handle: c.Handle, SKU: c.SKU, Title: c.Title, Brand: c.Brand, URL: c.URL,
		Price: moneyJSON(c.PriceMinor, c.Currency), Availability: c.StockState()}
	if c.RegularMinor != nil {
		m := moneyJSON(*c.RegularMinor, c.Currency)
		out.RegularPrice = &m
	}
	if out.Availability == StockLow {
		n := c.Available
		out.QuantityLeft = &n
	}
	if c.Image != nil {
		out.Image = &apiImage{MediaID: c.Image.MediaID, SmallURL: c.Image.Small, LargeURL: c.Image.Large, Alt: c.Image.Alt}
	}
	return out
}

func summariesJSON(cards []Card) []apiProductSummary {
	out := make([]apiProductSummary, len(cards))
	for i := range cards {
		out[i] = summaryJSON(&cards[i])
	}
	return out
}

// apiCategory is a category of the shop.
type apiCategory struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// apiProductDetail is one product in full.
type apiProductDetail struct {
	apiProductSummary
	Description string        `json:"description"`
	GTIN        *string       `json:"gtin"`
	Images      []apiImage    `json:"images"`
	Categories  []apiCategory `json:"categories"`
}

// apiProductPage is a page of a product list.
type apiProductPage struct {
	Products []apiProductSummary `json:"products"`
	Page     int                 `json:"page"`
	PageSize int                 `json:"page_size"`
	HasMore  bool                `json:"has_more"`
}

// apiFieldError is a 422 naming every invalid query parameter.
func apiFieldError(errs map[string]string) error {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e := web.FieldError(keys[0], errs[keys[0]])
	e.Extra = map[string]any{"fields": errs}
	return e
}

// GET /api/v1/shop/products: the catalog's filters, sorts and pages, with
// prices in minor units (min_price_minor, max_price_minor).
func (h *Handler) apiProducts(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if t.Entry.SchemaVersion < catalogSchema {
		return errUpgrading(t)
	}
	q := r.URL.Query()
	// Price bounds are minor units here: the shop's currency is not needed
	// to read them.
	q.Del("min_price")
	q.Del("max_price")
	list, err := loadCatalog(r.Context(), t, q, 0, true)
	if err != nil {
		return err
	}
	if len(list.Errors) > 0 {
		return apiFieldError(list.Errors)
	}
	return writeJSON(w, cachePublic, apiProductPage{Products: summariesJSON(list.Products), Page: list.Filter.Page,
		PageSize: PageSize, HasMore: list.HasMore})
}

// GET /api/v1/shop/products/{handle}: one active product in full; a SKU's
// handle finds the product too (its own handle is in the answer).
func (h *Handler) apiProduct(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if t.Entry.SchemaVersion < catalogSchema {
		return errUpgrading(t)
	}
	handle, ok := lookupHandle(mux.Vars(r)["handle"])
	var p *Product
	if ok {
		var err error
		if p, err = loadProduct(r.Context(), t, handle, nil); err != nil {
			return err
		}
	}
	if p == nil {
		return &web.Error{Status: http.StatusNotFound, Message: "There is no such product in this shop."}
	}
	out := apiProductDetail{apiProductSummary: summaryJSON(&p.Card), Description: p.Description,
		Images: []apiImage{}, Categories: []apiCategory{}}
	if p.GTIN != "" {
		out.GTIN = &p.GTIN
	}
	for _, im := range p.Images {
		out.Images = append(out.Images, apiImage{MediaID: im.MediaID, SmallURL: im.Small, LargeURL: im.Large, Alt: im.Alt})
	}
	for _, c := range p.Categories {
		out.Categories = append(out.Categories, apiCategory(c))
	}
	return writeJSON(w, cachePublic, out)
}

// apiSearchPage is a page of search results.
type apiSearchPage struct {
	Query    string              `json:"query"`
	Products []apiProductSummary `json:"products"`
	Similar  []apiProductSummary `json:"similar"`
	Page     int                 `json:"page"`
	PageSize int                 `json:"page_size"`
	HasMore  bool                `json:"has_more"`
}

// GET /api/v1/shop/search?q=: as the search page.
func (h *Handler) apiSearch(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if t.Entry.SchemaVersion < catalogSchema {
		return errUpgrading(t)
	}
	q, err := CheckQuery(r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	page := ParsePage(r.URL.Query().Get("page"))
	out := apiSearchPage{Query: q, Page: page, PageSize: PageSize, Products: []apiProductSummary{}, Similar: []apiProductSummary{}}
	if q != "" {
		res, err := runSearch(r.Context(), t, q, page, nil)
		if err != nil {
			return err
		}
		out.Products, out.Similar, out.HasMore = summariesJSON(res.Matches), summariesJSON(res.Similar), res.HasMore
	}
	return writeJSON(w, cachePublic, out)
}

// GET /api/v1/shop/categories: the categories with products on sale.
func (h *Handler) apiCategories(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if t.Entry.SchemaVersion < catalogSchema {
		return errUpgrading(t)
	}
	var cats []Category
	b := &pgx.Batch{}
	queueCategoriesCached(r.Context(), t, b, 0, &cats)
	if err := sendBatchIfAny(r.Context(), t, b); err != nil {
		return err
	}
	out := struct {
		Categories []apiCategory `json:"categories"`
	}{Categories: []apiCategory{}}
	for _, c := range cats {
		out.Categories = append(out.Categories, apiCategory(c))
	}
	return writeJSON(w, cachePublic, out)
}
