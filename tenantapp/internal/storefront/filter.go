package storefront

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/web"
)

const (
	// PageSize is how many products a catalog or search page shows.
	PageSize = 24
	// MaxPage is the last page a list can be paged to: offsets stay
	// bounded, and shoppers narrow a longer list with filters or search.
	MaxPage = 100
	// MaxQueryLen is the longest search text, in characters.
	MaxQueryLen = 200
	// LowStock is the number of items left at and below which a product
	// shows "only N left".
	LowStock = 5
	// maxSuggestions is how many titles the search box suggests.
	maxSuggestions = 8
	// fewHits is the number of full-text matches below which the search
	// also shows titles that look like the query (typos).
	fewHits = 5
)

// Sorts are the catalog's orders, by the key in ?sort=.
var Sorts = []Choice{
	{Key: "newest", Label: "Newest first"},
	{Key: "price_asc", Label: "Price: low to high"},
	{Key: "price_desc", Label: "Price: high to low"},
	{Key: "title", Label: "Name: A to Z"},
}

// Filter is what a catalog list shows: the filters, the order and the page.
type Filter struct {
	CategoryID int64
	Brand      string
	// MinPrice and MaxPrice bound the price shoppers pay (the sale price if
	// any), in minor units of Currency, the shop's currency.
	MinPrice, MaxPrice *int64
	Currency           string
	InStock            bool
	Sort               string // a key of Sorts; "" is newest
	Page               int    // 1..MaxPage
}

// orderBy is the ORDER BY of each sort, on the products alias p; every
// one ends with the id so that pages never overlap, and each has an index
// (migrations 00001, 00014).
var orderBy = map[string]string{
	"newest":     "p.created_at DESC, p.id DESC",
	"price_asc":  "coalesce(p.sale_price_minor, p.price_minor), p.id",
	"price_desc": "coalesce(p.sale_price_minor, p.price_minor) DESC, p.id DESC",
	"title":      "lower(p.title), p.id",
}

// ParseFilter reads a catalog filter from a query string. Prices are
// decimal text in the shop's currency (minor says they are integers of
// minor units instead, as the JSON API takes them). A page number that
// makes no sense is clamped; what is wrong with a filter comes back by
// parameter name, and that filter is left out.
func ParseFilter(q url.Values, currency string, minor bool) (Filter, map[string]string) {
	f := Filter{Currency: currency, Sort: "newest", Page: ParsePage(q.Get("page"))}
	errs := map[string]string{}
	if s := q.Get("sort"); s != "" {
		if _, ok := orderBy[s]; ok {
			f.Sort = s
		} else {
			errs["sort"] = "Choose one of the orders in the list."
		}
	}
	if s := strings.TrimSpace(q.Get("category")); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			errs["category"] = "That is not a category of this shop."
		} else {
			f.CategoryID = id
		}
	}
	if b := strings.TrimSpace(q.Get("brand")); b != "" {
		if !utf8.ValidString(b) || strings.ContainsRune(b, 0) || utf8.RuneCountInString(b) > 150 {
			errs["brand"] = "That is not a brand of this shop."
		} else {
			f.Brand = b
		}
	}
	digits, _ := money.CurrencyDigits(currency)
	price := func(name string) *int64 {
		s := strings.TrimSpace(q.Get(name))
		if s == "" {
			return nil
		}
		if minor {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 || n > money.MaxAmount {
				errs[name] = fmt.Sprintf("Use a whole number of minor units of %s, from 0 to %d.", currency, money.MaxAmount)
				return nil
			}
			return &n
		}
		n, err := money.ParseAmount(s, digits)
		if err != nil {
			errs[name] = err.Error()
			return nil
		}
		return &n
	}
	minName, maxName := "min_price", "max_price"
	if minor {
		minName, maxName = "min_price_minor", "max_price_minor"
	}
	f.MinPrice, f.MaxPrice = price(minName), price(maxName)
	if f.MinPrice != nil && f.MaxPrice != nil && *f.MinPrice > *f.MaxPrice {
		errs[maxName] = "The highest price is below the lowest."
		f.MaxPrice = nil
	}
	switch strings.ToLower(q.Get("in_stock")) {
	case "", "0", "false", "off", "no":
	case "1", "true", "on", "yes":
		f.InStock = true
	default:
		errs["in_stock"] = "Use in_stock=1 for products in stock only."
	}
	return f, errs
}

// ParsePage reads a page number, clamped to 1..MaxPage: anything that is
// not a number is the first page.
func ParsePage(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil && len(strings.TrimSpace(s)) > 0 && strings.Trim(strings.TrimSpace(s), "0123456789") == "":
		return MaxPage // digits only, but too many for an int
	case err != nil || n < 1:
		return 1
	case n > MaxPage:
		return MaxPage
	}
	return n
}

// Values is the filter as a query string, without the page and the
// category when the path names it; "" values are left out, so links stay
// short.
func (f Filter) Values(withCategory bool) url.Values {
	v := url.Values{}
	if withCategory && f.CategoryID != 0 {
		v.Set("category", strconv.FormatInt(f.CategoryID, 10))
	}
	if f.Brand != "" {
		v.Set("brand", f.Brand)
	}
	digits, _ := money.CurrencyDigits(f.Currency)
	if f.MinPrice != nil {
		v.Set("min_price", money.FormatAmount(*f.MinPrice, digits))
	}
	if f.MaxPrice != nil {
		v.Set("max_price", money.FormatAmount(*f.MaxPrice, digits))
	}
	if f.InStock {
		v.Set("in_stock", "1")
	}
	if f.Sort != "" && f.Sort != "newest" {
		v.Set("sort", f.Sort)
	}
	return v
}

// where is the filter's WHERE clause on the products alias p, and its
// arguments numbered from $1.
func (f Filter) where() (string, []any) {
	conds := []string{"p.state = 'active'"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.CategoryID != 0 {
		conds = append(conds, "EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id AND pc.category_id = "+arg(f.CategoryID)+")")
	}
	if f.Brand != "" {
		// brand <> '' lets products_active_brand_idx (partial) serve it.
		conds = append(conds, "lower(p.brand) = lower("+arg(f.Brand)+") AND p.brand <> ''")
	}
	if f.MinPrice != nil || f.MaxPrice != nil {
		// Prices of another currency cannot be compared with the bounds.
		conds = append(conds, "p.currency = "+arg(f.Currency))
	}
	if f.MinPrice != nil {
		conds = append(conds, "coalesce(p.sale_price_minor, p.price_minor) >= "+arg(*f.MinPrice))
	}
	if f.MaxPrice != nil {
		conds = append(conds, "coalesce(p.sale_price_minor, p.price_minor) <= "+arg(*f.MaxPrice))
	}
	if f.InStock {
		conds = append(conds, "p.stock_on_hand > p.stock_reserved")
	}
	return strings.Join(conds, " AND "), args
}

// ListSQL is the query of one catalog page: the page's products (one row
// more than PageSize, to tell whether another page follows), each with
// its first image, in one statement. The inner query walks an index and
// stops after the page; only the page's rows are joined to their image.
func ListSQL(f Filter) (string, []any) {
	where, args := f.where()
	order, ok := orderBy[f.Sort]
	if !ok {
		order = orderBy["newest"]
	}
	page := max(1, min(f.Page, MaxPage))
	args = append(args, PageSize+1, (page-1)*PageSize)
	n := len(args)
	return `SELECT ` + cardColumns + `
		FROM (SELECT p.id, p.sku, p.handle, p.title, p.brand, p.price_minor, p.sale_price_minor, p.currency,
				p.stock_on_hand, p.stock_reserved, p.created_at
			FROM products p WHERE ` + where + ` ORDER BY ` + order + `
			LIMIT $` + strconv.Itoa(n-1) + ` OFFSET $` + strconv.Itoa(n) + `) p
		` + firstImageJoin + ` ORDER BY ` + order, args
}

// CountSQL counts a filter's products, up to what MaxPage pages hold.
func CountSQL(f Filter) (string, []any) {
	where, args := f.where()
	return `SELECT count(*) FROM (SELECT 1 FROM products p WHERE ` + where + ` LIMIT ` +
		strconv.Itoa(MaxPage*PageSize) + `) x`, args
}

// cardColumns are what a product card shows, from the products alias p
// and the image alias img (firstImageJoin); scanCard reads them.
const cardColumns = `p.id, p.sku, coalesce(p.handle, ''), p.title, p.brand, p.price_minor, p.sale_price_minor, p.currency,
	p.stock_on_hand - p.stock_reserved, img.media_id, coalesce(img.alt_text, '')`

// firstImageJoin joins each product to its first image, if any.
const firstImageJoin = `LEFT JOIN LATERAL (SELECT pm.media_id, m.alt_text FROM product_media pm JOIN media m ON m.id = pm.media_id
	WHERE pm.product_id = p.id ORDER BY pm.position, pm.media_id LIMIT 1) img ON true`

// CheckQuery checks search text typed by a shopper: valid UTF-8, no NUL,
// at most MaxQueryLen characters. Other control characters are spaces.
func CheckQuery(q string) (string, error) {
	if !utf8.ValidString(q) || strings.ContainsRune(q, 0) {
		return "", &web.Error{Status: 400, Field: "q", Message: "The search text has characters that cannot be searched for. Type it again."}
	}
	if utf8.RuneCountInString(q) > MaxQueryLen {
		return "", &web.Error{Status: 400, Field: "q", Message: fmt.Sprintf("The search text is too long: use at most %d characters.", MaxQueryLen)}
	}
	q = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, q)
	return strings.Join(strings.Fields(q), " "), nil
}
