package catalog

import (
	"strings"
	"testing"
)

func TestFormParse(t *testing.T) {
	good := Form{SKU: " HAM-1 ", Title: " Hammer ", Price: "12,90", SalePrice: "9.99", Currency: "EUR", State: "active", GTIN: "4006381333931"}
	f, errs := good.Parse()
	if len(errs) > 0 {
		t.Fatalf("good form: %v", errs)
	}
	if f.SKU != "HAM-1" || f.Title != "Hammer" || f.PriceMinor != 1290 || f.SalePrice == nil || *f.SalePrice != 999 {
		t.Fatalf("parsed: %+v", f)
	}
	cases := []struct {
		name   string
		change func(*Form)
		field  string
		msg    string
	}{
		{"no SKU", func(f *Form) { f.SKU = "" }, "sku", "Enter a SKU"},
		{"SKU with space", func(f *Form) { f.SKU = "HAM 1" }, "sku", "without spaces"},
		{"formula SKU", func(f *Form) { f.SKU = "=1+1" }, "sku", "starting with a letter"},
		{"long SKU", func(f *Form) { f.SKU = strings.Repeat("A", 65) }, "sku", "64"},
		{"no title", func(f *Form) { f.Title = "  " }, "title", "Enter a title"},
		{"bad GTIN", func(f *Form) { f.GTIN = "4006381333932" }, "gtin", "check digit"},
		{"no price", func(f *Form) { f.Price = "" }, "price", "Enter a price"},
		{"float price", func(f *Form) { f.Price = "1e3" }, "price", "digits"},
		{"negative price", func(f *Form) { f.Price = "-1" }, "price", "negative"},
		{"sale equal to price", func(f *Form) { f.SalePrice = "12.90" }, "sale_price", "below the price"},
		{"sale above price", func(f *Form) { f.SalePrice = "13" }, "sale_price", "below the price"},
		{"bad sale", func(f *Form) { f.SalePrice = "NaN" }, "sale_price", "digits"},
		{"lower-case currency", func(f *Form) { f.Currency = "eur" }, "currency", "capitals"},
		{"unknown currency", func(f *Form) { f.Currency = "ABC" }, "currency", "not an ISO 4217"},
		{"decimals in JPY", func(f *Form) { f.Currency = "JPY"; f.Price = "12.5"; f.SalePrice = "" }, "price", "no decimal places"},
		{"unknown state", func(f *Form) { f.State = "deleted" }, "state", "draft, active or archived"},
		{"bad category", func(f *Form) { f.CategoryIDs = []string{"x"} }, "categories", "from the list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := good
			c.change(&form)
			_, errs := form.Parse()
			if !strings.Contains(errs[c.field], c.msg) {
				t.Fatalf("errors %v; want %s: %q", errs, c.field, c.msg)
			}
		})
	}
	// A price that does not parse is not also compared with the sale price.
	form := good
	form.Price = "abc"
	if _, errs := form.Parse(); errs["sale_price"] != "" {
		t.Errorf("sale price error with a bad price: %v", errs)
	}
}

func TestCSVCell(t *testing.T) {
	cases := map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1+1":                     "'+1+1",
		"-2+3":                     "'-2+3",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\tcmd":                    "'\tcmd",
		"\rcmd":                    "'\rcmd",
		"Hammer":                   "Hammer",
		"12.90":                    "12.90",
		"":                         "",
		"a=b":                      "a=b",
	}
	for in, want := range cases {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}
