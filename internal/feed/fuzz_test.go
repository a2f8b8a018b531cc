package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/storefleet/storefleet/internal/money"
)

var sampleFiles = []string{"testdata/letzshop-sample.tsv", "testdata/letzshop-sample-messy.tsv"}

// FuzzReader feeds arbitrary bytes to the reader. Seeds: the sample files
// cut after a few rows (whole ones make each run and the minimising of
// new inputs slow, and add no paths), the messy sample's two-line row, and
// the edge cases of the tests.
func FuzzReader(f *testing.F) {
	for _, name := range sampleFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(cutLines(data, 4), false)
		f.Add(cutLines(data, 4), true)
	}
	messy, _ := os.ReadFile(sampleFiles[1])
	if i := bytes.Index(messy, []byte("SKU-0000035\t")); i > 0 { // the row with the quoted line break
		f.Add(append(cutLines(messy, 1), cutLines(messy[i:], 3)...), false)
	}
	for _, s := range []string{
		"", "\xef\xbb\xbf", "id\n", "id,price\nA,1 EUR", "id\tprice\r\nA\t\"1,00\r\nEUR\"\r\n",
		"g:id,g:price,sale_price\n\"A\"\"\",\"1.234,56 EUR\",\"1,234.00 EUR\"\n",
		"id\tprice\nA\t1 EUR\nA\t2 EUR\n\tx\n", "<html>\n", "\x89PNG\r\n\x1a\n\x00",
		"id\ttitle\tprice\nA\t\"open\t1 EUR\nB\tx\t1 EUR\n", "id,title,price\nA,27\" screen,1 EUR\n",
		"id\tprice\tgtin\tavailability\tlink\nA\t1 JPY\t4006381333931\tIn Stock\thttps://x\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, lazy bool) {
		r, err := NewReader(bytes.NewReader(data), Options{LazyQuotes: lazy})
		if err != nil {
			if r != nil || !errors.Is(err, ErrNotAFeed) {
				t.Fatalf("NewReader = %v, %v: want nil and ErrNotAFeed", r, err)
			}
			return
		}
		last := 0
		for n := 0; ; n++ {
			if n > len(data) {
				t.Fatalf("more items (%d) than bytes (%d)", n, len(data))
			}
			it, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if it != nil {
					t.Fatalf("an item with error %v", err)
				}
				if _, again := r.Next(); again != err {
					t.Fatalf("error not sticky: %v, then %v", err, again)
				}
				break
			}
			if it.Line <= last {
				t.Fatalf("line %d after line %d", it.Line, last)
			}
			last = it.Line
			checkItem(t, it)
		}
	})
}

// checkItem checks what every item must satisfy.
func checkItem(t *testing.T, it *Item) {
	t.Helper()
	for _, e := range it.Errors {
		if e.Line != it.Line || !strings.HasPrefix(e.Error(), fmt.Sprintf("line %d: ", it.Line)) {
			t.Fatalf("row error %q on the item of line %d", e.Error(), it.Line)
		}
	}
	for _, p := range []*Price{&it.Price, it.SalePrice} {
		if p == nil || p.IsZero() {
			continue
		}
		back, err := ParsePrice(p.String(), "")
		if err != nil || back != *p {
			t.Fatalf("line %d: price %#v written %q reads back as %#v, %v", it.Line, *p, p.String(), back, err)
		}
	}
	if !it.Valid() {
		return
	}
	if it.ID == "" || strings.ContainsAny(it.ID, "\t\r\n") || utf8.RuneCountInString(it.ID) > MaxIDLen {
		t.Fatalf("line %d: valid item with id %q", it.Line, it.ID)
	}
	if it.Price.IsZero() {
		t.Fatalf("line %d: valid item without a price", it.Line)
	}
	if it.SalePrice != nil && (it.SalePrice.Currency != it.Price.Currency || it.SalePrice.Minor >= it.Price.Minor) {
		t.Fatalf("line %d: valid item with sale price %v and price %v", it.Line, it.SalePrice, it.Price)
	}
	for _, s := range []string{it.Title, it.Description, it.Brand, it.MPN, it.Color, it.Size, it.ProductType} {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("line %d: valid item with text %q", it.Line, s)
		}
	}
	if utf8.RuneCountInString(it.Title) > MaxTitleLen || utf8.RuneCountInString(it.Description) > MaxDescriptionLen {
		t.Fatalf("line %d: valid item over the limits", it.Line)
	}
	for _, u := range append([]string{it.Link, it.ImageLink}, it.AdditionalImageLinks...) {
		if u != "" && checkURL(u, strings.ContainsAny(u, "\t\r\n")) != "" {
			t.Fatalf("line %d: valid item with link %q", it.Line, u)
		}
	}
	if it.GTIN != "" && len(it.GTIN) != 8 && len(it.GTIN) != 12 && len(it.GTIN) != 13 && len(it.GTIN) != 14 {
		t.Fatalf("line %d: valid item with GTIN %q", it.Line, it.GTIN)
	}
}

// cutLines returns the first n lines of data.
func cutLines(data []byte, n int) []byte {
	end := 0
	for range n {
		i := bytes.IndexByte(data[end:], '\n')
		if i < 0 {
			return data
		}
		end += i + 1
	}
	return data[:end]
}

// FuzzParsePrice checks that a price that reads is a sane amount of a real
// currency, and is written back to the same price. Seeds: every price of
// the sample files and the table of TestParsePrice's kinds.
func FuzzParsePrice(f *testing.F) {
	for _, name := range sampleFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Split(line, "\t")
			if len(fields) > 8 {
				f.Add(fields[7], "")
				f.Add(fields[8], "")
			}
		}
	}
	for _, s := range []string{"13,90 EUR", "EUR 13.90", "1.234,56 EUR", "1,234.56 EUR", "1.234 EUR", "0,500 EUR",
		"1500 JPY", "1.500 KWD", "1.2345 CLF", "-1 EUR", "NaN", "Inf EUR", "1e3 EUR", "9999999999.99 EUR", "€1", "13.90"} {
		f.Add(s, "")
		f.Add(s, "JPY")
	}
	f.Fuzz(func(t *testing.T, s, def string) {
		p, err := ParsePrice(s, def)
		if err != nil {
			if !p.IsZero() {
				t.Fatalf("ParsePrice(%q, %q) = %#v with error %v", s, def, p, err)
			}
			return
		}
		if p.Minor < 0 || p.Minor > money.MaxAmount || money.ValidCurrency(p.Currency) != nil {
			t.Fatalf("ParsePrice(%q, %q) = %#v", s, def, p)
		}
		// The text is an amount of digits and separators with at most a
		// code before or after it: no sign, exponent, NaN or infinity.
		num := strings.TrimSpace(s)
		if code := strings.ToUpper(num[:leadingLetters(num)]); code != "" {
			num = num[len(code):]
			if code != p.Currency {
				t.Fatalf("ParsePrice(%q, %q) = %#v: code %q", s, def, p, code)
			}
		} else if n := trailingLetters(num); n > 0 {
			if strings.ToUpper(num[len(num)-n:]) != p.Currency {
				t.Fatalf("ParsePrice(%q, %q) = %#v: code %q", s, def, p, num[len(num)-n:])
			}
			num = num[:len(num)-n]
		} else if strings.ToUpper(def) != p.Currency {
			t.Fatalf("ParsePrice(%q, %q) = %#v without a code of its own", s, def, p)
		}
		num = strings.TrimSpace(num)
		if num == "" || strings.Trim(num, "0123456789.,") != "" || !isDigit(num[0]) || !isDigit(num[len(num)-1]) {
			t.Fatalf("ParsePrice(%q, %q) = %#v: the amount %q is not digits and separators", s, def, p, num)
		}
		// Without separators the amount is read exactly, as money.ParseAmount reads it.
		digits, _ := money.CurrencyDigits(p.Currency)
		if digitsOnly(num) {
			if want, err := money.ParseAmount(num, digits); err != nil || want != p.Minor {
				t.Fatalf("ParsePrice(%q, %q) = %#v, want %d (%v)", s, def, p, want, err)
			}
		}
		back, err := ParsePrice(p.String(), "")
		if err != nil || back != p {
			t.Fatalf("ParsePrice(%q, %q) = %#v, written %q, reads back as %#v, %v", s, def, p, p.String(), back, err)
		}
	})
}
