package money

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// plainDecimal is the only form ParseAmount may accept (after trimming
// spaces): digits, then optionally one '.' or ',' and more digits.
var plainDecimal = regexp.MustCompile(`^[0-9]+(?:[.,][0-9]+)?$`)

// exact is the value of a plain decimal times 10^digits, computed with
// math/big as an independent oracle, and whether that is a whole number.
func exact(s string, digits int) (*big.Int, bool) {
	r, ok := new(big.Rat).SetString(strings.Replace(s, ",", ".", 1))
	if !ok {
		panic("not a plain decimal: " + s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)))
	if !r.IsInt() {
		return nil, false
	}
	return r.Num(), true
}

// FuzzParseAmount checks ParseAmount against an oracle in math/big: it
// accepts exactly the plain decimals (no sign, exponent, NaN, infinity,
// thousands separator or other digits) whose value is a whole number of
// minor units from 0 to MaxAmount, and reads them exactly; every refusal
// is a sentence for people (an inputError); the amount it reads is written
// back by FormatAmount in a canonical form that reads back to itself.
// Digits go past the real currencies' 0 to 4, up to 18, so a large number
// of decimal places cannot make the arithmetic wrap around either.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.90", "12,90", " 3.10 ", "007.50", "12.900", "0", "0.05", "9999999999.99",
		"999999999999", "1000000000000", "99999999.9999", "999999999999999", "99999999999999999999", "12.",
		".5", "1e3", "1E3", "NaN", "nan", "Inf", "+Inf", "-Inf", "infinity", "-1", "+1", "0x10", "1_000",
		"1,234.56", "1.234,56", "1 000", "€12", "１２", "٣", "1.2.3", "-0", "0.0000000000000000001", "\t12\n",
		"1\u00a0000", "12.5"} {
		for _, d := range []uint8{0, 2, 3, 4, 7, 18} {
			f.Add(s, d)
		}
	}
	f.Fuzz(func(t *testing.T, s string, d uint8) {
		digits := int(d % 19)
		n, err := ParseAmount(s, digits)
		trimmed := strings.TrimSpace(s)
		wellFormed := plainDecimal.MatchString(trimmed)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseAmount(%q, %d) = %d with error %v", s, digits, n, err)
			}
			var ie inputError
			if !errors.As(err, &ie) || err.Error() == "" {
				t.Fatalf("ParseAmount(%q, %d): error %#v is not a sentence for people", s, digits, err)
			}
			if wellFormed {
				if want, whole := exact(trimmed, digits); whole && want.Cmp(big.NewInt(MaxAmount)) <= 0 {
					t.Fatalf("ParseAmount(%q, %d) refused a valid amount (%s): %v", s, digits, want, err)
				}
			}
			return
		}
		if !wellFormed {
			t.Fatalf("ParseAmount(%q, %d) = %d: accepted a form other than plain decimal text", s, digits, n)
		}
		if strings.ContainsAny(trimmed, "eEnNiI+-_xX") {
			t.Fatalf("ParseAmount(%q, %d) = %d: accepted an exponent, sign, NaN or infinity", s, digits, n)
		}
		if n < 0 || n > MaxAmount {
			t.Fatalf("ParseAmount(%q, %d) = %d: out of range (wrapped around?)", s, digits, n)
		}
		want, whole := exact(trimmed, digits)
		if !whole || !want.IsInt64() || want.Int64() != n {
			t.Fatalf("ParseAmount(%q, %d) = %d, want %v (whole: %v)", s, digits, n, want, whole)
		}
		// The written form reads back, and is canonical: written again the same.
		out := FormatAmount(n, digits)
		back, err := ParseAmount(out, digits)
		if err != nil || back != n {
			t.Fatalf("ParseAmount(%q, %d) = %d, written %q, reads back as %d, %v", s, digits, n, out, back, err)
		}
		if again := FormatAmount(back, digits); again != out {
			t.Fatalf("FormatAmount not canonical: %q then %q", out, again)
		}
		checkCanonical(t, out, n, digits)
	})
}

// checkCanonical checks the shape of FormatAmount's text for n >= 0:
// exactly digits decimal places after a '.', and no leading zero except
// the one before the point of an amount under one unit.
func checkCanonical(t *testing.T, out string, n int64, digits int) {
	t.Helper()
	whole, frac, hasPoint := strings.Cut(out, ".")
	if hasPoint != (digits > 0) || len(frac) != digits || strings.Contains(frac, ".") {
		t.Fatalf("FormatAmount(%d, %d) = %q: want exactly %d decimal places", n, digits, out, digits)
	}
	if whole == "" || (len(whole) > 1 && whole[0] == '0') || !plainDecimal.MatchString(whole) {
		t.Fatalf("FormatAmount(%d, %d) = %q: bad whole part", n, digits, out)
	}
}

// FuzzFormatAmount checks FormatAmount for every int64: amounts from 0 to
// MaxAmount round-trip through ParseAmount for every number of decimal
// places a currency has and come out canonical, a negative amount is the
// positive one with a '-' (math.MinInt64 too), and nothing panics.
func FuzzFormatAmount(f *testing.F) {
	for _, n := range []int64{0, 1, 5, 99, 100, 1290, 123456, MaxAmount, MaxAmount + 1, -1, -5, -1290,
		math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		for d := range uint8(5) {
			f.Add(n, d)
		}
	}
	f.Fuzz(func(t *testing.T, n int64, d uint8) {
		digits := int(d % 5) // 0 to 4: what currencies have
		out := FormatAmount(n, digits)
		if n < 0 {
			pos := strings.TrimPrefix(out, "-")
			if !strings.HasPrefix(out, "-") || strings.HasPrefix(pos, "-") {
				t.Fatalf("FormatAmount(%d, %d) = %q: want one leading '-'", n, digits, out)
			}
			if n > math.MinInt64 && pos != FormatAmount(-n, digits) {
				t.Fatalf("FormatAmount(%d, %d) = %q, but %q for %d", n, digits, out, FormatAmount(-n, digits), -n)
			}
			checkCanonical(t, pos, n, digits)
			if _, err := ParseAmount(out, digits); err == nil {
				t.Fatalf("ParseAmount read the negative %q", out)
			}
			return
		}
		checkCanonical(t, out, n, digits)
		back, err := ParseAmount(out, digits)
		if n > MaxAmount {
			if err == nil {
				t.Fatalf("ParseAmount(%q, %d) = %d: over MaxAmount", out, digits, back)
			}
			return
		}
		if err != nil || back != n {
			t.Fatalf("FormatAmount(%d, %d) = %q reads back as %d, %v", n, digits, out, back, err)
		}
	})
}

// FuzzFormat checks the display form of every amount in every currency
// of the table: it shows as many decimal places as the currency has, its
// symbol or code, thousands grouped by three, and the number in it (the
// grouping commas taken out) reads back through ParseAmount to the amount.
func FuzzFormat(f *testing.F) {
	for _, n := range []int64{0, 5, 2490, 123456789, MaxAmount, -1050, math.MinInt64, math.MaxInt64} {
		for _, c := range []string{"EUR", "JPY", "KWD", "CLF", "SEK", "ISK", "XXX", "eur"} {
			f.Add(n, c)
		}
	}
	f.Add(int64(1500), "")
	f.Fuzz(func(t *testing.T, n int64, currency string) {
		out := Format(n, currency) // never panics, for any text
		code := strings.ToUpper(strings.TrimSpace(currency))
		digits, ok := CurrencyDigits(code)
		if !ok {
			if len(code) != 3 {
				return // not a code at all: only the absence of a panic is checked
			}
			digits = 2
		}
		num := strings.TrimPrefix(out, "-")
		if (n < 0) != (num != out) {
			t.Fatalf("Format(%d, %q) = %q: sign", n, currency, out)
		}
		if sym, has := symbols[code]; has {
			num = strings.TrimPrefix(num, sym)
		} else {
			num = strings.TrimSuffix(num, " "+code)
		}
		whole, frac, _ := strings.Cut(num, ".")
		groups := strings.Split(whole, ",")
		for i, g := range groups {
			if g == "" || len(g) > 3 || i > 0 && len(g) != 3 {
				t.Fatalf("Format(%d, %q) = %q: bad grouping", n, currency, out)
			}
		}
		plain := strings.Join(groups, "")
		if digits > 0 {
			plain += "." + frac
		}
		checkCanonical(t, plain, n, digits)
		if n < 0 || n > MaxAmount {
			if n < 0 && n > math.MinInt64 && out != "-"+Format(-n, currency) {
				t.Fatalf("Format(%d, %q) = %q, but %q for %d", n, currency, out, Format(-n, currency), -n)
			}
			return
		}
		back, err := ParseAmount(plain, digits)
		if err != nil || back != n {
			t.Fatalf("Format(%d, %q) = %q: the number %q reads back as %d, %v", n, currency, out, plain, back, err)
		}
	})
}
