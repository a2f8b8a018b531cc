package catalog

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/storefleet/storefleet/internal/sku"
)

// Product states.
const (
	StateDraft    = "draft"
	StateActive   = "active"
	StateArchived = "archived"
)

// States lists the product states in the order people see them.
var States = []string{StateDraft, StateActive, StateArchived}

func validState(s string) bool {
	return s == StateDraft || s == StateActive || s == StateArchived
}

// Fields are a product's editable values, checked by Validate. Field
// error keys: sku, title, description, gtin, price, sale_price, currency,
// state, categories.
type Fields struct {
	SKU         string
	Title       string
	Description string
	GTIN        string // "" for none
	PriceMinor  int64
	SalePrice   *int64 // nil for no sale
	Currency    string
	State       string
	CategoryIDs []int64
}

// Normalize trims what people type around values.
func (f *Fields) Normalize() {
	f.SKU = strings.TrimSpace(f.SKU)
	f.Title = strings.TrimSpace(f.Title)
	f.Description = strings.TrimSpace(strings.ReplaceAll(f.Description, "\r\n", "\n"))
	f.GTIN = NormalizeGTIN(f.GTIN)
	f.Currency = strings.TrimSpace(f.Currency)
	f.State = strings.TrimSpace(f.State)
	seen := map[int64]bool{}
	ids := f.CategoryIDs[:0:0]
	for _, id := range f.CategoryIDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	f.CategoryIDs = ids
}

// Validate checks normalised fields and says what is wrong with each.
func (f *Fields) Validate() FieldErrors {
	errs := FieldErrors{}
	switch n := utf8.RuneCountInString(f.SKU); {
	case n == 0:
		errs["sku"] = "Enter a SKU, the product's own stock code."
	case n > 64:
		errs["sku"] = "Use at most 64 characters."
	case !sku.MatchesPattern(f.SKU):
		errs["sku"] = "Use letters, digits, and . _ / - (starting with a letter or digit), without spaces."
	}
	switch n := utf8.RuneCountInString(f.Title); {
	case n == 0:
		errs["title"] = "Enter a title."
	case n > 300:
		errs["title"] = "Use at most 300 characters."
	}
	if !utf8.ValidString(f.Title) || !utf8.ValidString(f.Description) {
		errs["title"] = "The text is not valid UTF-8."
	}
	if utf8.RuneCountInString(f.Description) > 20000 {
		errs["description"] = "Use at most 20,000 characters."
	}
	if f.GTIN != "" {
		if err := CheckGTIN(f.GTIN); err != nil {
			errs["gtin"] = err.Error()
		}
	}
	if err := ValidCurrency(f.Currency); err != nil {
		errs["currency"] = err.Error()
	}
	if f.PriceMinor < 0 {
		errs["price"] = "The price cannot be negative."
	} else if f.PriceMinor > MaxAmount {
		errs["price"] = "The price is too large."
	}
	if f.SalePrice != nil {
		switch {
		case *f.SalePrice < 0:
			errs["sale_price"] = "The sale price cannot be negative."
		case *f.SalePrice >= f.PriceMinor && errs["price"] == "":
			errs["sale_price"] = "The sale price must be below the price (" + FormatAmount(f.PriceMinor, digitsOf(f.Currency)) + ")."
		}
	}
	if !validState(f.State) {
		errs["state"] = "Choose draft, active or archived."
	}
	if len(f.CategoryIDs) > 50 {
		errs["categories"] = "Choose at most 50 categories."
	}
	return errs
}

// Form is a product form as typed: prices are decimal text in the
// product's currency.
type Form struct {
	SKU, Title, Description, GTIN string
	Price, SalePrice, Currency    string
	State                         string
	CategoryIDs                   []string
}

// Parse turns a form into checked Fields.
func (p Form) Parse() (Fields, FieldErrors) {
	f := Fields{SKU: p.SKU, Title: p.Title, Description: p.Description, GTIN: p.GTIN,
		Currency: strings.TrimSpace(p.Currency), State: p.State}
	errs := FieldErrors{}
	for _, s := range p.CategoryIDs {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			errs["categories"] = "Choose categories from the list."
			continue
		}
		f.CategoryIDs = append(f.CategoryIDs, id)
	}
	f.Normalize()
	digits := digitsOf(f.Currency)
	priceOK := false
	if strings.TrimSpace(p.Price) == "" {
		errs["price"] = "Enter a price, such as 12.90."
	} else if v, err := ParseAmount(p.Price, digits); err != nil {
		errs["price"] = err.Error()
	} else {
		f.PriceMinor, priceOK = v, true
	}
	if strings.TrimSpace(p.SalePrice) != "" {
		if v, err := ParseAmount(p.SalePrice, digits); err != nil {
			errs["sale_price"] = err.Error()
		} else {
			f.SalePrice = &v
		}
	}
	check := f
	if !priceOK {
		check.SalePrice = nil // nothing to compare it with
	}
	for k, v := range check.Validate() {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	return f, errs
}
