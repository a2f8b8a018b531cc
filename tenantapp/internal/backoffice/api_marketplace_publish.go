package backoffice

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// The vendor API's staging area and publishes: the same operations as the
// back office's staging and publish pages, with prices in minor units.

// apiStagedFilter is the staging filter as the API takes it: in the query
// string of GET /staging, and as "filter" of a publish.
type apiStagedFilter struct {
	Q             string `json:"q,omitempty"`
	Brand         string `json:"brand,omitempty"`
	GTIN          string `json:"gtin,omitempty"`
	Availability  string `json:"availability,omitempty"`
	MinPriceMinor *int64 `json:"min_price_minor,omitempty"`
	MaxPriceMinor *int64 `json:"max_price_minor,omitempty"`
	Changed       bool   `json:"changed,omitempty"`
	Unpublished   bool   `json:"unpublished,omitempty"`
}

func (f apiStagedFilter) staged() marketplace.StagedFilter {
	return marketplace.StagedFilter{Q: f.Q, Brand: f.Brand, GTIN: f.GTIN, Availability: f.Availability, MinPrice: f.MinPriceMinor,
		MaxPrice: f.MaxPriceMinor, Changed: f.Changed, Unpublished: f.Unpublished}
}

// apiStagedNames are the API's names of the staging filter's error keys.
var apiStagedNames = map[string]string{"min_price": "min_price_minor", "max_price": "max_price_minor"}

// apiMarketplaceErrors is a 422 naming each field by its API name: rename
// gives a key's name ("" keeps it).
func apiMarketplaceErrors(fe marketplace.FieldErrors, rename func(string) string) error {
	out := catalog.FieldErrors{}
	for k, v := range fe {
		if n := rename(k); n != "" {
			k = n
		}
		out[k] = v
	}
	return apiFieldErrors(out)
}

// GET /api/v1/vendor/staging: the staged items a filter selects, sorted
// and paged, with how many match.
func (h *Handler) apiStagingList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	errs := marketplace.FieldErrors{}
	var af apiStagedFilter
	af.Q, af.Brand, af.GTIN, af.Availability = q.Get("q"), q.Get("brand"), q.Get("gtin"), q.Get("availability")
	num := func(name string) (int64, bool) {
		s := q.Get(name)
		if s == "" {
			return 0, false
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			errs[name] = "Use a whole number of 0 or more."
		}
		return v, true
	}
	if v, ok := num("min_price_minor"); ok {
		af.MinPriceMinor = &v
	}
	if v, ok := num("max_price_minor"); ok {
		af.MaxPriceMinor = &v
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"changed", &af.Changed}, {"unpublished", &af.Unpublished}} {
		switch q.Get(b.name) {
		case "", "false":
		case "true":
			*b.dst = true
		default:
			errs[b.name] = "Use true or false."
		}
	}
	f := af.staged()
	f.Sort = q.Get("sort")
	page, _ := num("page")
	size, _ := num("page_size")
	f.Page, f.PageSize = int(min(page, marketplace.MaxPage+1)), int(min(size, marketplace.MaxPageSize+1))
	if f.PageSize > marketplace.MaxPageSize {
		errs["page_size"] = fmt.Sprintf("Use at most %d.", marketplace.MaxPageSize)
	}
	mergeErrors(errs, f.Check())
	if len(errs) > 0 {
		return apiMarketplaceErrors(errs, func(k string) string { return apiStagedNames[k] })
	}
	list, err := marketplace.ListStaged(r.Context(), tenant.FromContext(r.Context()).Pool, f)
	if err != nil {
		return err
	}
	var next *int
	if list.HasNext {
		n := list.Page + 1
		next = &n
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"items": list.Rows, "page": list.Page, "page_size": list.PageSize,
		"next_page": next, "total": list.Total, "total_capped": list.TotalCapped})
	return nil
}

// GET /api/v1/vendor/staging/{id}: one staged item in full.
func (h *Handler) apiStagedGet(w http.ResponseWriter, r *http.Request) error {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	it, err := marketplace.GetStaged(r.Context(), tenant.FromContext(r.Context()).Pool, id)
	if errors.Is(err, marketplace.ErrNotFound) {
		return errNoStaged
	}
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, it)
	return nil
}

// apiPublishRequest is the body of POST /publishes and /publishes/preview:
// the items by id, or all that a filter matches, and the options.
type apiPublishRequest struct {
	IDs     []int64                    `json:"ids"`
	Filter  *apiStagedFilter           `json:"filter"`
	Options marketplace.PublishOptions `json:"options"`
}

// read decodes the body into the selection and the options.
func (in *apiPublishRequest) read(w http.ResponseWriter, r *http.Request) (marketplace.Selection, error) {
	if err := web.DecodeJSON(w, r, in); err != nil {
		return marketplace.Selection{}, err
	}
	sel := marketplace.Selection{IDs: in.IDs}
	if in.Filter != nil {
		f := in.Filter.staged()
		sel.Filter = &f
	}
	return sel, nil
}

// errors is a 422 naming each field by its place in the body: "ids" (or
// "filter" when only a filter was sent) for the selection, "filter.<name>",
// "options.<name>".
func (in *apiPublishRequest) errors(fe marketplace.FieldErrors) error {
	return apiMarketplaceErrors(fe, func(k string) string {
		switch k {
		case "selection":
			if in.Filter != nil && len(in.IDs) == 0 {
				return "filter"
			}
			return "ids"
		case "stock_quantity", "new_state":
			return "options." + k
		}
		if n, ok := apiStagedNames[k]; ok {
			k = n
		}
		return "filter." + k
	})
}

// apiProductValues are a product's values before or after a publish.
type apiProductValues struct {
	Title          string `json:"title"`
	Description    string `json:"description"`
	PriceMinor     int64  `json:"price_minor"`
	SalePriceMinor *int64 `json:"sale_price_minor"`
	Currency       string `json:"currency"`
	GTIN           string `json:"gtin"`
	Brand          string `json:"brand"`
	State          string `json:"state"`
	StockOnHand    int64  `json:"stock_on_hand"`
}

func productValuesJSON(v marketplace.ProductValues) apiProductValues {
	return apiProductValues{Title: v.Title, Description: v.Description, PriceMinor: v.PriceMinor, SalePriceMinor: v.SalePriceMinor,
		Currency: v.Currency, GTIN: v.GTIN, Brand: v.Brand, State: v.State, StockOnHand: v.StockOnHand}
}

type apiItemChange struct {
	StagedID   int64            `json:"staged_id"`
	ExternalID string           `json:"external_id"`
	ProductID  int64            `json:"product_id"`
	SKU        string           `json:"sku"`
	MatchedBy  string           `json:"matched_by"`
	Note       string           `json:"note"`
	Fields     []string         `json:"fields"`
	Before     apiProductValues `json:"before"`
	After      apiProductValues `json:"after"`
}

// POST /api/v1/vendor/publishes/preview: what publishing would do, without
// writing anything.
func (h *Handler) apiPublishPreview(w http.ResponseWriter, r *http.Request) error {
	var in apiPublishRequest
	sel, err := in.read(w, r)
	if err != nil {
		return err
	}
	pv, err := marketplace.PreviewPublish(r.Context(), tenant.FromContext(r.Context()).Pool, sel, in.Options, previewChanges)
	var fe marketplace.FieldErrors
	if errors.As(err, &fe) {
		return in.errors(fe)
	}
	if err != nil {
		return err
	}
	changes := make([]apiItemChange, len(pv.Changes))
	for i, c := range pv.Changes {
		fields := c.Fields
		if fields == nil {
			fields = []string{}
		}
		changes[i] = apiItemChange{StagedID: c.StagedID, ExternalID: c.ExternalID, ProductID: c.ProductID, SKU: c.SKU,
			MatchedBy: c.MatchedBy, Note: c.Note, Fields: fields, Before: productValuesJSON(c.Before), After: productValuesJSON(c.After)}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"selected": pv.Selected, "create": pv.Create, "update": pv.Update,
		"unchanged": pv.Unchanged, "skip": pv.Skip, "skip_reasons": pv.SkipReasons, "changes": changes})
	return nil
}

// POST /api/v1/vendor/publishes: queue a publish (202); follow it at the
// Location.
func (h *Handler) apiPublishCreate(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	var in apiPublishRequest
	sel, err := in.read(w, r)
	if err != nil {
		return err
	}
	pub, err := h.createPublish(r, t, sel, in.Options, apiActor(r))
	var fe marketplace.FieldErrors
	if errors.As(err, &fe) {
		return in.errors(fe)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("%s/api/v1/vendor/publishes/%d", t.Base, pub.ID))
	web.WriteJSON(w, http.StatusAccepted, pub)
	return nil
}

// GET /api/v1/vendor/publishes: the publishes, newest first; ?before=<id>
// pages back.
func (h *Handler) apiPublishList(w http.ResponseWriter, r *http.Request) error {
	return apiQueuedList(h, w, r, marketplace.WorkPublishes, "publishes", marketplace.ListPublishes,
		func(p *marketplace.Publish) int64 { return p.ID })
}

// GET /api/v1/vendor/publishes/{id}: a publish's state and counts.
func (h *Handler) apiPublishGet(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pub, err := loadPublish(r, t)
	if err != nil {
		return err
	}
	wakeStalled(ctx, h, t, marketplace.WorkPublishes, pub)
	web.WriteJSON(w, http.StatusOK, pub)
	return nil
}

// GET /api/v1/vendor/publishes/{id}/items: a page of the publish's items
// and what became of each; ?outcome= keeps one outcome.
func (h *Handler) apiPublishItems(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pub, err := loadPublish(r, t)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	errs := catalog.FieldErrors{}
	outcome := q.Get("outcome")
	if outcome == "" || !validOutcome(outcome) {
		if outcome != "" {
			errs["outcome"] = "Use created, updated, unchanged or skipped."
		}
		outcome = ""
	}
	page := 1
	if s := q.Get("page"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > marketplace.MaxPage {
			errs["page"] = fmt.Sprintf("Use a number from 1 to %d.", marketplace.MaxPage)
		}
		page = v
	}
	if len(errs) > 0 {
		return apiFieldErrors(errs)
	}
	items, err := marketplace.PublishItems(ctx, t.Pool, pub.ID, outcome, page)
	if err != nil {
		return err
	}
	var next *int
	if items.HasNext {
		n := items.Page + 1
		next = &n
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"items": items.Items, "page": items.Page, "page_size": items.PageSize, "next_page": next})
	return nil
}

// POST /api/v1/vendor/publishes/{id}/undo: take a finished publish back.
// 409 with later_publishes when later publishes changed the same products
// (undo those first, newest first), 409 when it cannot be undone now.
func (h *Handler) apiPublishUndo(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pub, err := loadPublish(r, t)
	if err != nil {
		return err
	}
	res, err := marketplace.UndoPublish(ctx, t.Pool, pub.ID, apiActor(r))
	var conflict *marketplace.UndoConflictError
	switch {
	case errors.As(err, &conflict):
		return &web.Error{Status: http.StatusConflict, Message: conflict.Error(), Extra: map[string]any{"later_publishes": conflict.Later}}
	case errors.Is(err, marketplace.ErrNotUndoable):
		if now, gerr := marketplace.GetPublish(ctx, t.Pool, pub.ID); gerr == nil {
			pub = now
		}
		return &web.Error{Status: http.StatusConflict, Message: "This publish cannot be undone now: " + notUndoableReason(pub),
			Extra: map[string]any{"state": pub.State}}
	case errors.Is(err, marketplace.ErrNotFound):
		return errNoPublish
	case err != nil:
		return err
	}
	pub, err = marketplace.GetPublish(ctx, t.Pool, pub.ID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"publish": pub, "result": res})
	return nil
}
