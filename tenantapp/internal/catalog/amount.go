package catalog

import (
	"strings"

	"github.com/storefleet/storefleet/internal/money"
)

// MaxAmount is the largest price, in minor units, a product may have.
const MaxAmount = money.MaxAmount

// The currency table and the parsing of amounts live in internal/money,
// shared with the feed reader; these names stay for the back office.

// CurrencyDigits returns how many decimal digits a currency's minor unit
// has, and whether the code is an active ISO 4217 currency.
func CurrencyDigits(code string) (int, bool) { return money.CurrencyDigits(code) }

// ValidCurrency checks a currency code: three upper-case letters naming an
// active ISO 4217 currency.
func ValidCurrency(code string) error { return money.ValidCurrency(code) }

// digitsOf returns the decimal digits of a currency, 2 for unknown codes.
func digitsOf(code string) int {
	if d, ok := money.CurrencyDigits(code); ok {
		return d
	}
	return 2
}

// ParseAmount reads a non-negative amount typed as decimal text, "12.90" or
// "12,90", into minor units: see money.ParseAmount.
func ParseAmount(s string, digits int) (int64, error) { return money.ParseAmount(s, digits) }

// FormatAmount writes minor units as plain decimal text ("12.90"), the
// form ParseAmount reads back.
func FormatAmount(minor int64, digits int) string { return money.FormatAmount(minor, digits) }

// Display formats an amount for people: money.Format where it knows the
// currency's decimal places, else "12.345 KWD".
func Display(minor int64, currency string) string {
	d := digitsOf(currency)
	if d == 2 && currency != "JPY" && currency != "KRW" || d == 0 && (currency == "JPY" || currency == "KRW") {
		return money.Format(minor, currency)
	}
	return FormatAmount(minor, d) + " " + currency
}

// ParsePercent reads a percentage change such as "10", "+12.5", "-7,25" or
// "-10%" into hundredths of a percent (basis points). It allows from
// -99.99 % to +1000 %, and not zero.
func ParsePercent(s string) (int64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	s = strings.TrimSpace(s)
	sign := int64(1)
	switch {
	case strings.HasPrefix(s, "-"):
		sign, s = -1, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	bp, err := ParseAmount(s, 2)
	if err != nil || s == "" {
		return 0, problem("Enter a percentage such as 10, -10 or +2.5 (at most two decimal places).")
	}
	bp *= sign
	if bp == 0 {
		return 0, problem("A change of 0 %% changes nothing.")
	}
	if bp <= -10000 || bp > 100000 {
		return 0, problem("Use a change between -99.99 %% and +1000 %%.")
	}
	return bp, nil
}

// ApplyPercent changes an amount by bp hundredths of a percent, rounding
// half away from zero, in integers only.
func ApplyPercent(minor, bp int64) int64 {
	num := minor * (10000 + bp)
	if num >= 0 {
		return (num + 5000) / 10000
	}
	return -((-num + 5000) / 10000)
}
