package storefront

import (
	"html/template"
	"strings"
)

// HTML is the product card (the "productcard" block of the shop's pages):
// picture, brand, title, price with the regular price struck through when
// on sale, and stock. It is written here rather than in a template
// because a catalog page shows 24 cards, and html/template's escaping
// costs a reflective call per value: some 15 per card, which made
// rendering the cards cost as much as reading them from the database. Every
// value is escaped with template.HTMLEscapeString (the URLs are the
// shop's own paths: its prefix, /products/ or /media/, and a handle or id).
func (c *Card) HTML() template.HTML {
	var b strings.Builder
	b.Grow(640)
	esc := func(s string) { b.WriteString(template.HTMLEscapeString(s)) }
	b.WriteString(`<article class="product">
  <a class="card-link" href="`)
	esc(c.URL)
	b.WriteString(`">
    `)
	if im := c.Image; im != nil {
		b.WriteString(`<div class="thumb"><img src="`)
		esc(im.Small)
		b.WriteString(`" srcset="`)
		esc(im.Small)
		b.WriteString(` 200w, `)
		esc(im.Large)
		b.WriteString(` 800w" sizes="(max-width: 520px) 90vw, 280px" alt="`)
		esc(im.Alt)
		b.WriteString(`" loading="lazy"></div>`)
	} else {
		b.WriteString(`<div class="thumb" aria-hidden="true">`)
		esc(c.SKU)
		b.WriteString(`</div>`)
	}
	b.WriteString("\n    ")
	if c.RegularPrice != "" {
		b.WriteString(`<span class="badge sale">Sale</span>`)
	}
	b.WriteString("\n    ")
	if c.Brand != "" {
		b.WriteString(`<span class="brand">`)
		esc(c.Brand)
		b.WriteString(`</span>`)
	}
	b.WriteString("\n    <h3>")
	esc(c.Title)
	b.WriteString("</h3>\n  </a>\n  <div class=\"price\">")
	if c.RegularPrice != "" {
		b.WriteString(`<span class="now">`)
		esc(c.Price)
		b.WriteString(`</span> <s class="was"><span class="visually-hidden">was </span>`)
		esc(c.RegularPrice)
		b.WriteString(`</s>`)
	} else {
		esc(c.Price)
	}
	b.WriteString("</div>\n  <div class=\"stock ")
	esc(c.Stock)
	b.WriteString(`">`)
	esc(c.StockText)
	b.WriteString("</div>\n</article>")
	return template.HTML(b.String()) //nolint:gosec // every value above is escaped
}

// catLinksHTML is the catalog's category list items, <li><a>, one per
// link (written in Go for the reason Card.HTML is; the URLs are the
// shop's own paths with an encoded query).
func catLinksHTML(links []link) template.HTML {
	var b strings.Builder
	for _, l := range links {
		b.WriteString(`<li><a href="`)
		b.WriteString(template.HTMLEscapeString(l.URL))
		b.WriteString(`"`)
		if l.Current {
			b.WriteString(` aria-current="page"`)
		}
		b.WriteString(`>`)
		b.WriteString(template.HTMLEscapeString(l.Label))
		b.WriteString(`</a></li>`)
	}
	return template.HTML(b.String()) //nolint:gosec // every value is escaped
}

// optionsHTML is the <option>s of a select.
func optionsHTML(opts []option) template.HTML {
	var b strings.Builder
	for _, o := range opts {
		b.WriteString(`<option value="`)
		b.WriteString(template.HTMLEscapeString(o.Value))
		b.WriteString(`"`)
		if o.Selected {
			b.WriteString(` selected`)
		}
		b.WriteString(`>`)
		b.WriteString(template.HTMLEscapeString(o.Label))
		b.WriteString(`</option>`)
	}
	return template.HTML(b.String()) //nolint:gosec // every value is escaped
}

// crumbsHTML is a breadcrumb trail: Home, then each link, separated by
// "›" (the page adds the last, unlinked crumb).
func crumbsHTML(base string, links []link) template.HTML {
	var b strings.Builder
	b.WriteString(`<a href="`)
	b.WriteString(template.HTMLEscapeString(base))
	b.WriteString(`/">Home</a>`)
	for _, l := range links {
		b.WriteString(` <span aria-hidden="true">›</span> <a href="`)
		b.WriteString(template.HTMLEscapeString(l.URL))
		b.WriteString(`">`)
		b.WriteString(template.HTMLEscapeString(l.Label))
		b.WriteString(`</a>`)
	}
	return template.HTML(b.String()) //nolint:gosec // every value is escaped
}
