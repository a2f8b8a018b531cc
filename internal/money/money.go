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

// Format renders an amount such as 2490 EUR as "€24.90", with as many
// decimal places as the currency has (¥1,500; 1.234 KWD); a code not in
// the ISO 4217 table gets two.
func Format(minor int64, currency string) string {
	currency = strings.ToUpper(strings.TrimSpace(currency))
	digits, ok := CurrencyDigits(currency)
	if !ok {
		digits = 2
	}
	s := strconv.FormatUint(magnitude(minor), 10)
	num := group(s)
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		num = group(s[:len(s)-digits]) + "." + s[len(s)-digits:]
	}
	sym, ok := symbols[currency]
	out := sym + num
	if !ok {
		out = num + " " + currency
	}
	if minor < 0 {
		out = "-" + out
	}
	return out
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
