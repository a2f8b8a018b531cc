package money

import (
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	cases := []struct {
		in     string
		digits int
		want   int64
		err    string // part of the error, "" for none
	}{
		{"12.90", 2, 1290, ""},
		{"12,90", 2, 1290, ""},
		{"12", 2, 1200, ""},
		{"12.9", 2, 1290, ""},
		{"0.05", 2, 5, ""},
		{"0", 2, 0, ""},
		{"007.50", 2, 750, ""},
		{" 3.10 ", 2, 310, ""},
		{"12.900", 2, 1290, ""}, // trailing zeros beyond the minor unit are harmless
		{"9999999999.99", 2, 999_999_999_999, ""},
		{"1500", 0, 1500, ""},
		{"1500.00", 0, 1500, ""},
		{"1.234", 3, 1234, ""},
		{"", 2, 0, "Enter an amount"},
		{"12.999", 2, 0, "at most 2 decimal places"},
		{"12.5", 0, 0, "no decimal places"},
		{"-1", 2, 0, "cannot be negative"},
		{"+1", 2, 0, "digits"},
		{"1e3", 2, 0, "digits"},
		{"1E3", 2, 0, "digits"},
		{"NaN", 2, 0, "digits"},
		{"Inf", 2, 0, "digits"},
		{"0x10", 2, 0, "digits"},
		{"1,234.56", 2, 0, "digits"},
		{"1.234,56", 2, 0, "digits"},
		{"12.", 2, 0, "digits"},
		{".5", 2, 0, "digits"},
		{"1 000", 2, 0, "digits"},
		{"€12", 2, 0, "digits"},
		{"１２", 2, 0, "digits"}, // full-width digits
		{"10000000000", 2, 0, "at most"},
		{"99999999999999999999", 2, 0, "too large"},
		{"999999999999999", 4, 0, "at most"}, // 15 digits times 10^4 would overflow int64
		{"99999999.9999", 4, 999_999_999_999, ""},
		{"100000000", 4, 0, "at most"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseAmount(c.in, c.digits)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("ParseAmount(%q, %d) = %d, %v; want %d", c.in, c.digits, got, err, c.want)
				}
				if back, err := ParseAmount(FormatAmount(got, c.digits), c.digits); err != nil || back != got {
					t.Fatalf("round trip of %d: %d, %v", got, back, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("ParseAmount(%q, %d) = %d, %v; want an error with %q", c.in, c.digits, got, err, c.err)
			}
		})
	}
}

func TestFormatAmount(t *testing.T) {
	cases := []struct {
		minor  int64
		digits int
		want   string
	}{{1290, 2, "12.90"}, {5, 2, "0.05"}, {0, 2, "0.00"}, {1500, 0, "1500"}, {1234, 3, "1.234"}, {-5, 2, "-0.05"}}
	for _, c := range cases {
		if got := FormatAmount(c.minor, c.digits); got != c.want {
			t.Errorf("FormatAmount(%d, %d) = %q, want %q", c.minor, c.digits, got, c.want)
		}
	}
}

func TestValidCurrency(t *testing.T) {
	for _, ok := range []string{"EUR", "USD", "JPY", "KWD", "CHF"} {
		if err := ValidCurrency(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "eur", "EU", "EURO", "E1R", "XXX", "ABC", "ÄUR"} {
		if err := ValidCurrency(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if d, _ := CurrencyDigits("JPY"); d != 0 {
		t.Errorf("JPY digits %d", d)
	}
	if d, _ := CurrencyDigits("BHD"); d != 3 {
		t.Errorf("BHD digits %d", d)
	}
}
