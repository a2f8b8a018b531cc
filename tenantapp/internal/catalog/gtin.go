package catalog

import "github.com/storefleet/storefleet/internal/gtin"

// The GTIN checks live in internal/gtin, shared with the feed reader.

// NormalizeGTIN drops the spaces and hyphens people copy along with a
// barcode number.
func NormalizeGTIN(s string) string { return gtin.Normalize(s) }

// CheckGTIN validates a normalised GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN)
// or GTIN-14: digits only, of one of those lengths, ending in the GS1
// check digit.
func CheckGTIN(s string) error { return gtin.Check(s) }

// GTINCheckDigit computes the GS1 mod-10 check digit of the digits before
// it: from the right, weights 3, 1, 3, 1, ...
func GTINCheckDigit(body string) byte { return gtin.CheckDigit(body) }
