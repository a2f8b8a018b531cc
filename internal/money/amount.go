package money

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxAmount is the largest amount, in minor units, a price may have.
const MaxAmount int64 = 999_999_999_999

const maxAmountDigits = 12 // of MaxAmount

// currencyDigits holds the active ISO 4217 currencies and how many decimal
// digits their minor unit has. Funds, metals and test codes are left out.
var currencyDigits = func() map[string]int {
	m := map[string]int{}
	for _, c := range strings.Fields(`AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD
		BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
		GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL
		MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON
		RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD
		USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG`) {
		m[c] = 2
	}
	for _, c := range strings.Fields(`BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF`) {
		m[c] = 0
	}
	for _, c := range strings.Fields(`BHD IQD JOD KWD LYD OMR TND`) {
		m[c] = 3
	}
	m["CLF"], m["UYW"] = 4, 4
	return m
}()

// CurrencyDigits returns how many decimal digits a currency's minor unit
// has, and whether the code is an active ISO 4217 currency.
func CurrencyDigits(code string) (int, bool) {
	d, ok := currencyDigits[code]
	return d, ok
}

// inputError is an error of ValidCurrency or ParseAmount, written as a
// sentence for the people who typed the input: callers show it as it is.
type inputError string

func (e inputError) Error() string { return string(e) }

func problem(format string, args ...any) error { return inputError(fmt.Sprintf(format, args...)) }

// ValidCurrency checks a currency code: three upper-case letters naming an
// active ISO 4217 currency.
func ValidCurrency(code string) error {
	if len(code) != 3 || strings.ToUpper(code) != code || strings.ContainsFunc(code, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		return problem("Use a three-letter ISO 4217 code in capitals, such as EUR or USD.")
	}
	if _, ok := currencyDigits[code]; !ok {
		return problem("%s is not an ISO 4217 currency.", code)
	}
	return nil
}

// ParseAmount reads a non-negative amount typed as decimal text, "12.90" or
// "12,90", into minor units of a currency with the given number of decimal
// digits. There are no floats on the way: no exponents, no NaN, no
// thousands separators, no signs; more decimal places than the currency
// has are refused unless they are zeros.
func ParseAmount(s string, digits int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, problem("Enter an amount, such as 12.90.")
	}
	whole, frac, hasSep := s, "", false
	for i := 0; i < len(s); i++ {
		if s[i] == '.' || s[i] == ',' {
			whole, frac, hasSep = s[:i], s[i+1:], true
			break
		}
	}
	if !allDigits(whole) || (hasSep && !allDigits(frac)) {
		if strings.HasPrefix(s, "-") {
			return 0, problem("The amount cannot be negative.")
		}
		return 0, problem("Enter an amount with digits and at most one decimal point or comma, such as 12.90 or 12,90 (no thousands separators).")
	}
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > digits {
		if digits == 0 {
			return 0, problem("This currency has no decimal places: enter a whole amount.")
		}
		return 0, problem("Use at most %d decimal places.", digits)
	}
	for len(whole) > 0 && whole[0] == '0' {
		whole = whole[1:]
	}
	if len(whole) > 15 {
		return 0, problem("The amount is too large.")
	}
	// MaxAmount has 12 digits: a longer whole part is over it in any
	// currency, and is not multiplied out (15 digits and 4 decimal places
	// would overflow).
	if len(whole) > maxAmountDigits {
		return 0, problem("Use at most %s.", FormatAmount(MaxAmount, digits))
	}
	var n int64
	for i := 0; i < len(whole); i++ {
		n = n*10 + int64(whole[i]-'0')
	}
	for i := range digits {
		if n > MaxAmount {
			break // over the limit already: stop before n*10 can overflow
		}
		n *= 10
		if i < len(frac) {
			n += int64(frac[i] - '0')
		}
	}
	if n > MaxAmount {
		return 0, problem("Use at most %s.", FormatAmount(MaxAmount, digits))
	}
	return n, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatAmount writes minor units as plain decimal text ("12.90"), the
// form ParseAmount reads back.
func FormatAmount(minor int64, digits int) string {
	neg := minor < 0
	s := strconv.FormatUint(magnitude(minor), 10)
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// magnitude is |minor|, also for math.MinInt64, whose negation does not
// fit in an int64.
func magnitude(minor int64) uint64 {
	if minor < 0 {
		return -uint64(minor)
	}
	return uint64(minor)
}
