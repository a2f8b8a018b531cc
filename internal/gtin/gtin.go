// Package gtin checks Global Trade Item Numbers (EAN, UPC, GTIN-14), the
// barcode numbers of products.
package gtin

import (
	"fmt"
	"strings"
)

// Normalize drops the spaces and hyphens people copy along with a barcode
// number.
func Normalize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// Check validates a normalised GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN) or
// GTIN-14: digits only, of one of those lengths, ending in the GS1 check
// digit. Its errors are written for the people who typed the number.
func Check(s string) error {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return problem("A GTIN has 8, 12, 13 or 14 digits; this one has %d characters.", len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return problem("A GTIN has digits only.")
		}
	}
	if want := CheckDigit(s[:len(s)-1]); s[len(s)-1] != want {
		return problem("The check digit (the last one) does not match: with these digits it would be %c. Check for a typo.", want)
	}
	return nil
}

// inputError is an error of Check, written as a sentence for the people
// who typed the number: callers show it as it is.
type inputError string

func (e inputError) Error() string { return string(e) }

func problem(format string, args ...any) error { return inputError(fmt.Sprintf(format, args...)) }

// CheckDigit computes the GS1 mod-10 check digit of the digits before it:
// from the right, weights 3, 1, 3, 1, ... body must be ASCII digits.
func CheckDigit(body string) byte {
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
