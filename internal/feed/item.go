package feed

import (
	"errors"
	"fmt"
	"strings"
)

// Item is one row of a feed. A field whose value has a problem is left at
// its zero value and the problem is in Errors; a row with no errors is
// Valid.
type Item struct {
	Line int // 1-based line of the file where the row starts

	ID                    string
	Title                 string
	Description           string // may hold line breaks
	Link                  string
	ImageLink             string
	AdditionalImageLinks  []string
	Availability          Availability
	Price                 Price // zero only when the row has a price error
	SalePrice             *Price
	Brand                 string
	GTIN                  string // digits only, check digit verified
	MPN                   string
	Condition             Condition
	GoogleProductCategory string
	ProductType           string
	ItemGroupID           string
	Color                 string
	Size                  string

	// Attributes holds the non-empty values of the columns the reader does
	// not know, under their normalised header (lower case, no "g:").
	Attributes map[string]string

	// Language is Options.Language of the reader that read the item.
	Language string
	// Translations holds the title and description per language, set by
	// Merge (the item's own language included); nil before.
	Translations map[string]Translation

	Errors []*RowError
}

// Valid reports whether the row had no problem.
func (it *Item) Valid() bool { return len(it.Errors) == 0 }

// Err returns the row's problems joined into one error, or nil.
func (it *Item) Err() error {
	errs := make([]error, len(it.Errors))
	for i, e := range it.Errors {
		errs[i] = e
	}
	return errors.Join(errs...)
}

func (it *Item) fail(kind Kind, column string, cause error, format string, args ...any) {
	it.Errors = append(it.Errors, &RowError{Line: it.Line, Column: column, Kind: kind, Msg: fmt.Sprintf(format, args...), Err: cause})
}

// Translation is an item's text in one language.
type Translation struct {
	Title       string
	Description string
}

// Availability is a normalised availability value.
type Availability string

// The availability values, as Google names them in its API.
const (
	InStock    Availability = "in_stock"
	OutOfStock Availability = "out_of_stock"
	Preorder   Availability = "preorder"
	Backorder  Availability = "backorder"
)

// ParseAvailability reads an availability as feeds write it, in any case,
// with spaces, underscores or hyphens: "in stock", "in_stock", "In-Stock",
// "instock", "out of stock", "preorder", "pre-order", "backorder", "back
// order".
func ParseAvailability(s string) (Availability, bool) {
	switch s { // the spellings of the Google specification, without allocating
	case "in stock", "in_stock":
		return InStock, true
	case "out of stock", "out_of_stock":
		return OutOfStock, true
	case "preorder":
		return Preorder, true
	case "backorder":
		return Backorder, true
	}
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == '_' || r == '-' })
	switch strings.Join(words, "") {
	case "instock":
		return InStock, true
	case "outofstock":
		return OutOfStock, true
	case "preorder":
		return Preorder, true
	case "backorder":
		return Backorder, true
	}
	return "", false
}

// Condition is a normalised condition value.
type Condition string

// The condition values.
const (
	New         Condition = "new"
	Refurbished Condition = "refurbished"
	Used        Condition = "used"
)

// ParseCondition reads "new", "refurbished" or "used" in any case.
func ParseCondition(s string) (Condition, bool) {
	switch c := Condition(strings.ToLower(strings.TrimSpace(s))); c {
	case New, Refurbished, Used:
		return c, true
	}
	return "", false
}

// Kind says what is wrong with a row.
type Kind string

// The kinds of row error.
const (
	KindColumnCount       Kind = "wrong number of columns"
	KindQuoting           Kind = "bad quoting"
	KindMissingID         Kind = "missing id"
	KindDuplicateID       Kind = "duplicate id"
	KindMissingPrice      Kind = "missing price"
	KindBadPrice          Kind = "bad price"
	KindBadSalePrice      Kind = "bad sale price"
	KindSaleNotBelowPrice Kind = "sale price not below price"
	KindBadGTIN           Kind = "bad GTIN"
	KindTooLong           Kind = "too long"
	KindBadAvailability   Kind = "bad availability"
	KindBadCondition      Kind = "bad condition"
	KindBadURL            Kind = "bad URL"
	KindBadText           Kind = "bad text"
)

// RowError is one problem with one row of a feed. The reader carries on
// after it.
type RowError struct {
	Line   int    // line where the row starts
	Column string // the column concerned (normalised header), "" for the whole row
	Kind   Kind
	Msg    string // what is wrong, in words for the vendor
	Err    error  // the underlying error, if any
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func (e *RowError) Unwrap() error { return e.Err }
