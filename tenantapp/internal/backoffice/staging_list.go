package backoffice

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// stagingQuery is the staging list's filter as typed: in the query string
// of GET /admin/staging, and carried as hidden fields by the forms that
// publish "all that match".
type stagingQuery struct {
	Q, Brand, GTIN, Availability, MinPrice, MaxPrice, Sort string
	Changed, Unpublished                                   bool
	Page                                                   int
}

func readStagingQuery(v url.Values) stagingQuery {
	page, _ := strconv.Atoi(v.Get("page"))
	return stagingQuery{Q: v.Get("q"), Brand: v.Get("brand"), GTIN: v.Get("gtin"), Availability: v.Get("availability"),
		MinPrice: v.Get("min_price"), MaxPrice: v.Get("max_price"), Sort: v.Get("sort"),
		Changed: v.Get("changed") == "1", Unpublished: v.Get("unpublished") == "1", Page: max(page, 1)}
}

// values is the query string that gives this filter (page 1 and the
// default sort are left out).
func (sq stagingQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", sq.Q)
	set("brand", sq.Brand)
	set("gtin", sq.GTIN)
	set("availability", sq.Availability)
	set("min_price", sq.MinPrice)
	set("max_price", sq.MaxPrice)
	if sq.Sort != "changed" {
		set("sort", sq.Sort)
	}
	if sq.Changed {
		v.Set("changed", "1")
	}
	if sq.Unpublished {
		v.Set("unpublished", "1")
	}
	if sq.Page > 1 {
		v.Set("page", strconv.Itoa(sq.Page))
	}
	return v
}

// filtered reports whether any condition is set.
func (sq stagingQuery) filtered() bool {
	return sq.Q != "" || sq.Brand != "" || sq.GTIN != "" || sq.Availability != "" || sq.MinPrice != "" || sq.MaxPrice != "" ||
		sq.Changed || sq.Unpublished
}

// filter turns the typed filter into the staging filter: prices are read
// as decimals in the shop's currency (digits decimal places), as the
// product list reads them.
func (sq stagingQuery) filter(currency string, digits int) (marketplace.StagedFilter, marketplace.FieldErrors) {
	f := marketplace.StagedFilter{Currency: currency, Q: sq.Q, Brand: sq.Brand, GTIN: sq.GTIN, Availability: sq.Availability, Changed: sq.Changed,
		Unpublished: sq.Unpublished, Sort: sq.Sort, Page: sq.Page}
	errs := marketplace.FieldErrors{}
	for _, p := range []struct {
		field, text string
		dst         **int64
	}{{"min_price", sq.MinPrice, &f.MinPrice}, {"max_price", sq.MaxPrice, &f.MaxPrice}} {
		if strings.TrimSpace(p.text) == "" {
			continue
		}
		v, err := catalog.ParseAmount(p.text, digits)
		if err != nil {
			errs[p.field] = err.Error()
			continue
		}
		*p.dst = &v
	}
	for k, v := range f.Check() {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	return f, errs
}

// hidden is the filter as hidden form fields (for the forms that publish
// all the items it matches), without the page.
func (sq stagingQuery) hidden() []hiddenField {
	sq.Page = 1
	return hiddenFields(sq.values())
}

// hiddenField is an <input type="hidden">.
type hiddenField struct{ Name, Value string }

func hiddenFields(v url.Values) []hiddenField {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []hiddenField
	for _, k := range keys {
		for _, s := range v[k] {
			out = append(out, hiddenField{k, s})
		}
	}
	return out
}

// shopCurrency is the shop's currency (its settings) and its decimal
// places: prices in the staging filter are typed in it.
func shopCurrency(ctx context.Context, t *tenant.Tenant) (string, int, error) {
	s, err := storefront.LoadSettings(ctx, t.Pool)
	if err != nil {
		return "", 0, err
	}
	digits, ok := catalog.CurrencyDigits(s.Currency)
	if !ok {
		digits = 2
	}
	return s.Currency, digits, nil
}

// availabilityLabel says an availability for people.
func availabilityLabel(a string) string {
	if a == "" {
		return "not given"
	}
	return strings.ReplaceAll(a, "_", " ")
}

var stagingSorts = []catalogOption{{"changed", "Recently changed"}, {"-changed", "Least recently changed"}, {"title", "Title A-Z"},
	{"-title", "Title Z-A"}, {"id", "Id A-Z"}, {"-id", "Id Z-A"}, {"brand", "Brand A-Z"}, {"-brand", "Brand Z-A"},
	{"price", "Price, lowest first"}, {"-price", "Price, highest first"}}

func availabilityOptions(selected string) template.HTML {
	opts := []catalogOption{{"", "Any availability"}}
	for _, a := range marketplace.Availabilities {
		opts = append(opts, catalogOption{a, availabilityLabel(a)})
	}
	return optionsHTML(opts, selected)
}

// publishForm is what the staging page's selection form holds: the items
// chosen (ids, or all that match the filter) and the publish options, as
// typed.
type publishForm struct {
	IDs                   []int64
	All                   bool
	StockFromAvailability bool
	StockQuantity         string
	NewState              string
}

// checked says whether an item was ticked (when the page comes back with
// errors).
func (f publishForm) checked(id int64) bool {
	for _, x := range f.IDs {
		if x == id {
			return true
		}
	}
	return false
}

// hidden is the selection and the options as hidden form fields, for the
// preview's "Publish" button.
func (f publishForm) hidden(sq stagingQuery) []hiddenField {
	var out []hiddenField
	if f.All {
		out = append(out, hiddenField{"all", "1"})
		out = append(out, sq.hidden()...)
	} else {
		for _, id := range f.IDs {
			out = append(out, hiddenField{"ids", strconv.FormatInt(id, 10)})
		}
	}
	if f.StockFromAvailability {
		out = append(out, hiddenField{"stock_from_availability", "1"}, hiddenField{"stock_quantity", f.StockQuantity})
	}
	return append(out, hiddenField{"new_state", f.NewState})
}

// stagedRowView is a row of the staging list.
type stagedRowView struct {
	marketplace.StagedRow
	URL, ProductURL   string
	Price, SalePrice  string
	AvailabilityLabel string
	Checked           bool
}

// stagingPage is the staging area: the filter, the items, and the form
// that previews a publish of the chosen ones.
type stagingPage struct {
	page
	Query               stagingQuery
	Errors              marketplace.FieldErrors
	Form                publishForm
	Rows                []stagedRowView
	Total               string // "1,234", or "more than 100,000"
	Count               int
	HasNext             bool
	PrevURL, NextURL    string
	Filtered, CanWrite  bool
	Currency            string
	Hidden              []hiddenField
	SortOptions         template.HTML
	AvailabilityOptions template.HTML
	// FormErrors: the selection or the options are wrong (shown above
	// the table, and next to each field).
	FormErrors bool
}

// stagingURL is the staging list with a filter.
func stagingURL(base string, sq stagingQuery) string {
	u := base + "/admin/staging"
	if v := sq.values().Encode(); v != "" {
		u += "?" + v
	}
	return u
}

// GET /admin/staging: the staged items, filtered, sorted and paged, with
// the form to choose some (or all that match) and preview their publish.
func (h *Handler) stagingList(w http.ResponseWriter, r *http.Request) error {
	return h.renderStaging(w, r, http.StatusOK, readStagingQuery(r.URL.Query()), publishForm{NewState: "draft"}, nil)
}

// renderStaging renders the staging page; errs are the filter's or the
// selection form's problems (the list is not read when the filter has
// some).
func (h *Handler) renderStaging(w http.ResponseWriter, r *http.Request, status int, sq stagingQuery, form publishForm, errs marketplace.FieldErrors) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	cur, digits, err := shopCurrency(ctx, t)
	if err != nil {
		return err
	}
	f, ferrs := sq.filter(cur, digits)
	sq.Sort = f.Sort
	if errs == nil {
		errs = marketplace.FieldErrors{}
	}
	for k, v := range ferrs {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	p := &stagingPage{page: h.page(r, "Staging"), Query: sq, Errors: errs, Form: form, Filtered: sq.filtered(),
		CanWrite: Current(ctx).Can("catalog.write"), Currency: cur, Hidden: sq.hidden(),
		SortOptions: optionsHTML(stagingSorts, sq.Sort), AvailabilityOptions: availabilityOptions(sq.Availability)}
	for _, k := range []string{"selection", "stock_quantity", "new_state"} {
		p.FormErrors = p.FormErrors || errs[k] != ""
	}
	prev, next := sq, sq
	prev.Page, next.Page = sq.Page-1, sq.Page+1
	p.PrevURL, p.NextURL = stagingURL(t.Base, prev), stagingURL(t.Base, next)
	if len(ferrs) > 0 {
		if status == http.StatusOK {
			status = http.StatusUnprocessableEntity
		}
		return h.templates.Render(w, status, "admin_staging", p)
	}
	list, err := marketplace.ListStaged(ctx, t.Pool, f)
	if err != nil {
		return err
	}
	p.HasNext, p.Count = list.HasNext, list.Total
	p.Total = groupThousands(list.Total)
	if list.TotalCapped {
		p.Total = "over " + p.Total
	}
	p.Rows = make([]stagedRowView, len(list.Rows))
	for i, row := range list.Rows {
		p.Rows[i] = h.stagedRow(t, row, cur)
		p.Rows[i].Checked = form.checked(row.ID)
	}
	return h.templates.Render(w, status, "admin_staging", p)
}

func (h *Handler) stagedRow(t *tenant.Tenant, row marketplace.StagedRow, shopCur string) stagedRowView {
	v := stagedRowView{StagedRow: row, URL: fmt.Sprintf("%s/admin/staging/%d", t.Base, row.ID),
		AvailabilityLabel: availabilityLabel(row.Availability)}
	v.Price, v.SalePrice = stagedPrices(row, shopCur)
	if row.ProductID != nil {
		v.ProductURL = fmt.Sprintf("%s/admin/products/%d", t.Base, *row.ProductID)
	}
	return v
}

// stagedPrices formats a staged item's price and sale price with the
// catalog's money display (in the shop's currency if the item has none).
func stagedPrices(row marketplace.StagedRow, shopCur string) (price, sale string) {
	cur := row.Currency
	if cur == "" {
		cur = shopCur
	}
	if row.PriceMinor != nil {
		price = catalog.Display(*row.PriceMinor, cur)
	}
	if row.SalePriceMinor != nil {
		sale = catalog.Display(*row.SalePriceMinor, cur)
	}
	return price, sale
}

// groupThousands writes n with thousands separators ("12,345").
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// keyValue is one line of a list of names and values.
type keyValue struct{ Key, Value string }

type translationView struct{ Language, Title, Description string }

// stagedShowPage is one staged item in full.
type stagedShowPage struct {
	page
	Item              *marketplace.StagedItem
	Price, SalePrice  string
	AvailabilityLabel string
	ProductURL        string
	ImportURL         string
	Images            []string
	Attributes        []keyValue
	Translations      []translationView
	CanWrite          bool
}

// GET /admin/staging/{id}: one staged item with every field the feed
// gave, its translations, the import that last changed it and the
// product it is published as.
func (h *Handler) stagedShow(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	it, err := marketplace.GetStaged(ctx, t.Pool, id)
	if errors.Is(err, marketplace.ErrNotFound) {
		return errNoStaged
	}
	if err != nil {
		return err
	}
	cur, _, err := shopCurrency(ctx, t)
	if err != nil {
		return err
	}
	p := stagedShowPage{page: h.page(r, it.Title), Item: it, AvailabilityLabel: availabilityLabel(it.Availability),
		CanWrite: Current(ctx).Can("catalog.write")}
	if p.Title == "" {
		p.Title = it.ExternalID
	}
	p.Price, p.SalePrice = stagedPrices(it.StagedRow, cur)
	if it.ProductID != nil {
		p.ProductURL = fmt.Sprintf("%s/admin/products/%d", t.Base, *it.ProductID)
	}
	if it.LastImportID != nil {
		p.ImportURL = fmt.Sprintf("%s/admin/imports/%d", t.Base, *it.LastImportID)
	}
	if it.ImageLink != "" {
		p.Images = append(p.Images, it.ImageLink)
	}
	p.Images = append(p.Images, it.AdditionalImageLinks...)
	for k, v := range it.Attributes {
		p.Attributes = append(p.Attributes, keyValue{k, v})
	}
	sort.Slice(p.Attributes, func(i, j int) bool { return p.Attributes[i].Key < p.Attributes[j].Key })
	for lang, tr := range it.Translations {
		p.Translations = append(p.Translations, translationView{Language: lang, Title: tr["title"], Description: tr["description"]})
	}
	sort.Slice(p.Translations, func(i, j int) bool { return p.Translations[i].Language < p.Translations[j].Language })
	return h.templates.Render(w, http.StatusOK, "admin_staged_item", p)
}

var errNoStaged = &web.Error{Status: http.StatusNotFound, Message: "There is no such item in this shop's staging area."}
