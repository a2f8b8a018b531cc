package backoffice

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// productQuery is a product list's filter as typed in the query string.
type productQuery struct {
	Q, State, Category, MinPrice, MaxPrice, Currency, Sort string
	LowStock                                               bool
	Page                                                   int
}

func readProductQuery(r *http.Request) productQuery {
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	return productQuery{Q: q.Get("q"), State: q.Get("state"), Category: q.Get("category"), MinPrice: q.Get("min_price"),
		MaxPrice: q.Get("max_price"), Currency: strings.ToUpper(strings.TrimSpace(q.Get("currency"))), Sort: q.Get("sort"),
		LowStock: q.Get("low") == "1", Page: max(page, 1)}
}

// values is the query string that gives this filter (page 1 is left out).
func (pq productQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", pq.Q)
	set("state", pq.State)
	set("category", pq.Category)
	set("min_price", pq.MinPrice)
	set("max_price", pq.MaxPrice)
	set("currency", pq.Currency)
	if pq.Sort != "updated" {
		set("sort", pq.Sort)
	}
	if pq.LowStock {
		v.Set("low", "1")
	}
	if pq.Page > 1 {
		v.Set("page", strconv.Itoa(pq.Page))
	}
	return v
}

// filter turns the typed filter into a catalog filter. Prices are read in
// the chosen currency, or with two decimal places if none is chosen.
func (pq productQuery) filter() (catalog.Filter, catalog.FieldErrors) {
	f := catalog.Filter{Query: pq.Q, State: pq.State, Currency: pq.Currency, Sort: pq.Sort, Page: pq.Page, LowStock: pq.LowStock}
	errs := catalog.FieldErrors{}
	digits := 2
	if d, ok := catalog.CurrencyDigits(pq.Currency); ok {
		digits = d
	}
	for _, p := range []struct {
		field, text string
		dst         **int64
	}{{"min_price", pq.MinPrice, &f.MinPrice}, {"max_price", pq.MaxPrice, &f.MaxPrice}} {
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
	if pq.Category != "" {
		id, err := strconv.ParseInt(pq.Category, 10, 64)
		if err != nil || id <= 0 {
			errs["category"] = "Choose a category from the list."
		}
		f.CategoryID = id
	}
	for k, v := range f.Check() {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	return f, errs
}

// productRowView is a row of the inventory list.
type productRowView struct {
	ID                          int64
	SKU, Title, State, StockURL string
	StateClass                  string
	OnHand, Reserved, Available int64
	Threshold                   string
	Low                         bool
}

type catalogOption struct{ Value, Label string }

var sortOptions = []catalogOption{{"updated", "Recently changed"}, {"-updated", "Least recently changed"}, {"title", "Title A-Z"},
	{"-title", "Title Z-A"}, {"sku", "SKU A-Z"}, {"-sku", "SKU Z-A"}, {"price", "Price, lowest first"},
	{"-price", "Price, highest first"}, {"stock", "Stock, lowest first"}, {"-stock", "Stock, highest first"}}

// productListPage is the product list and the inventory list. The
// template reads fields worked out beforehand: html/template resolves
// every field, method and escaper through reflection, which for a page of
// fifty products cost most of the request.
type productListPage struct {
	page
	Query   productQuery
	Errors  catalog.FieldErrors
	HasNext bool
	// CanWrite (catalog.write) shows the bulk edit and New product;
	// CanStock (inventory.read) the link to the inventory.
	CanWrite, CanStock bool
	Filtered           bool
	// Addresses: the neighbouring pages, the CSV export of this filter, and
	// this list's query string for coming back to it.
	PrevURL, NextURL, ExportURL, BackQuery string
	// The filter's choices, as <option>s.
	StateOptions, CategoryOptions, SortOptions template.HTML
	Table                                      template.HTML    // the product list's table
	Rows                                       []productRowView // the inventory list's rows
	path                                       string
}

func (p *productListPage) url(pq productQuery) string {
	u := p.Base + p.path
	if v := pq.values().Encode(); v != "" {
		u += "?" + v
	}
	return u
}

// SortURL is the list sorted by col, or by col descending if it already is
// sorted by col.
func (p *productListPage) SortURL(col string) string {
	q := p.Query
	q.Page = 1
	if q.Sort == col {
		q.Sort = "-" + col
	} else {
		q.Sort = col
	}
	return p.url(q)
}

// GET /admin/products: search, filter, sort and page through products;
// select some for a bulk edit.
func (h *Handler) productList(w http.ResponseWriter, r *http.Request) error {
	return h.listProducts(w, r, "/admin/products", "admin_products", "Products")
}

func (h *Handler) listProducts(w http.ResponseWriter, r *http.Request, path, tmpl, title string) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pq := readProductQuery(r)
	f, errs := pq.filter()
	pq.Sort = f.Sort
	m := Current(ctx)
	d := &productListPage{page: h.page(r, title), Query: pq, Errors: errs, path: path,
		CanWrite: m.Can("catalog.write"), CanStock: m.Can("inventory.read"),
		Filtered: pq.Q != "" || pq.State != "" || pq.Category != "" || pq.MinPrice != "" || pq.MaxPrice != "" || pq.Currency != "" || pq.LowStock}
	prev, next, export := pq, pq, pq
	prev.Page, next.Page, export.Page = pq.Page-1, pq.Page+1, 1
	d.PrevURL, d.NextURL, d.BackQuery = d.url(prev), d.url(next), pq.values().Encode()
	d.ExportURL = t.Base + "/admin/products/export.csv"
	if v := export.values().Encode(); v != "" {
		d.ExportURL += "?" + v
	}
	if len(errs) > 0 {
		cats, err := catalog.Categories(ctx, t.Pool)
		if err != nil {
			return err
		}
		d.setOptions(cats)
		return h.templates.Render(w, http.StatusUnprocessableEntity, tmpl, d)
	}
	list, cats, err := catalog.ListWithCategories(ctx, t.Pool, f)
	if err != nil {
		return err
	}
	d.setOptions(cats)
	d.HasNext = list.HasNext
	if tmpl == "admin_products" {
		if len(list.Rows) > 0 {
			d.Table = d.table(list.Rows)
		}
	} else {
		d.Rows = make([]productRowView, len(list.Rows))
		for i, row := range list.Rows {
			d.Rows[i] = productRowView{ID: row.ID, SKU: row.SKU, Title: row.Title, State: row.State, StateClass: stateClass(row.State),
				StockURL: fmt.Sprintf("%s/admin/inventory/%d", t.Base, row.ID), OnHand: row.Stock.OnHand, Reserved: row.Stock.Reserved,
				Available: row.Stock.Available, Threshold: "–", Low: row.Stock.Low()}
			if th := row.Stock.Threshold; th != nil {
				d.Rows[i].Threshold = strconv.FormatInt(*th, 10)
			}
		}
	}
	return h.templates.Render(w, http.StatusOK, tmpl, d)
}

// setOptions works out the filter's <option>s.
func (p *productListPage) setOptions(cats []catalog.Category) {
	states := []catalogOption{{"", "Any state"}}
	for _, st := range catalog.States {
		states = append(states, catalogOption{st, st})
	}
	categories := []catalogOption{{"", "Any category"}}
	for _, c := range cats {
		categories = append(categories, catalogOption{strconv.FormatInt(c.ID, 10), c.Name})
	}
	p.StateOptions = optionsHTML(states, p.Query.State)
	p.CategoryOptions = optionsHTML(categories, p.Query.Category)
	p.SortOptions = optionsHTML(sortOptions, p.Query.Sort)
}

// optionsHTML renders <option>s, marking the selected one; values and
// labels are escaped.
func optionsHTML(opts []catalogOption, selected string) template.HTML {
	var b strings.Builder
	for _, o := range opts {
		b.WriteString(`<option value="`)
		b.WriteString(html.EscapeString(o.Value))
		b.WriteByte('"')
		if o.Value == selected {
			b.WriteString(" selected")
		}
		b.WriteByte('>')
		b.WriteString(html.EscapeString(o.Label))
		b.WriteString("</option>")
	}
	return template.HTML(b.String()) //nolint:gosec // escaped above
}

// table renders the product list's table in Go rather than in the
// template (see productListPage). Every value from the database or the
// request goes through html.EscapeString, which escapes the five
// characters that matter in text and in quoted attributes; the rest are
// constants and numbers.
func (p *productListPage) table(rows []catalog.Row) template.HTML {
	var b strings.Builder
	b.Grow(1200 + len(rows)*420)
	w := b.WriteString
	esc := func(s string) { b.WriteString(html.EscapeString(s)) }
	num := func(n int64) { var a [20]byte; b.Write(strconv.AppendInt(a[:0], n, 10)) }
	w("<table>\n<thead><tr>")
	if p.CanWrite {
		w(`<th><input type="checkbox" aria-label="Select every product on this page" ` +
			`x-on:change="$root.querySelectorAll('input[name=ids]').forEach(c => c.checked = $event.target.checked)"></th>`)
	}
	for _, col := range []struct{ sort, label, class string }{{"title", "Title", ""}, {"sku", "SKU", ""}, {"", "State", ""},
		{"price", "Price", ` class="num"`}, {"stock", "Available", ` class="num"`}, {"updated", "Changed", ""}} {
		w("<th" + col.class + ">")
		if col.sort == "" {
			w(col.label + "</th>")
			continue
		}
		w(`<a href="`)
		esc(p.SortURL(col.sort))
		w(`">` + col.label + "</a></th>")
	}
	w("</tr></thead>\n<tbody>\n")
	var scratch [64]byte
	now := time.Now()
	for i := range rows {
		r := &rows[i]
		w("<tr>")
		if p.CanWrite {
			w(`<td><input type="checkbox" name="ids" value="`)
			num(r.ID)
			w(`" aria-label="Select `)
			esc(r.Title)
			w(`"></td>`)
		}
		w(`<td><a href="`)
		esc(p.Base)
		w("/admin/products/")
		num(r.ID)
		w(`">`)
		esc(r.Title)
		w("</a>")
		if r.GTIN != "" {
			w(`<div class="muted small mono">GTIN `)
			esc(r.GTIN)
			w("</div>")
		}
		w(`</td><td class="mono">`)
		esc(r.SKU)
		w(`</td><td><span class="badge ` + stateClass(r.State) + `">`)
		esc(r.State)
		w(`</span></td><td class="num">`)
		if r.SalePrice != nil {
			w("<strong>")
			esc(catalog.Display(*r.SalePrice, r.Currency))
			w(`</strong> <s class="muted">`)
			esc(catalog.Display(r.PriceMinor, r.Currency))
			w("</s>")
		} else {
			esc(catalog.Display(r.PriceMinor, r.Currency))
		}
		w(`</td><td class="num">`)
		if r.Stock.Low() {
			w(`<span class="bad-text">`)
			num(r.Stock.Available)
			w("</span>")
		} else {
			num(r.Stock.Available)
		}
		if r.Stock.Reserved != 0 {
			w(` <span class="muted small">(`)
			num(r.Stock.Reserved)
			w(" reserved)</span>")
		}
		w(`</td><td class="nowrap muted" title="`)
		b.Write(r.UpdatedAt.UTC().AppendFormat(scratch[:0], "2006-01-02 15:04 UTC"))
		w(`">`)
		w(catalogAgo(now.Sub(r.UpdatedAt)))
		w("</td></tr>\n")
	}
	w("</tbody>\n</table>")
	return template.HTML(b.String()) //nolint:gosec // every value above is escaped
}

// stateClass is the badge class of a product state.
func stateClass(state string) string {
	switch state {
	case catalog.StateActive:
		return "active"
	case catalog.StateArchived:
		return "deleted"
	}
	return ""
}

// ago says how long ago something was, as the templates' ago does.
func catalogAgo(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " days ago"
}

// CSV export columns.
var exportHeader = []string{"id", "sku", "title", "state", "price", "sale_price", "currency", "gtin", "categories",
	"stock_on_hand", "stock_reserved", "stock_available", "low_stock_threshold", "handle", "description", "updated_at"}

// GET /admin/products/export.csv: the filtered list, every page, as CSV.
// Cells that a spreadsheet would read as a formula start with an
// apostrophe.
func (h *Handler) productExport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	f, errs := readProductQuery(r).filter()
	if len(errs) > 0 {
		return &web.Error{Status: http.StatusUnprocessableEntity, Message: "The filter is not valid: " + errs.Error()}
	}
	out := &exportCounter{w: w}
	bw := bufio.NewWriterSize(out, 32<<10)
	cw := csv.NewWriter(bw)
	name := fmt.Sprintf("%s-products-%s.csv", t.Entry.Slug, time.Now().UTC().Format("20060102-1504"))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_ = cw.Write(exportHeader)
	err := catalog.Export(ctx, t.Pool, f, func(p *catalog.ExportRow) error {
		digits, _ := catalog.CurrencyDigits(p.Currency)
		sale, threshold := "", ""
		if p.SalePrice != nil {
			sale = catalog.FormatAmount(*p.SalePrice, digits)
		}
		if p.Stock.Threshold != nil {
			threshold = strconv.FormatInt(*p.Stock.Threshold, 10)
		}
		rec := []string{strconv.FormatInt(p.ID, 10), p.SKU, p.Title, p.State, catalog.FormatAmount(p.PriceMinor, digits), sale,
			p.Currency, p.GTIN, strings.Join(p.Categories, "; "), strconv.FormatInt(p.Stock.OnHand, 10),
			strconv.FormatInt(p.Stock.Reserved, 10), strconv.FormatInt(p.Stock.Available, 10), threshold, p.Handle,
			p.Description, p.UpdatedAt.UTC().Format(time.RFC3339)}
		for i := range rec {
			rec[i] = catalog.CSVCell(rec[i])
		}
		return cw.Write(rec)
	})
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil && out.n == 0 {
		w.Header().Del("Content-Disposition") // an error page instead of the file
		return err
	}
	if err != nil {
		// Part of the file is on its way: cut the response so that it
		// cannot pass for a whole export.
		if !errors.Is(err, ctx.Err()) {
			h.log.Error("product export failed", "request_id", web.RequestID(ctx), "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}

// exportCounter counts the bytes that went out.
type exportCounter struct {
	w io.Writer
	n int64
}

func (c *exportCounter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
