package feed

import (
	"strings"
	"testing"
)

func TestParsePrice(t *testing.T) {
	cases := []struct {
		in, def string
		want    Price
		err     string // part of the error, "" for none
	}{
		{"13.90 EUR", "", Price{1390, "EUR"}, ""},
		{"13,90 EUR", "", Price{1390, "EUR"}, ""},
		{"EUR 13.90", "", Price{1390, "EUR"}, ""},
		{"13.90EUR", "", Price{1390, "EUR"}, ""},
		{"eur 13.9", "", Price{1390, "EUR"}, ""},
		{"  13.90\u00a0EUR ", "", Price{1390, "EUR"}, ""}, // no-break space
		{"0 EUR", "", Price{0, "EUR"}, ""},
		{"0.00 EUR", "", Price{0, "EUR"}, ""},
		{"12 EUR", "", Price{1200, "EUR"}, ""},
		{"1.234,56 EUR", "", Price{123456, "EUR"}, ""},
		{"1,234.56 EUR", "", Price{123456, "EUR"}, ""},
		{"1.234.567,89 EUR", "", Price{123456789, "EUR"}, ""},
		{"1,234,567 EUR", "", Price{123456700, "EUR"}, ""},
		{"1.234.567 EUR", "", Price{123456700, "EUR"}, ""},
		{"0,500 EUR", "", Price{50, "EUR"}, ""}, // a lone 0 cannot be a thousands group
		{"12.900 EUR", "", Price{}, "ambiguous"},
		{"1.234 EUR", "", Price{}, "ambiguous (1234 or 1.234?)"},
		{"1,234 EUR", "", Price{}, "ambiguous"},
		{"1500 JPY", "", Price{1500, "JPY"}, ""},
		{"1,500 JPY", "", Price{}, "ambiguous"},
		{"1.500,00 JPY", "", Price{1500, "JPY"}, ""},
		{"1.5 JPY", "", Price{}, "no decimal places"},
		{"1.500 KWD", "", Price{1500, "KWD"}, ""}, // three decimal places: the separator is decimal
		{"1,234.500 KWD", "", Price{1234500, "KWD"}, ""},
		{"1.2345 CLF", "", Price{12345, "CLF"}, ""},
		{"13.90", "EUR", Price{1390, "EUR"}, ""},
		{"13.90 USD", "EUR", Price{1390, "USD"}, ""},
		{"9999999999.99 EUR", "", Price{999_999_999_999, "EUR"}, ""},
		{"10000000000 EUR", "", Price{}, "at most"},
		{"99999999999999999999 EUR", "", Price{}, "too large"},
		{"13.90", "", Price{}, "no currency"},
		{"", "EUR", Price{}, "no amount"},
		{"EUR", "", Price{}, "no amount"},
		{"13.999 EUR", "", Price{}, "ambiguous"},
		{"13.9999 EUR", "", Price{}, "at most 2 decimal places"},
		{"-13.90 EUR", "", Price{}, "negative"},
		{"+13.90 EUR", "", Price{}, "not an amount"},
		{"1e3 EUR", "", Price{}, "not an amount"},
		{"1E3", "EUR", Price{}, "not an amount"},
		{"NaN EUR", "", Price{}, "letters on both sides"},
		{"NaN", "EUR", Price{}, "no amount"},
		{"Inf EUR", "", Price{}, "letters on both sides"},
		{"Infinity", "", Price{}, "no amount"},
		{"0x10 EUR", "", Price{}, "not an amount"},
		{"€13.90", "", Price{}, "currency symbol"},
		{"$13.90", "USD", Price{}, "currency symbol"},
		{"13.90 €", "", Price{}, "currency symbol"},
		{"13.90 EURO", "", Price{}, "three-letter"},
		{"13.90 XYZ", "", Price{}, "not an ISO 4217 currency"},
		{"13.90 EUR EUR", "", Price{}, "not an amount"},
		{"1 234,56 EUR", "", Price{}, "not an amount"},
		{"1,23,456.00 EUR", "", Price{}, "group three digits"},
		{"1.234,56,78 EUR", "", Price{}, "mixed separators"},
		{"1,234.56.78 EUR", "", Price{}, "mixed separators"},
		{"12. EUR", "", Price{}, "starts or ends with a separator"},
		{".50 EUR", "", Price{}, "starts or ends with a separator"},
		{"1..5 EUR", "", Price{}, "group three digits"},
		{"１２ EUR", "", Price{}, "not an amount"}, // full-width digits
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParsePrice(c.in, c.def)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("ParsePrice(%q, %q) = %v, %v; want %v", c.in, c.def, got, err, c.want)
				}
				if back, err := ParsePrice(got.String(), ""); err != nil || back != got {
					t.Fatalf("round trip of %v through %q: %v, %v", got, got.String(), back, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("ParsePrice(%q, %q) = %v, %v; want an error with %q", c.in, c.def, got, err, c.err)
			}
		})
	}
}

func TestPriceString(t *testing.T) {
	for p, want := range map[Price]string{
		{1390, "EUR"}: "13.90 EUR", {5, "EUR"}: "0.05 EUR", {0, "EUR"}: "0.00 EUR", {1500, "JPY"}: "1500 JPY",
		{1500, "KWD"}: "1.500 KWD", {}: "",
	} {
		if got := p.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", p, got, want)
		}
	}
	if !(Price{}).IsZero() || (Price{0, "EUR"}).IsZero() {
		t.Error("IsZero: a price of 0.00 EUR is a price")
	}
}

func TestParseAvailabilityAndCondition(t *testing.T) {
	for in, want := range map[string]Availability{
		"in stock": InStock, "in_stock": InStock, "In Stock": InStock, "IN-STOCK": InStock, "instock": InStock,
		"out of stock": OutOfStock, "out_of_stock": OutOfStock, "Out  Of  Stock": OutOfStock,
		"preorder": Preorder, "pre-order": Preorder, "Pre Order": Preorder,
		"backorder": Backorder, "back order": Backorder, "BACK_ORDER": Backorder,
		"available": "", "sold out": "", "": "", "in stock!": "", "limited availability": "",
	} {
		if got, ok := ParseAvailability(in); got != want || ok != (want != "") {
			t.Errorf("ParseAvailability(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for in, want := range map[string]Condition{"new": New, "New": New, " USED ": Used, "refurbished": Refurbished, "mint": "", "": ""} {
		if got, ok := ParseCondition(in); got != want || ok != (want != "") {
			t.Errorf("ParseCondition(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
