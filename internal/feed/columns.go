package feed

import "strings"

// column is what the reader does with one column of the header.
type column int

const (
	colAttribute column = iota // not one of ours: kept in Item.Attributes
	colIgnored                 // empty header
	colID
	colTitle
	colDescription
	colLink
	colImageLink
	colAdditionalImageLink
	colAvailability
	colPrice
	colSalePrice
	colBrand
	colGTIN
	colMPN
	colCondition
	colGoogleProductCategory
	colProductType
	colItemGroupID
	colColor
	colSize
)

// knownColumns are the Google Shopping attributes the reader reads into
// Item fields, by normalised header.
var knownColumns = map[string]column{
	"id":                      colID,
	"title":                   colTitle,
	"description":             colDescription,
	"link":                    colLink,
	"image_link":              colImageLink,
	"additional_image_link":   colAdditionalImageLink,
	"availability":            colAvailability,
	"price":                   colPrice,
	"sale_price":              colSalePrice,
	"brand":                   colBrand,
	"gtin":                    colGTIN,
	"mpn":                     colMPN,
	"condition":               colCondition,
	"google_product_category": colGoogleProductCategory,
	"product_type":            colProductType,
	"item_group_id":           colItemGroupID,
	"color":                   colColor,
	"size":                    colSize,
}

// Longest values, in characters (runes). Google's own limits are lower for
// some; these are what Storefleet can store and show. price, sale_price,
// availability, condition and gtin have grammars of their own instead.
const (
	MaxIDLen          = 100
	MaxTitleLen       = 500
	MaxDescriptionLen = 20000
	MaxURLLen         = 2000 // each of link, image_link, additional_image_link
	MaxAdditionalImgs = 20   // additional_image_link entries
	MaxShortLen       = 100  // brand, mpn, item_group_id, color, size
	MaxCategoryLen    = 750  // google_product_category, product_type
	MaxAttributeLen   = 5000 // a column the reader does not know
)

// maxLen is the longest value of a text column, in characters.
// additional_image_link is checked per link.
func maxLen(c column) int {
	switch c {
	case colID:
		return MaxIDLen
	case colTitle:
		return MaxTitleLen
	case colDescription:
		return MaxDescriptionLen
	case colLink, colImageLink:
		return MaxURLLen
	case colAdditionalImageLink:
		return MaxURLLen * MaxAdditionalImgs
	case colBrand, colMPN, colItemGroupID, colColor, colSize:
		return MaxShortLen
	case colGoogleProductCategory, colProductType:
		return MaxCategoryLen
	}
	return MaxAttributeLen
}

// normalizeHeader turns a header as written into the name the reader
// matches: surrounding spaces and a "g:" prefix dropped, lower case, inner
// runs of spaces as one underscore ("G:Image Link" is "image_link").
func normalizeHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if rest, ok := strings.CutPrefix(h, "g:"); ok {
		h = strings.TrimSpace(rest)
	}
	if strings.ContainsAny(h, " \t") {
		h = strings.Join(strings.Fields(h), "_")
	}
	return h
}
