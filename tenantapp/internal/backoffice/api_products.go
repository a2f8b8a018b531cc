package backoffice

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type apiStock struct {
	OnHand            int64  `json:"on_hand"`
	Reserved          int64  `json:"reserved"`
	Available         int64  `json:"available"`
	LowStockThreshold *int64 `json:"low_stock_threshold"`
	Low               bool   `json:"low"`
}

func stockJSON(s catalog.Stock) apiStock {
	return apiStock{OnHand: s.OnHand, Reserved: s.Reserved, Available: s.Available, LowStockThreshold: s.Threshold, Low: s.Low()}
}

// apiProductSummary is a product in a list.
type apiProductSummary struct {
	ID             int64     `json:"id"`
	SKU            string    `json:"sku"`
	Title          string    `json:"title"`
	GTIN           *string   `json:"gtin"`
	PriceMinor     int64     `json:"price_minor"`
	SalePriceMinor *int64    `json:"sale_price_minor"`
	Currency       string    `json:"currency"`
	State          string    `json:"state"`
	Stock          apiStock  `json:"stock"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// apiProduct is one product in full.
type apiProduct struct {
	ID             int64      `json:"id"`
	SKU            string     `json:"sku"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	Handle         string     `json:"handle"`
	GTIN           *string    `json:"gtin"`
	PriceMinor     int64      `json:"price_minor"`
	SalePriceMinor *int64     `json:"sale_price_minor"`
	Currency       string     `json:"currency"`
	State          string     `json:"state"`
	CategoryIDs    []int64    `json:"category_ids"`
	Images         []apiImage `json:"images"`
	Stock          apiStock   `json:"stock"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// apiImage is one of a product's images; url is the original, served by
// the shop (relative to the shop's address, like the servers entry of the
// OpenAPI document).
type apiImage struct {
	MediaID  int64  `json:"media_id"`
	Position int    `json:"position"`
	URL      string `json:"url"`
	AltText  string `json:"alt_text"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// productJSON is a product with its images.
func productJSON(r *http.Request, p *catalog.Product) (apiProduct, error) {
	t := tenant.FromContext(r.Context())
	images, err := catalog.Images(r.Context(), t.Pool, p.ID)
	if err != nil {
		return apiProduct{}, err
	}
	ids := p.CategoryIDs
	if ids == nil {
		ids = []int64{}
	}
	out := apiProduct{ID: p.ID, SKU: p.SKU, Title: p.Title, Description: p.Description, Handle: p.Handle, GTIN: nullString(p.GTIN),
		PriceMinor: p.PriceMinor, SalePriceMinor: p.SalePrice, Currency: p.Currency, State: p.State, CategoryIDs: ids,
		Images: make([]apiImage, len(images)), Stock: stockJSON(p.Stock), CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
	for i, im := range images {
		out.Images[i] = apiImage{MediaID: im.MediaID, Position: im.Position, URL: media.URL(t.Base, im.MediaID, "original"),
			AltText: im.AltText, Width: im.Width, Height: im.Height}
	}
	return out, nil
}

// writeProduct answers with a product in full.
func writeProduct(w http.ResponseWriter, r *http.Request, status int, p *catalog.Product) error {
	out, err := productJSON(r, p)
	if err != nil {
		return err
	}
	web.WriteJSON(w, status, out)
	return nil
}

// apiQuery reads the list filter from the query string: the back
// office's filters, with prices in minor units.
func apiQuery(q url.Values) (catalog.Filter, catalog.FieldErrors) {
	f := catalog.Filter{Query: q.Get("q"), State: q.Get("state"), Currency: q.Get("currency"), Sort: q.Get("sort")}
	errs := catalog.FieldErrors{}
	num := func(name string) int64 {
		s := q.Get(name)
		if s == "" {
			return 0
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			errs[name] = "Use a whole number of 0 or more."
		}
		return v
	}
	f.CategoryID = num("category_id")
	f.Page, f.PageSize = int(min(num("page"), catalog.MaxPage+1)), int(min(num("page_size"), catalog.MaxPageSize+1))
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"min_price_minor", &f.MinPrice}, {"max_price_minor", &f.MaxPrice}} {
		if q.Get(p.name) != "" {
			v := num(p.name)
			*p.dst = &v
		}
	}
	switch q.Get("low_stock") {
	case "", "false":
	case "true":
		f.LowStock = true
	default:
		errs["low_stock"] = "Use true or false."
	}
	if f.PageSize > catalog.MaxPageSize {
		errs["page_size"] = fmt.Sprintf("Use at most %d.", catalog.MaxPageSize)
	}
	for k, v := range f.Check() {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	if f.Sort == "" {
		f.Sort = "updated"
	}
	return f, errs
}

// GET /api/v1/vendor/products
func (h *Handler) apiProductList(w http.ResponseWriter, r *http.Request) error {
	f, errs := apiQuery(r.URL.Query())
	if len(errs) > 0 {
		return apiFieldErrors(errs)
	}
	list, err := catalog.List(r.Context(), tenant.FromContext(r.Context()).Pool, f)
	if err != nil {
		return err
	}
	out := make([]apiProductSummary, len(list.Rows))
	for i, p := range list.Rows {
		out[i] = apiProductSummary{ID: p.ID, SKU: p.SKU, Title: p.Title, GTIN: nullString(p.GTIN), PriceMinor: p.PriceMinor,
			SalePriceMinor: p.SalePrice, Currency: p.Currency, State: p.State, Stock: stockJSON(p.Stock), UpdatedAt: p.UpdatedAt.UTC()}
	}
	var next *int
	if list.HasNext {
		n := list.Page + 1
		next = &n
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"products": out, "page": list.Page, "page_size": list.PageSize, "next_page": next})
	return nil
}

func (h *Handler) apiProduct(r *http.Request) (*catalog.Product, error) {
	id, err := catalogID(r)
	if err != nil {
		return nil, err
	}
	p, err := catalog.Get(r.Context(), tenant.FromContext(r.Context()).Pool, id)
	if err != nil {
		return nil, orNotFound(err, errNoProduct)
	}
	return p, nil
}

// GET /api/v1/vendor/products/{id}
func (h *Handler) apiProductGet(w http.ResponseWriter, r *http.Request) error {
	p, err := h.apiProduct(r)
	if err != nil {
		return err
	}
	return writeProduct(w, r, http.StatusOK, p)
}

// apiProductInput is the body of a create (every property; sku, title,
// price_minor and currency required) or of an update (only the
// properties to change; null clears gtin and sale_price_minor).
type apiProductInput struct {
	SKU            jsonOptional[string]  `json:"sku"`
	Title          jsonOptional[string]  `json:"title"`
	Description    jsonOptional[string]  `json:"description"`
	GTIN           jsonOptional[string]  `json:"gtin"`
	PriceMinor     jsonOptional[int64]   `json:"price_minor"`
	SalePriceMinor jsonOptional[int64]   `json:"sale_price_minor"`
	Currency       jsonOptional[string]  `json:"currency"`
	State          jsonOptional[string]  `json:"state"`
	CategoryIDs    jsonOptional[[]int64] `json:"category_ids"`
}

// apply puts the properties that were sent onto f.
func (in *apiProductInput) apply(f *catalog.Fields) catalog.FieldErrors {
	errs := catalog.FieldErrors{}
	str := func(o jsonOptional[string], name string, dst *string, nullable bool) {
		switch {
		case !o.Set:
		case o.Value != nil:
			*dst = *o.Value
		case nullable:
			*dst = ""
		default:
			errs[name] = "This property cannot be null."
		}
	}
	str(in.SKU, "sku", &f.SKU, false)
	str(in.Title, "title", &f.Title, false)
	str(in.Description, "description", &f.Description, true)
	str(in.GTIN, "gtin", &f.GTIN, true)
	str(in.Currency, "currency", &f.Currency, false)
	str(in.State, "state", &f.State, false)
	if in.PriceMinor.Set {
		if in.PriceMinor.Value == nil {
			errs["price"] = "This property cannot be null."
		} else {
			f.PriceMinor = *in.PriceMinor.Value
		}
	}
	if in.SalePriceMinor.Set {
		f.SalePrice = in.SalePriceMinor.Value
	}
	if in.CategoryIDs.Set {
		f.CategoryIDs = nil
		if in.CategoryIDs.Value != nil {
			f.CategoryIDs = *in.CategoryIDs.Value
		}
	}
	return errs
}

// POST /api/v1/vendor/products
func (h *Handler) apiProductCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in apiProductInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	f := catalog.Fields{State: catalog.StateDraft}
	errs := in.apply(&f)
	for _, req := range []struct {
		set  bool
		name string
	}{{in.SKU.Set, "sku"}, {in.Title.Set, "title"}, {in.PriceMinor.Set, "price"}, {in.Currency.Set, "currency"}} {
		if !req.set {
			errs[req.name] = "This property is required."
		}
	}
	if len(errs) > 0 {
		return apiFieldErrors(errs)
	}
	p, err := catalog.Create(ctx, tenant.FromContext(ctx).Pool, f, apiActor(r))
	if fe, ok := catalog.AsFieldErrors(err); ok {
		return apiFieldErrors(fe)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("%s/api/v1/vendor/products/%d", tenant.FromContext(ctx).Base, p.ID))
	return writeProduct(w, r, http.StatusCreated, p)
}

// PATCH /api/v1/vendor/products/{id}: changes the properties sent. If the
// product changes between reading and saving it, nothing is saved (409).
func (h *Handler) apiProductUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := h.apiProduct(r)
	if err != nil {
		return err
	}
	var in apiProductInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	f := p.Fields()
	if errs := in.apply(&f); len(errs) > 0 {
		return apiFieldErrors(errs)
	}
	saved, err := catalog.Update(ctx, tenant.FromContext(ctx).Pool, p.ID, p.UpdatedAt, f, apiActor(r))
	if fe, ok := catalog.AsFieldErrors(err); ok {
		return apiFieldErrors(fe)
	}
	if errors.Is(err, catalog.ErrChanged) {
		return &web.Error{Status: http.StatusConflict, Message: "The product changed while this update was made; nothing was saved. Read it again and retry."}
	}
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	return writeProduct(w, r, http.StatusOK, saved)
}

// DELETE /api/v1/vendor/products/{id}: refused (409) for a product with
// stock history; archive it with a PATCH of state instead.
func (h *Handler) apiProductDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	err = catalog.Delete(ctx, tenant.FromContext(ctx).Pool, id, apiActor(r))
	var inUse *catalog.InUseError
	if errors.As(err, &inUse) {
		return &web.Error{Status: http.StatusConflict, Message: strings.Replace(inUse.Message, "Archive it instead", "Archive it instead (PATCH state to archived)", 1)}
	}
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// PUT /api/v1/vendor/products/{id}/images: replaces the product's images
// with media_ids, in that order ([] removes them all). An id that is not
// an image of this shop's library, an id twice or more than
// catalog.MaxImages ids is a 422 and changes nothing.
func (h *Handler) apiProductImages(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	var in struct {
		MediaIDs *[]int64 `json:"media_ids"`
	}
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.MediaIDs == nil {
		return apiFieldErrors(catalog.FieldErrors{"media_ids": "This property is required: the list of media ids, in order ([] for none)."})
	}
	pool := tenant.FromContext(ctx).Pool
	_, err = catalog.SetImages(ctx, pool, id, *in.MediaIDs, apiActor(r))
	if fe, ok := catalog.AsFieldErrors(err); ok {
		return apiFieldErrors(fe)
	}
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	p, err := catalog.Get(ctx, pool, id)
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	return writeProduct(w, r, http.StatusOK, p)
}
