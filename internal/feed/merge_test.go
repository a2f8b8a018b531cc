package feed

import (
	"reflect"
	"strings"
	"testing"
)

func readString(t *testing.T, in, lang string) []*Item {
	t.Helper()
	return readAll(t, []byte(in), Options{Language: lang})
}

func TestMerge(t *testing.T) {
	en := readString(t, "id\ttitle\tdescription\tprice\n"+
		"A\tMustard\tStrong mustard\t3.50 EUR\n"+
		"B\tWine\tWhite wine\t9.90 EUR\n"+
		"C\tCheese\tSoft cheese\t4.20 EUR\n"+
		"B\tWine again\tdup\t9.90 EUR\n", "en")
	fr := readString(t, "g:id\tg:title\tg:description\tg:price\n"+
		"B\tVin\tVin blanc\t9,90 EUR\n"+
		"A\tMoutarde\t\"Moutarde\nforte\"\t3,50 EUR\n"+
		"Z\tInconnu\t?\t1,00 EUR\n", "fr")
	de := readString(t, "id,title,description,price\n"+
		"A,Senf,Scharfer Senf,3.50 EUR\n"+
		"B,Wein,Weißwein,9.90 EUR\n"+
		"C,Käse,,4.20 EUR\n"+
		"A,Senf nochmal,,3.50 EUR\n", "de")

	problems := Merge(LanguageFeed{"en", en}, LanguageFeed{"FR", fr}, LanguageFeed{"de", de})

	want := map[string]map[string]Translation{
		"A": {"en": {"Mustard", "Strong mustard"}, "fr": {"Moutarde", "Moutarde\nforte"}, "de": {"Senf", "Scharfer Senf"}},
		"B": {"en": {"Wine", "White wine"}, "fr": {"Vin", "Vin blanc"}, "de": {"Wein", "Weißwein"}},
		"C": {"en": {"Cheese", "Soft cheese"}, "de": {"Käse", ""}},
	}
	for _, it := range en[:3] {
		if !reflect.DeepEqual(it.Translations, want[it.ID]) {
			t.Errorf("%s: %+v, want %+v", it.ID, it.Translations, want[it.ID])
		}
		if it.Language != "en" || it.Price.Currency != "EUR" {
			t.Errorf("%s: the base item's own fields changed: %+v", it.ID, it)
		}
	}
	if dup := en[3]; dup.Translations != nil {
		t.Errorf("the duplicate row got translations: %+v", dup)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Error())
	}
	wantProblems := []string{
		`fr feed, line 5: id "Z" is not in the en feed`, // after a two-line description
		`fr feed: id "C" (line 4 of the en feed) has no fr translation`,
	}
	if !reflect.DeepEqual(got, wantProblems) {
		t.Fatalf("problems:\n got %q\nwant %q", got, wantProblems)
	}
}

func TestMergeMisuse(t *testing.T) {
	en := readString(t, "id\ttitle\tprice\nA\tMustard\t1 EUR\n", "en")
	if p := Merge(LanguageFeed{"", en}); len(p) != 1 || !strings.Contains(p[0].Error(), "no language") {
		t.Fatalf("%v", p)
	}
	p := Merge(LanguageFeed{"en", en}, LanguageFeed{"en", en}, LanguageFeed{" ", en})
	if len(p) != 2 || !strings.Contains(p[0].Error(), "given twice") {
		t.Fatalf("%v", p)
	}
	if len(en[0].Translations) != 1 {
		t.Fatalf("%+v", en[0].Translations)
	}
	// Items without an id, or rows that could not be split, are not matched.
	bad := readString(t, "id\ttitle\tprice\n\tNo id\t1 EUR\nA\t\"broken\" quote\t1 EUR\n", "fr")
	if p := Merge(LanguageFeed{"en", en}, LanguageFeed{"fr", bad}); len(p) != 1 || !strings.Contains(p[0].Error(), "has no fr translation") {
		t.Fatalf("%v", p)
	}
}
