package feed

import (
	"errors"
	"fmt"
	"strings"

	"github.com/storefleet/storefleet/internal/money"
)

// Price is an amount in integer minor units (cents; yen for JPY) of an
// ISO 4217 currency. The zero Price, with no currency, means "no price".
type Price struct {
	Minor    int64
	Currency string // upper-case ISO 4217 code, "" for no price
}

// IsZero reports whether p is the zero Price (no price at all, which is
// not the same as a price of 0.00).
func (p Price) IsZero() bool { return p == Price{} }

// String writes the price in the feed's own form, "13.90 EUR" or
// "1500 JPY", which ParsePrice reads back to the same Price. The zero
// Price is "".
func (p Price) String() string {
	if p.Currency == "" {
		return ""
	}
	digits, ok := money.CurrencyDigits(p.Currency)
	if !ok {
		digits = 2
	}
	return money.FormatAmount(p.Minor, digits) + " " + p.Currency
}

// ParsePrice reads a feed price: a non-negative decimal amount with an
// ISO 4217 code before or after it ("13.90 EUR", "EUR 13.90", "13,90 eur"),
// into minor units with as many decimal places as the currency has (2 for
// EUR, 0 for JPY, 3 for KWD). defaultCurrency, if not "", is used when the
// text has no code; with "" a code is required.
//
// The decimal separator is '.' or ','. Thousands separators are read when
// they cannot be mistaken: "1.234,56 EUR" and "1,234.56 EUR" (both
// separators), "1,234,567 EUR" (the same one twice). A single separator
// followed by exactly three digits, as in "1.234 EUR", could be either and
// is refused, except for currencies with three decimal places, where it is
// the decimal separator, and after a lone 0 ("0,500"). Signs, exponents,
// NaN, infinities, spaces inside the number and currency symbols are
// refused; so are more decimal places than the currency has, unless they
// are zeros, and amounts above money.MaxAmount.
func ParsePrice(s, defaultCurrency string) (Price, error) {
	p, err := parsePrice(strings.TrimSpace(s), defaultCurrency)
	if err != nil && strings.ContainsAny(s, "€$£¥₩₹") {
		return Price{}, errors.New("a currency symbol: write the ISO 4217 code instead, such as 13.90 EUR")
	}
	return p, err
}

func parsePrice(t, defaultCurrency string) (Price, error) {
	if t == "" {
		return Price{}, errors.New("no amount")
	}
	num, code := t, ""
	if n := leadingLetters(t); n > 0 {
		code, num = t[:n], t[n:]
	}
	if n := trailingLetters(num); n > 0 {
		if code != "" {
			return Price{}, errors.New("letters on both sides of the amount: write an amount and a currency code, such as 13.90 EUR")
		}
		code, num = num[len(num)-n:], num[:len(num)-n]
	}
	num = strings.TrimSpace(num)
	if num == "" {
		return Price{}, errors.New("no amount")
	}
	if code == "" {
		if defaultCurrency == "" {
			return Price{}, errors.New("no currency: write the ISO 4217 code after the amount, such as 13.90 EUR")
		}
		code = defaultCurrency
	}
	code = strings.ToUpper(code)
	if len(code) != 3 {
		return Price{}, fmt.Errorf("%q is not a three-letter ISO 4217 currency code", code)
	}
	digits, ok := money.CurrencyDigits(code)
	if !ok {
		return Price{}, fmt.Errorf("%s is not an ISO 4217 currency", code)
	}
	whole, frac, err := splitNumber(num, digits)
	if err != nil {
		return Price{}, err
	}
	plain := num // as money.ParseAmount reads it: digits, one '.' or ','
	if frac == "" && len(whole) < len(num) {
		plain = whole // without the thousands separators
	} else if frac != "" && len(whole)+1+len(frac) < len(num) {
		plain = whole + "." + frac
	}
	minor, err := money.ParseAmount(plain, digits)
	if err != nil {
		return Price{}, err
	}
	return Price{Minor: minor, Currency: code}, nil
}

// leadingLetters returns how many ASCII letters s starts with.
func leadingLetters(s string) int {
	n := 0
	for n < len(s) && isLetter(s[n]) {
		n++
	}
	return n
}

// trailingLetters returns how many ASCII letters s ends with.
func trailingLetters(s string) int {
	n := 0
	for n < len(s) && isLetter(s[len(s)-1-n]) {
		n++
	}
	return n
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// splitNumber reads the digits and separators of an amount into its whole
// part (thousands separators removed) and its fraction digits, for a
// currency with the given number of decimal places.
func splitNumber(n string, digits int) (whole, frac string, err error) {
	if n == "" {
		return "", "", errors.New("no amount")
	}
	var dots, commas int
	for i := 0; i < len(n); i++ {
		switch c := n[i]; {
		case c >= '0' && c <= '9':
		case c == '.':
			dots++
		case c == ',':
			commas++
		case c == '-' && i == 0:
			return "", "", errors.New("the amount cannot be negative")
		default:
			return "", "", fmt.Errorf("%q is not an amount: use digits with . or , as the decimal separator", n)
		}
	}
	if !isDigit(n[0]) || !isDigit(n[len(n)-1]) {
		return "", "", fmt.Errorf("%q is not an amount: it starts or ends with a separator", n)
	}
	lastDot, lastComma := strings.LastIndexByte(n, '.'), strings.LastIndexByte(n, ',')
	switch {
	case dots == 0 && commas == 0:
		return n, "", nil
	case dots > 0 && commas > 0:
		// Both: the last one is the decimal separator and appears once.
		dec, decSep, groupSep := lastDot, byte('.'), byte(',')
		if lastComma > lastDot {
			dec, decSep, groupSep = lastComma, ',', '.'
		}
		if strings.Count(n, string(decSep)) > 1 {
			return "", "", fmt.Errorf("%q is not an amount: mixed separators", n)
		}
		if whole, err = ungroup(n[:dec], groupSep); err != nil {
			return "", "", fmt.Errorf("%q is not an amount: %w", n, err)
		}
		return whole, n[dec+1:], nil
	}
	sep, count := byte('.'), dots
	if commas > 0 {
		sep, count = ',', commas
	}
	if count > 1 { // a decimal separator appears once: these group thousands
		if whole, err = ungroup(n, sep); err != nil {
			return "", "", fmt.Errorf("%q is not an amount: %w", n, err)
		}
		return whole, "", nil
	}
	whole, frac, _ = strings.Cut(n, string(sep))
	if len(frac) == 3 && digits != 3 && whole != "0" {
		return "", "", fmt.Errorf("%q is ambiguous (%s or %s.%s?): write the decimals, such as %s.00", n, whole+frac, whole, frac, whole+frac)
	}
	return whole, frac, nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// ungroup removes thousands separators from digits grouped as 1 to 3
// digits and then groups of exactly 3: "1,234,567" is "1234567".
func ungroup(s string, sep byte) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i, part := range strings.Split(s, string(sep)) {
		if part == "" || len(part) > 3 || i > 0 && len(part) != 3 {
			return "", errors.New("thousands separators must group three digits")
		}
		b.WriteString(part)
	}
	return b.String(), nil
}
