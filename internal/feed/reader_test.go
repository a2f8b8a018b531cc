package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// readAll reads every item of a feed, failing the test on a reader error.
func readAll(t testing.TB, data []byte, opts Options) []*Item {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var items []*Item
	for {
		it, err := r.Next()
		if err == io.EOF {
			return items
		}
		if err != nil {
			t.Fatalf("Next after %d items: %v", len(items), err)
		}
		items = append(items, it)
	}
}

func sample(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// problems lists a feed's row errors as "line: kind".
func problems(items []*Item) []string {
	var out []string
	for _, it := range items {
		for _, e := range it.Errors {
			out = append(out, fmt.Sprintf("%d: %s", e.Line, e.Kind))
		}
	}
	return out
}

func byID(items []*Item) map[string]*Item {
	m := map[string]*Item{}
	for _, it := range items {
		m[it.ID] = it
	}
	return m
}

func TestSampleFiles(t *testing.T) {
	for _, name := range []string{"letzshop-sample.tsv", "letzshop-sample-messy.tsv"} {
		t.Run(name, func(t *testing.T) {
			data := sample(t, name)
			r, err := NewReader(bytes.NewReader(data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != TSV || len(r.Header()) != 18 {
				t.Fatalf("format %v, header %q", r.Format(), r.Header())
			}
			items := readAll(t, data, Options{})
			if len(items) != 60 {
				t.Fatalf("%d items, want 60", len(items))
			}
			if p := problems(items); p != nil {
				t.Fatalf("row errors in a sample with none: %q", p)
			}
			for i, it := range items {
				if want := fmt.Sprintf("SKU-%07d", i+1); it.ID != want {
					t.Fatalf("item %d has id %q, want %q", i, it.ID, want)
				}
				if it.Title == "" || it.Description == "" || it.Price.Currency != "EUR" || it.Price.Minor <= 0 ||
					it.Availability == "" || it.Condition == "" || len(it.AdditionalImageLinks) != 2 ||
					len(it.GTIN) != 13 || it.Brand == "" || it.MPN != fmt.Sprintf("M%d", i+1) || it.ItemGroupID == "" ||
					it.GoogleProductCategory != "Food, Beverages & Tobacco" || it.ProductType != "Home > Kitchen" || it.Attributes != nil {
					t.Fatalf("item %d incomplete: %+v", i, it)
				}
			}
		})
	}

	t.Run("every field of a clean row", func(t *testing.T) {
		items := readAll(t, sample(t, "letzshop-sample.tsv"), Options{Language: "EN"})
		sale := Price{68334, "EUR"}
		want := &Item{Line: 2, ID: "SKU-0000001", Title: "Artisan Gromperekichelcher mix",
			Description: "Artisan Gromperekichelcher mix from Cactus. Ships within 2 days.",
			Link:        "https://shop.example.lu/p/sku-0000001", ImageLink: "https://cdn.example.lu/img/sku-0000001.jpg",
			AdditionalImageLinks: []string{"https://cdn.example.lu/img/sku-0000001-2.jpg", "https://cdn.example.lu/img/sku-0000001-3.jpg"},
			Availability:         Preorder, Price: Price{85418, "EUR"}, SalePrice: &sale, Brand: "Bernard-Massard",
			GTIN: "5908301661317", MPN: "M1", Condition: Used, GoogleProductCategory: "Food, Beverages & Tobacco",
			ProductType: "Home > Kitchen", ItemGroupID: "G0", Color: "blue", Size: "S", Language: "en"}
		if !reflect.DeepEqual(items[0], want) {
			t.Fatalf("got  %+v\nwant %+v", items[0], want)
		}
		if last := items[59]; last.Line != 61 || last.ID != "SKU-0000060" {
			t.Fatalf("last item: line %d, id %s", last.Line, last.ID)
		}
	})

	// The messy sample has no bad row: its mess is in the form, and every
	// row must come through as in the clean one.
	t.Run("what the messy sample holds", func(t *testing.T) {
		data := sample(t, "letzshop-sample-messy.tsv")
		if !bytes.HasPrefix(data, bom) || !bytes.Contains(data, []byte("size\r\n")) {
			t.Fatal("the sample lost its BOM or its CRLF")
		}
		r, err := NewReader(bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if h := r.Header(); h[0] != "g:id" || h[5] != "ADDITIONAL_IMAGE_LINK" || h[10] != "GTIN" {
			t.Fatalf("header as written: %q", h)
		}
		items := byID(readAll(t, data, Options{}))
		cases := []struct {
			id   string
			line int
			test func(*Item) bool
			what string
		}{
			{"SKU-0000001", 2, func(it *Item) bool {
				return it.Link != "" && it.Brand == "Oberweis" && it.ItemGroupID == "G0" && it.Size == ""
			},
				"g: headers (g:id, g:link, g:brand, g:item_group_id) and an empty last field before CRLF"},
			{"SKU-0000002", 3, func(it *Item) bool { return it.GTIN == "0033907579386" && len(it.AdditionalImageLinks) == 2 },
				"upper-case headers GTIN and ADDITIONAL_IMAGE_LINK; a GTIN with leading zeros"},
			{"SKU-0000004", 5, func(it *Item) bool { return it.Price == Price{6957, "EUR"} }, "a decimal comma: 69,57 EUR"},
			{"SKU-0000025", 26, func(it *Item) bool { return it.Title == "Äppelwäin – Ëmmer 🍎 Smart Chocolate pralines" },
				"accents, an en dash and an emoji (4-byte UTF-8)"},
			{"SKU-0000035", 36, func(it *Item) bool { return it.Description == "Line one\nLine \"two\"\tTabbed" },
				"a quoted description with a line break (LF in a CRLF file), doubled quotes and a tab"},
			{"SKU-0000036", 38, func(it *Item) bool { return it.Availability == InStock }, "the row after the two-line one"},
			{"SKU-0000060", 62, func(it *Item) bool { return it.SalePrice != nil && *it.SalePrice == Price{13705, "EUR"} }, "the last row"},
		}
		for _, c := range cases {
			it := items[c.id]
			if it == nil || it.Line != c.line || !c.test(it) {
				t.Errorf("%s (%s): got %+v, want line %d", c.id, c.what, it, c.line)
			}
		}
	})
}

// messyWith is the messy sample with rows changed or added, so that its
// problems have known lines. Its rows keep the sample's CRLF.
func messyWith(t *testing.T, change func(rows [][]string) [][]string) []byte {
	t.Helper()
	text := strings.TrimSuffix(string(sample(t, "letzshop-sample-messy.tsv")), "\r\n")
	lines := strings.Split(text, "\r\n") // the quoted LF stays inside its row
	var rows [][]string
	for _, l := range lines {
		rows = append(rows, strings.Split(l, "\t"))
	}
	rows = change(rows)
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "\t") + "\r\n")
	}
	return []byte(b.String())
}

func TestBadRowsInTheMessySample(t *testing.T) {
	// Columns of the sample: 0 id, 1 title, 2 description, 3 link,
	// 4 image_link, 5 additional_image_link, 6 availability, 7 price,
	// 8 sale_price, 9 brand, 10 gtin, 11 mpn, 12 condition, ... 17 size.
	set := func(rows [][]string, row, col int, v string) { rows[row][col] = v }
	data := messyWith(t, func(rows [][]string) [][]string {
		set(rows, 3, 0, "")                                        // line 4
		set(rows, 5, 7, "12.34.56 EUR")                            // line 6
		set(rows, 6, 8, "999.00 EUR")                              // line 7: above 132.49
		set(rows, 7, 10, "6224393328366")                          // line 8: check digit
		set(rows, 8, 1, strings.Repeat("é", 501))                  // line 9
		set(rows, 9, 6, "sold out")                                // line 10
		rows[10] = rows[10][:17]                                   // line 11: a column short
		set(rows, 12, 0, "SKU-0000002")                            // line 13: duplicate of line 3
		set(rows, 13, 7, "")                                       // line 14
		set(rows, 14, 8, "abc")                                    // line 15
		set(rows, 15, 12, "mint")                                  // line 16
		set(rows, 16, 4, "ftp://cdn.example.lu/x.jpg")             // line 17
		set(rows, 17, 7, "1.234 EUR")                              // line 18: ambiguous
		set(rows, 18, 7, "-5.00 EUR")                              // line 19
		set(rows, 19, 7, "NaN EUR")                                // line 20
		set(rows, 20, 7, "1e3 EUR")                                // line 21
		set(rows, 21, 1, "Bad \x00 byte")                          // line 22
		set(rows, 22, 1, "Latin-1 \xe9")                           // line 23
		set(rows, 23, 0, strings.Repeat("x", 101))                 // line 24
		set(rows, 36, 0, "SKU-0000033")                            // line 38 (after the two-line row 36-37): duplicate of line 34
		set(rows, 37, 8, rows[37][7])                              // line 39: sale price equal to the price
		set(rows, 38, 1, `Screen 27" wide`)                        // line 40: a bare quote
		return append(rows, rows[1][:1], append(rows[2], "extra")) // lines 63, 64: too few and too many columns
	})
	got := problems(readAll(t, data, Options{}))
	want := []string{
		"4: missing id", "6: bad price", "7: sale price not below price", "8: bad GTIN", "9: too long",
		"10: bad availability", "11: wrong number of columns", "13: duplicate id", "14: missing price",
		"15: bad sale price", "16: bad condition", "17: bad URL", "18: bad price", "19: bad price", "20: bad price",
		"21: bad price", "22: bad text", "23: bad text", "24: too long", "38: duplicate id",
		"39: sale price not below price", "40: bad quoting", "63: wrong number of columns", "64: wrong number of columns",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("row errors:\n got %q\nwant %q", got, want)
	}

	// The messages a caller records, "line N: reason".
	items := readAll(t, data, Options{})
	msgs := map[int]string{}
	for _, it := range items {
		if err := it.Err(); err != nil {
			msgs[it.Line] = err.Error()
		}
	}
	for line, part := range map[int]string{
		4:  "line 4: the row has no id",
		6:  `line 6: price "12.34.56 EUR": "12.34.56" is not an amount: thousands separators must group three digits`,
		7:  "line 7: sale price 999.00 EUR is not below the price 132.49 EUR",
		8:  `line 8: GTIN "6224393328366": The check digit (the last one) does not match: with these digits it would be 5.`,
		9:  "line 9: title is too long: 501 characters, at most 500",
		10: `line 10: availability "sold out" is not one of in stock, out of stock, preorder, backorder`,
		11: "line 11: the row has 17 columns, the header 18",
		13: `line 13: id "SKU-0000002" is already on line 3`,
		14: "line 14: the row has no price",
		15: `line 15: sale price "abc": no amount`,
		16: `line 16: condition "mint" is not one of new, refurbished, used`,
		17: `line 17: image_link "ftp://cdn.example.lu/x.jpg" is not an http or https link`,
		18: `line 18: price "1.234 EUR": "1.234" is ambiguous (1234 or 1.234?)`,
		19: `line 19: price "-5.00 EUR": the amount cannot be negative`,
		20: `line 20: price "NaN EUR": letters on both sides of the amount`,
		21: `line 21: price "1e3 EUR": "1e3" is not an amount`,
		22: "line 22: title: control character U+0000 at byte 5",
		23: "line 23: title: not valid UTF-8 at byte 9",
		24: "line 24: id is too long: 101 characters, at most 100",
		38: `line 38: id "SKU-0000033" is already on line 34`,
		40: "line 40: a quote inside a field that does not start with one",
	} {
		if !strings.Contains(msgs[line], part) {
			t.Errorf("line %d: message %q, want it to contain %q", line, msgs[line], part)
		}
	}
	// A bad field is left empty; the rest of the row is read.
	rows := map[int]*Item{}
	for _, it := range items {
		rows[it.Line] = it
	}
	if it := rows[8]; it.GTIN != "" || it.ID != "SKU-0000007" || it.Price.IsZero() {
		t.Errorf("line 8: %+v", it)
	}
	if it := rows[7]; it.SalePrice != nil || it.Price != (Price{13249, "EUR"}) {
		t.Errorf("line 7: %+v", it)
	}
	if it := rows[40]; it.ID != "SKU-0000038" {
		t.Errorf("line 40 (bad quoting) should still name its id: %+v", it)
	}
	// With LazyQuotes the bare quote is a character.
	for _, it := range readAll(t, data, Options{LazyQuotes: true}) {
		if it.Line == 40 && (!it.Valid() || it.Title != `Screen 27" wide`) {
			t.Errorf("lazy quotes, line 40: %+v %v", it, it.Err())
		}
	}
}

func TestNotAFeed(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "the file is empty"},
		{"only a BOM", "\xef\xbb\xbf", "the file is empty"},
		{"only line breaks", "\r\n\n\r\n", "the file is empty"},
		{"binary (PNG)", png, "not UTF-8 text (a binary file"},
		{"binary (ELF)", "\x7fELF\x02\x01\x01\x00\x00\x00\n", "binary data"},
		{"binary (JPEG)", "\xff\xd8\xff\xe0\x00\x10JFIF\x00", "binary data"},
		{"gzip", "\x1f\x8b\x08\x00\x00\x00", "gzip"},
		{"xlsx", "PK\x03\x04\x14\x00\x06\x00", "ZIP"},
		{"UTF-16", "\xff\xfei\x00d\x00\t\x00", "UTF-16"},
		{"HTML page", "<!DOCTYPE html>\n<html><head><title>404</title></head>\n<body>id\tprice</body></html>\n", "HTML or XML"},
		{"HTML after blank lines", "\n\n  <html>\n", "HTML or XML"},
		{"XML feed", "<?xml version=\"1.0\"?>\n<rss><channel><item><g:id>1</g:id></item></channel></rss>\n", "HTML or XML"},
		{"JSON", "{\"id\": \"SKU-1\"}\n", "JSON"},
		{"no known column", "name\tcost\nMug\t3\n", "none of the columns of a feed"},
		{"plain text", "Dear vendor, here is our catalogue.\n", "none of the columns of a feed"},
		{"no id column", "title\tprice\nMug\t3.00 EUR\n", "no id column"},
		{"a column twice", "id\tprice\tg:price\n", `names the column "price" twice (columns 2 and 3)`},
		{"Latin-1 header", "id\td\xe9signation\n", "not UTF-8"},
		{"no line break at all", strings.Repeat("x", headSize+10), "no line break in the first 64 KiB"},
		{"header with a broken quote", "\"id\tprice\n", "header line cannot be read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(c.in), Options{})
			if !errors.Is(err, ErrNotAFeed) || !strings.Contains(err.Error(), c.want) || r != nil {
				t.Fatalf("NewReader = %v, %v; want ErrNotAFeed with %q", r, err, c.want)
			}
		})
	}
	if _, err := NewReader(strings.NewReader("id\n"), Options{DefaultCurrency: "XYZ"}); err == nil || errors.Is(err, ErrNotAFeed) {
		t.Fatalf("a bad default currency: %v", err)
	}
}

func TestEdgeCases(t *testing.T) {
	type row struct {
		line  int
		id    string
		kinds []Kind
	}
	cases := []struct {
		name   string
		in     string
		opts   Options
		format Format
		want   []row
		check  func(t *testing.T, items []*Item)
	}{
		{name: "header only", in: "id\ttitle\tprice\n", format: TSV},
		{name: "header only, no final line break", in: "id,title,price", format: CSV},
		{name: "BOM and CRLF", in: "\xef\xbb\xbfid\tprice\r\nA1\t1.00 EUR\r\nA2\t2.00 EUR\r\n", format: TSV,
			want: []row{{2, "A1", nil}, {3, "A2", nil}}},
		{name: "no final line break", in: "id\tprice\nA1\t1.00 EUR", format: TSV, want: []row{{2, "A1", nil}}},
		{name: "quoted line breaks move the line numbers", format: TSV,
			in:   "id\tdescription\tprice\nA1\t\"one\ntwo\r\nthree\"\t1.00 EUR\nA2\tplain\t2.00 EUR\nA3\t\"\n\"\t3.00 EUR\nA4\tx\t4.00 EUR\n",
			want: []row{{2, "A1", nil}, {5, "A2", nil}, {6, "A3", nil}, {8, "A4", nil}},
			check: func(t *testing.T, items []*Item) {
				if items[0].Description != "one\ntwo\nthree" {
					t.Errorf("description %q", items[0].Description)
				}
			}},
		{name: "g: headers in any case with spaces", format: TSV,
			in:   " G:ID \tg:Title\tG: price \tImage Link\tg:custom_label_0\tShipping Weight\t\nA1\tMug\t3.50 EUR\thttps://x.lu/a.jpg\tsummer\t1 kg\t\n",
			want: []row{{2, "A1", nil}},
			check: func(t *testing.T, items []*Item) {
				it := items[0]
				want := map[string]string{"custom_label_0": "summer", "shipping_weight": "1 kg"}
				if it.Title != "Mug" || it.Price != (Price{350, "EUR"}) || it.ImageLink != "https://x.lu/a.jpg" || !reflect.DeepEqual(it.Attributes, want) {
					t.Errorf("%+v", it)
				}
			}},
		{name: "comma-separated with quotes", format: CSV,
			in:   "id,title,price,sale_price,description\n\"A1\",\"Mug, large\",\"13,90 EUR\",\"EUR 9.90\",\"He said \"\"hi\"\",\nthen left\"\nA2,Plain,\"1.234,56 EUR\",,\n",
			want: []row{{2, "A1", nil}, {4, "A2", nil}},
			check: func(t *testing.T, items []*Item) {
				a, b := items[0], items[1]
				if a.Title != "Mug, large" || a.Price != (Price{1390, "EUR"}) || *a.SalePrice != (Price{990, "EUR"}) ||
					a.Description != "He said \"hi\",\nthen left" || b.Price != (Price{123456, "EUR"}) || b.SalePrice != nil {
					t.Errorf("%+v %+v", a, b)
				}
			}},
		{name: "tab wins over commas in the header", format: TSV,
			in: "id\ttitle, short\tprice\nA1\tMug\t1.00 EUR\n", want: []row{{2, "A1", nil}},
			check: func(t *testing.T, items []*Item) {
				if !reflect.DeepEqual(items[0].Attributes, map[string]string{"title,_short": "Mug"}) || items[0].Title != "" {
					t.Errorf("%+v", items[0])
				}
			}},
		{name: "blank rows and trailing separators are skipped", format: CSV,
			in: "id,price\n\nA1,1.00 EUR\n,\n  ,  \n\r\nA2,2.00 EUR\n,,,,\n", want: []row{{3, "A1", nil}, {7, "A2", nil}}},
		{name: "leading empty lines before the header", format: TSV,
			in: "\n\r\nid\tprice\nA1\t1.00 EUR\n", want: []row{{4, "A1", nil}}},
		{name: "availability spellings", format: TSV,
			in:   "id\tprice\tavailability\nA\t1 EUR\tin_stock\nB\t1 EUR\tOut Of Stock\nC\t1 EUR\tpre-order\nD\t1 EUR\tBACK_ORDER\nE\t1 EUR\tin stock \nF\t1 EUR\tmaybe\n",
			want: []row{{2, "A", nil}, {3, "B", nil}, {4, "C", nil}, {5, "D", nil}, {6, "E", nil}, {7, "F", []Kind{KindBadAvailability}}},
			check: func(t *testing.T, items []*Item) {
				got := []Availability{}
				for _, it := range items {
					got = append(got, it.Availability)
				}
				if want := []Availability{InStock, OutOfStock, Preorder, Backorder, InStock, ""}; !reflect.DeepEqual(got, want) {
					t.Errorf("%v", got)
				}
			}},
		{name: "default currency", format: TSV, opts: Options{DefaultCurrency: "eur"},
			in: "id\tprice\tsale_price\nA\t13.90\t9,90\nB\t100 JPY\t\n", want: []row{{2, "A", nil}, {3, "B", nil}},
			check: func(t *testing.T, items []*Item) {
				if items[0].Price != (Price{1390, "EUR"}) || *items[0].SalePrice != (Price{990, "EUR"}) || items[1].Price != (Price{100, "JPY"}) {
					t.Errorf("%+v %+v", items[0], items[1])
				}
			}},
		{name: "a price without currency and no default", format: TSV,
			in: "id\tprice\nA\t13.90\n", want: []row{{2, "A", []Kind{KindBadPrice}}}},
		{name: "sale price in another currency", format: TSV,
			in: "id\tprice\tsale_price\nA\t13.90 EUR\t9.90 USD\n", want: []row{{2, "A", []Kind{KindBadSalePrice}}}},
		{name: "several problems in one row", format: TSV,
			in:   "id\tprice\tgtin\tcondition\tlink\n\t\t123\tbroken\tshop.lu/x\n",
			want: []row{{2, "", []Kind{KindBadGTIN, KindBadCondition, KindBadURL, KindMissingID, KindMissingPrice}}}},
		{name: "GTIN with spaces and hyphens", format: TSV, in: "id\tprice\tgtin\nA\t1 EUR\t400-638 133393-1\n",
			want: []row{{2, "A", nil}},
			check: func(t *testing.T, items []*Item) {
				if items[0].GTIN != "4006381333931" {
					t.Errorf("GTIN %q", items[0].GTIN)
				}
			}},
		{name: "additional image links", format: TSV,
			in: "id\tprice\tadditional_image_link\nA\t1 EUR\thttps://a.lu/1.jpg, https://a.lu/2.jpg,\nB\t1 EUR\thttps://a.lu/1.jpg,javascript:alert(1)\nC\t1 EUR\t" +
				strings.Repeat("https://a.lu/x.jpg,", 21) + "\n",
			want: []row{{2, "A", nil}, {3, "B", []Kind{KindBadURL}}, {4, "C", []Kind{KindTooLong}}},
			check: func(t *testing.T, items []*Item) {
				if !reflect.DeepEqual(items[0].AdditionalImageLinks, []string{"https://a.lu/1.jpg", "https://a.lu/2.jpg"}) || items[1].AdditionalImageLinks != nil {
					t.Errorf("%q %q", items[0].AdditionalImageLinks, items[1].AdditionalImageLinks)
				}
			}},
		{name: "limits are in characters, not bytes", format: TSV,
			in:   "id\tprice\ttitle\nA\t1 EUR\t" + strings.Repeat("€", MaxTitleLen) + "\nB\t1 EUR\t" + strings.Repeat("a", MaxTitleLen+1) + "\n",
			want: []row{{2, "A", nil}, {3, "B", []Kind{KindTooLong}}}},
		{name: "an id with a quoted line break", format: TSV,
			in: "id\tprice\n\"A\nB\"\t1 EUR\nC\t1 EUR\n", want: []row{{2, "", []Kind{KindBadText}}, {4, "C", nil}}},
		{name: "an unclosed quote at the end", format: TSV,
			in: "id\tprice\nA\t1 EUR\nB\t\"1 EUR\nC\t1 EUR\n", want: []row{{2, "A", nil}, {3, "B", []Kind{KindQuoting}}}},
		{name: "a quote closed too early", format: CSV,
			in: "id,title,price\nA,\"Mug\" large,1 EUR\nB,Cup,1 EUR\n", want: []row{{2, "A", []Kind{KindQuoting}}, {3, "B", nil}}},
		{name: "duplicates are exact matches", format: TSV,
			in:   "id\tprice\nA\t1 EUR\na\t1 EUR\n A \t1 EUR\nA\tbad\n",
			want: []row{{2, "A", nil}, {3, "a", nil}, {4, "A", []Kind{KindDuplicateID}}, {5, "A", []Kind{KindDuplicateID, KindBadPrice}}}},
		{name: "a row with a duplicate id whose first row was bad still counts", format: TSV,
			in: "id\tprice\nA\t\nA\t1 EUR\n", want: []row{{2, "A", []Kind{KindMissingPrice}}, {3, "A", []Kind{KindDuplicateID}}}},
		{name: "empty header columns are ignored", format: CSV,
			in: "id,,price,\nA,junk,1 EUR,more\n", want: []row{{2, "A", nil}},
			check: func(t *testing.T, items []*Item) {
				if items[0].Attributes != nil {
					t.Errorf("%v", items[0].Attributes)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(c.in), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != c.format {
				t.Errorf("format %v, want %v", r.Format(), c.format)
			}
			items := readAll(t, []byte(c.in), c.opts)
			var got []row
			for _, it := range items {
				var kinds []Kind
				for _, e := range it.Errors {
					kinds = append(kinds, e.Kind)
					if e.Line != it.Line {
						t.Errorf("error line %d on item line %d", e.Line, it.Line)
					}
				}
				got = append(got, row{it.Line, it.ID, kinds})
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
			if c.check != nil {
				c.check(t, items)
			}
		})
	}
}

func TestRecordTooLong(t *testing.T) {
	// A quote never closed: the field runs on to the end of the input.
	var b strings.Builder
	b.WriteString("id\tdescription\tprice\nA\t\"open\t1 EUR\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "B%d\tsome text\t1 EUR\n", i)
	}
	r, err := NewReader(strings.NewReader(b.String()), Options{MaxRecordBytes: 10 << 10})
	if err != nil {
		t.Fatal(err)
	}
	it, err := r.Next()
	if it != nil || err == nil || !strings.Contains(err.Error(), "line 2: a row longer than 10240 bytes") {
		t.Fatalf("Next = %+v, %v", it, err)
	}
	if _, again := r.Next(); again != err {
		t.Fatalf("the error is not sticky: %v", again)
	}
	// The same input with the default bound: one row error, then the end.
	items := readAll(t, []byte(b.String()), Options{})
	if len(items) != 1 || items[0].Errors[0].Kind != KindQuoting {
		t.Fatalf("%d items: %+v", len(items), items)
	}
}

type failingReader struct{ data io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.data.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestInputError(t *testing.T) {
	if _, err := NewReader(&failingReader{strings.NewReader("id\tpri")}, Options{}); err == nil || errors.Is(err, ErrNotAFeed) || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("NewReader: %v", err)
	}
	r, err := NewReader(&failingReader{strings.NewReader("id\tprice\nA\t1 EUR\nB\t2 E")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if it, err := r.Next(); err != nil || it.ID != "A" {
		t.Fatalf("first row: %+v, %v", it, err)
	}
	if _, err := r.Next(); err == nil || err == io.EOF || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("second row: %v", err)
	}
}

// The reader returns each row as soon as it has arrived: it does not wait
// for the rest of the input.
func TestStreams(t *testing.T) {
	pr, pw := io.Pipe()
	more := make(chan bool)
	go func() {
		_, _ = io.WriteString(pw, "id\tprice\nA\t1 EUR\n")
		<-more
		_, _ = io.WriteString(pw, "B\t2 EUR\n")
		pw.Close()
	}()
	r, err := NewReader(pr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if it, err := r.Next(); err != nil || it.ID != "A" {
		t.Fatalf("%+v, %v", it, err)
	}
	close(more)
	if it, err := r.Next(); err != nil || it.ID != "B" {
		t.Fatalf("%+v, %v", it, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatal(err)
	}
}

// genFeed writes a feed of n rows made from the clean sample's rows, each
// with its own id.
type genFeed struct {
	header []byte
	rows   [][]string
	n, i   int
	buf    bytes.Buffer
}

func newGenFeed(t testing.TB, n int) *genFeed {
	lines := strings.Split(strings.TrimSuffix(string(sample(t, "letzshop-sample.tsv")), "\n"), "\n")
	g := &genFeed{header: []byte(lines[0] + "\n"), n: n}
	for _, l := range lines[1:] {
		g.rows = append(g.rows, strings.Split(l, "\t"))
	}
	g.buf.Write(g.header)
	return g
}

func (g *genFeed) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && g.i < g.n {
		row := g.rows[g.i%len(g.rows)]
		fmt.Fprintf(&g.buf, "SKU-%09d\t%s\n", g.i+1, strings.Join(row[1:], "\t"))
		g.i++
	}
	if g.buf.Len() == 0 {
		return 0, io.EOF
	}
	return g.buf.Read(p)
}

// Reading a feed holds one row at a time and the ids: 100,000 rows of
// 400 bytes (40 MB) must not stay in memory.
func TestMemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 40 MB")
	}
	const rows = 100_000
	r, err := NewReader(newGenFeed(t, rows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := 0
	for {
		it, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil || !it.Valid() {
			t.Fatalf("row %d: %v %v", n, err, it.Err())
		}
		n++
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d rows; heap grew by %.1f MB", n, float64(grown)/(1<<20))
	if n != rows || grown > 20<<20 {
		t.Fatalf("%d rows, heap grew by %d bytes: rows are kept alive", n, grown)
	}
	runtime.KeepAlive(r)
}

// checkText's eight-bytes-at-a-time path must agree with a plain loop.
func TestCheckTextAgreesWithAPlainLoop(t *testing.T) {
	plain := func(s string) (int, bool, bool) {
		breaks := strings.ContainsAny(s, "\t\r\n")
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\r' && r != '\n' || r == 0x7f }) {
			return 0, breaks, false
		}
		return utf8.RuneCountInString(s), breaks, true
	}
	check := func(s string) {
		n, breaks, problem := checkText(s)
		wn, wbreaks, wok := plain(s)
		if (problem == "") != wok || wok && (n != wn || breaks != wbreaks) {
			t.Fatalf("checkText(%q) = %d, %v, %q; want %d, %v, ok %v", s, n, breaks, problem, wn, wbreaks, wok)
		}
	}
	// Every byte value at every place of a 17-byte string (two words and
	// a tail), and some multi-byte characters across word edges.
	base := []byte("abcdefghijklmnopq")
	for pos := range base {
		for b := range 256 {
			s := append([]byte(nil), base...)
			s[pos] = byte(b)
			check(string(s))
		}
	}
	for _, s := range []string{"", "é", "abcdefgé", "abcdefgéh", "abcdef🍎", "Äppelwäin – Ëmmer 🍎 x", "\xe9abcdefgh", "abcdefg\xe2\x82", "a\tb\nc\r\n"} {
		check(s)
		check(s + strings.Repeat("x", 9))
	}
}
