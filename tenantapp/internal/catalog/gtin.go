package catalog

import "strings"

// NormalizeGTIN drops the spaces and hyphens people copy along with a
// barcode number.
func NormalizeGTIN(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// CheckGTIN validates a normalised GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN)
// or GTIN-14: digits only, of one of those lengths, ending in the GS1
// check digit.
func CheckGTIN(s string) error {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return problem("A GTIN has 8, 12, 13 or 14 digits; this one has %d characters.", len(s))
	}
	if !allDigits(s) {
		return problem("A GTIN has digits only.")
	}
	if want := GTINCheckDigit(s[:len(s)-1]); s[len(s)-1] != want {
		return problem("The check digit (the last one) does not match: with these digits it would be %c. Check for a typo.", want)
	}
	return nil
}

// GTINCheckDigit computes the GS1 mod-10 check digit of the digits before
// it: from the right, weights 3, 1, 3, 1, ...
func GTINCheckDigit(body string) byte {
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}
