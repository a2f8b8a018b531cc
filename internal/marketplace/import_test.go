package marketplace_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/testenv"
)

// shop is a vendor with what the jobs get: its pool and its bucket.
type shop struct {
	e *testenv.Env
	v *marketplace.Vendor
	r *marketplace.Runner
}

func newShop(t *testing.T, slug string) *shop {
	t.Helper()
	e := testenv.New(t)
	pv := e.CreateVendor(t, slug, strings.ToUpper(slug[:1])+slug[1:])
	return shopOf(t, e, pv)
}

func shopOf(t testing.TB, e *testenv.Env, pv *platform.Vendor) *shop {
	t.Helper()
	objects, err := e.Objects.VendorClient(pv.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	v := &marketplace.Vendor{ID: pv.ID, Slug: pv.Slug, Pool: e.VendorPool(t, pv), Bucket: pv.Bucket, Objects: objects,
		Log: slog.New(slog.DiscardHandler)}
	return &shop{e: e, v: v, r: marketplace.NewRunner(marketplace.Config{AllowPrivateURLs: true})}
}

func (s *shop) upload(t *testing.T, name string, body []byte, lang string) *marketplace.Import {
	t.Helper()
	imp, err := marketplace.CreateImport(context.Background(), s.v.Pool, s.v.Objects, s.v.Bucket,
		marketplace.NewImport{FileName: name, Body: bytes.NewReader(body), Size: int64(len(body)), Language: lang},
		staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatalf("create import: %v", err)
	}
	return imp
}

// run drains the vendor's imports and returns the import as it ended.
func (s *shop) run(t *testing.T, id int64) *marketplace.Import {
	t.Helper()
	next, err := s.r.Drain(context.Background(), marketplace.WorkImports, s.v)
	if err != nil || !next.IsZero() {
		t.Fatalf("drain imports: next %v, %v", next, err)
	}
	imp, err := marketplace.GetImport(context.Background(), s.v.Pool, id)
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../feed/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportSampleFeeds(t *testing.T) {
	t.Parallel()
	s := newShop(t, "importer")
	clean := readSample(t, "letzshop-sample.tsv")
	imp := s.run(t, s.upload(t, "letzshop-sample.tsv", clean, "").ID)
	if imp.State != marketplace.StateFinished || imp.RowsRead != 60 || imp.RowsImported+imp.RowsRejected != 60 || imp.RowsNew != imp.RowsImported {
		t.Fatalf("clean sample: %+v", imp)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM marketplace_products`); int64(n) != imp.RowsImported {
		t.Errorf("staging has %d rows, the import says %d", n, imp.RowsImported)
	}
	// The same file again changes nothing.
	again := s.run(t, s.upload(t, "letzshop-sample.tsv", clean, "").ID)
	if again.State != marketplace.StateFinished || again.RowsNew != 0 || again.RowsChanged != 0 || again.RowsImported != imp.RowsImported {
		t.Errorf("re-import of the same file: %+v", again)
	}
	// A price changes: one row is marked changed.
	changed := bytes.Replace(clean, []byte("854.18 EUR"), []byte("799.00 EUR"), 1)
	third := s.run(t, s.upload(t, "changed.tsv", changed, "").ID)
	if third.RowsChanged != 1 || third.RowsNew != 0 {
		t.Errorf("one price changed: %+v", third)
	}
	var price int64
	if err := s.v.Pool.QueryRow(context.Background(), `SELECT price_minor FROM marketplace_products WHERE external_id = 'SKU-0000001'`).Scan(&price); err != nil || price != 79900 {
		t.Errorf("price after re-import: %d %v", price, err)
	}

	// The messy sample (byte-order mark, g: headers, comma decimals,
	// quoted line breaks) reads in full.
	messy := s.run(t, s.upload(t, "messy.tsv", readSample(t, "letzshop-sample-messy.tsv"), "").ID)
	if messy.State != marketplace.StateFinished || messy.RowsRead != 60 || messy.RowsRead != messy.RowsImported+messy.RowsRejected {
		t.Fatalf("messy sample: %+v", messy)
	}

	// Bad rows are rejected with their line and reason; the good ones go
	// in; one bad row never stops the import.
	long := strings.Repeat("x", 65)
	bad := "id\ttitle\tprice\tgtin\n" +
		"B-1\tGood\t1.00 EUR\t\n" + // line 2
		"\tNo id\t1.00 EUR\t\n" + // line 3
		"B-3\tBad price\tabc\t\n" + // line 4
		"B-4\tBad GTIN\t1.00 EUR\t4006381333932\n" + // line 5
		"B-1\tAgain\t1.00 EUR\t\n" + // line 6
		long + "\tLong id\t1.00 EUR\t\n" + // line 7
		"B-7\t\"Two\nlines\"\t2,50 EUR\t4006381333931\n" // line 8
	got := s.run(t, s.upload(t, "bad.tsv", []byte(bad), "").ID)
	if got.State != marketplace.StateFinished || got.RowsRead != 7 || got.RowsImported != 2 || got.RowsRejected != 5 {
		t.Fatalf("bad rows: %+v", got)
	}
	rej, err := marketplace.Rejections(context.Background(), s.v.Pool, got.ID, 0, 100)
	if err != nil || len(rej) != 5 {
		t.Fatalf("rejections: %+v %v", rej, err)
	}
	wantLines := []int64{3, 4, 5, 6, 7}
	for i, r := range rej {
		if r.Line != wantLines[i] || r.Reason == "" {
			t.Errorf("rejection %d: %+v, want line %d", i, r, wantLines[i])
		}
	}
	if !strings.Contains(rej[3].Reason, "B-1") && !strings.Contains(strings.ToLower(rej[3].Reason), "duplicate") {
		t.Errorf("the repeated id: %q", rej[3].Reason)
	}
	if !strings.Contains(rej[4].Reason, "64") {
		t.Errorf("the long id: %q", rej[4].Reason)
	}
	var title string
	if err := s.v.Pool.QueryRow(context.Background(), `SELECT title FROM marketplace_products WHERE external_id = 'B-7'`).Scan(&title); err != nil || title != "Two\nlines" {
		t.Errorf("B-7: %q %v", title, err)
	}
}

func TestImportRefusesWhatIsNotAFeed(t *testing.T) {
	t.Parallel()
	s := newShop(t, "notfeed")
	for name, body := range map[string][]byte{
		"binary.tsv": {0x89, 'P', 'N', 'G', 0, 0, 0, 13, 0xff, 0xfe, 0},
		"page.html":  []byte("<!doctype html><html><body><h1>Hello</h1></body></html>\n"),
		"nocols.csv": []byte("name,colour\nmug,blue\n"),
	} {
		imp := s.run(t, s.upload(t, name, body, "").ID)
		if imp.State != marketplace.StateFailed || !strings.Contains(imp.Error, "not a product feed") || imp.RowsImported != 0 {
			t.Errorf("%s: %+v", name, imp)
		}
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM marketplace_products`); n != 0 {
		t.Errorf("%d rows staged from files that are not feeds", n)
	}
}

func TestImportFromURLAndTranslations(t *testing.T) {
	t.Parallel()
	s := newShop(t, "urlimport")
	en := "id\ttitle\tdescription\tprice\tavailability\nA-1\tBlue mug\tA blue mug\t9.90 EUR\tin stock\nA-2\tRed mug\tA red mug\t10,50 EUR\tout of stock\n"
	fr := "id\ttitle\tdescription\tprice\tavailability\nA-1\tTasse bleue\tUne tasse bleue\t9.90 EUR\tin stock\nA-3\tTasse verte\tUne tasse verte\t8 EUR\tin stock\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/en.tsv":
			_, _ = io.WriteString(w, en)
		case "/fr.tsv":
			_, _ = io.WriteString(w, fr)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	mk := func(u, lang string) *marketplace.Import {
		imp, err := marketplace.CreateImport(ctx, s.v.Pool, s.v.Objects, s.v.Bucket,
			marketplace.NewImport{SourceURL: u, Language: lang}, staff.Entry{Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return s.run(t, imp.ID)
	}
	if imp := mk(srv.URL+"/en.tsv", ""); imp.State != marketplace.StateFinished || imp.RowsNew != 2 || imp.ObjectKey == "" || imp.FileName != "en.tsv" {
		t.Fatalf("URL import: %+v", imp)
	}
	if imp := mk(srv.URL+"/fr.tsv", "fr"); imp.State != marketplace.StateFinished || imp.RowsNew != 1 || imp.RowsChanged != 1 {
		t.Fatalf("French import: %+v", imp)
	}
	var title, frTitle string
	err := s.v.Pool.QueryRow(ctx, `SELECT title, translations->'fr'->>'title' FROM marketplace_products WHERE external_id = 'A-1'`).Scan(&title, &frTitle)
	if err != nil || title != "Blue mug" || frTitle != "Tasse bleue" {
		t.Errorf("A-1: %q %q %v", title, frTitle, err)
	}
	if imp := mk(srv.URL+"/missing.tsv", ""); imp.State != marketplace.StateFailed || !strings.Contains(imp.Error, "404") {
		t.Errorf("a link that answers 404: %+v", imp)
	}
	// Links inside the network are refused unless allowed.
	strict := marketplace.NewRunner(marketplace.Config{})
	imp, err := marketplace.CreateImport(ctx, s.v.Pool, s.v.Objects, s.v.Bucket, marketplace.NewImport{SourceURL: srv.URL + "/en.tsv"}, staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Drain(ctx, marketplace.WorkImports, s.v); err != nil {
		t.Fatal(err)
	}
	if got, _ := marketplace.GetImport(ctx, s.v.Pool, imp.ID); got.State != marketplace.StateFailed || !strings.Contains(got.Error, "inside the network") {
		t.Errorf("a private address: %+v", got)
	}
	for _, bad := range []string{"ftp://example.com/feed.tsv", "file:///etc/passwd", "http://user:pw@example.com/f.tsv", "not a url"} {
		if _, err := marketplace.CreateImport(ctx, s.v.Pool, s.v.Objects, s.v.Bucket, marketplace.NewImport{SourceURL: bad}, staff.Entry{Actor: "test"}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestImportCancel(t *testing.T) {
	t.Parallel()
	s := newShop(t, "canceller")
	ctx := context.Background()
	imp := s.upload(t, "f.tsv", readSample(t, "letzshop-sample.tsv"), "")
	got, err := marketplace.CancelImport(ctx, s.v.Pool, imp.ID, staff.Entry{Actor: "test"})
	if err != nil || got.State != marketplace.StateCancelled {
		t.Fatalf("cancel a queued import: %+v %v", got, err)
	}
	if _, err := marketplace.CancelImport(ctx, s.v.Pool, imp.ID, staff.Entry{Actor: "test"}); err != marketplace.ErrNotCancellable {
		t.Errorf("cancel twice: %v", err)
	}
	if got := s.run(t, imp.ID); got.State != marketplace.StateCancelled || got.RowsRead != 0 {
		t.Errorf("a cancelled import ran: %+v", got)
	}
}
