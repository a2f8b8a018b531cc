// Package money reads and formats prices kept as integer minor units
// (cents) with an ISO 4217 currency code: the currency table with each
// currency's decimal places, decimal text to minor units and back, and
// display with symbols. Money is never a float anywhere in Storefleet.
package money

import (
	"strconv"
	"strings"
)

// symbols for the currencies shops here use most; others print their code.
var symbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF ", "JPY": "¥"}

// zeroDecimal currencies have no minor unit.
var zeroDecimal = map[string]bool{"JPY": true, "KRW": true}

// Format renders an amount such as 2490 EUR as "€24.90".
func Format(minor int64, currency string) string {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	neg := minor < 0
	if neg {
		minor = -minor
	}
	var num string
	if zeroDecimal[currency] {
		num = group(strconv.FormatInt(minor, 10))
	} else {
		num = group(strconv.FormatInt(minor/100, 10)) + "." + pad2(minor%100)
	}
	sym, ok := symbols[currency]
	out := sym + num
	if !ok {
		out = num + " " + currency
	}
	if neg {
		out = "-" + out
	}
	return out
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}
