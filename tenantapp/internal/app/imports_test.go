package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/wiring"
)

// startJobs runs the control plane's job system on the test's platform,
// as the control plane does: vendor work asked for by the tenant app is
// run for real.
func startJobs(t *testing.T, s *shopEnv) {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, s.e.CP); err != nil {
		t.Fatal(err)
	}
	p := &wiring.Platform{Cfg: s.e.Cfg, Store: s.e.Store, Box: s.e.Box, Objects: s.e.Objects, Prov: s.e.Prov, Backups: s.e.Backups}
	r, err := jobs.Start(ctx, p, slog.New(slog.DiscardHandler), jobs.Options{NoSchedules: true,
		Marketplace: marketplace.Config{AllowPrivateURLs: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(sctx)
	})
}

// postFile posts a multipart form with one file (none if name is ""), as
// a browser does: the file name is sent exactly as given, and the part
// claims contentType (application/octet-stream if empty), which the
// server must not believe.
func postFile(b *browser, path, field, name string, data []byte, fields url.Values, contentType ...string) (int, string, http.Header) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", b.csrf)
	for k, vs := range fields {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	if name != "" {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name)+`"`)
		h.Set("Content-Type", append(contentType, "application/octet-stream")[0])
		part, err := mw.CreatePart(h)
		if err != nil {
			b.t.Fatal(err)
		}
		_, _ = part.Write(data)
	}
	_ = mw.Close()
	req, err := http.NewRequest("POST", b.s.srv.URL+b.base+path, &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Host = b.host
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.AddCookie(&http.Cookie{Name: "sf_staff", Value: b.cookie})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp.Header
}

// waitImport polls an import's progress until it ends.
func waitImport(t *testing.T, b *browser, path string) marketplace.Import {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, _ := b.do("GET", path+"/progress", nil)
		var imp marketplace.Import
		if code != 200 || json.Unmarshal([]byte(body), &imp) != nil {
			t.Fatalf("progress: %d %s", code, body)
		}
		if !imp.Open() {
			return imp
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import is still %s after 30 s: %+v", imp.State, imp)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestImportThroughTheBackOffice(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	startJobs(t, s)
	v, owner := signedInOwner(t, s, "feeds", "Feeds & Co")
	owner.do("GET", "/admin/imports", nil)

	sample, err := os.ReadFile("../../../internal/feed/testdata/letzshop-sample.tsv")
	if err != nil {
		t.Fatal(err)
	}
	// Two bad rows at the end: a formula-looking id and a bad price.
	bad := make([]string, 18) // the sample's 18 columns
	bad[0], bad[1], bad[6], bad[7] = "=1+2", "Formula", "in stock", "abc"
	feed := append(append([]byte{}, sample...), []byte(strings.Join(bad, "\t")+"\n")...)
	code, body, h := postFile(owner, "/admin/imports", "file", "letzshop.tsv", feed, url.Values{"language": {""}})
	if code != 303 {
		t.Fatalf("upload: %d %s", code, body)
	}
	path := h.Get("Location")
	imp := waitImport(t, owner, path)
	if imp.State != marketplace.StateFinished || imp.RowsRead != 61 || imp.RowsImported != 60 || imp.RowsRejected != 1 {
		t.Fatalf("import: %+v", imp)
	}
	_, page, _ := owner.do("GET", path, nil)
	for _, want := range []string{"letzshop.tsv", "finished", "Rejected rows", "rejections.csv"} {
		if !strings.Contains(page, want) {
			t.Errorf("the import page lacks %q", want)
		}
	}
	// The rejected rows as CSV, the formula escaped.
	code, body, h = owner.do("GET", path+"/rejections.csv", nil)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != 2 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %v %q", code, err, body)
	}
	if rows[1][0] != "62" || rows[1][1] != `'=1+2` || !strings.Contains(rows[1][2], "price") {
		t.Errorf("CSV row: %q", rows[1])
	}
	if _, list, _ := owner.do("GET", "/admin/imports", nil); !strings.Contains(list, "letzshop.tsv") {
		t.Error("the imports page does not list the import")
	}
	// Cancel after the end: a clear message, nothing changes.
	if code, _, _ := owner.do("POST", path+"/cancel", url.Values{}); code != 303 {
		t.Errorf("cancel a finished import: %d", code)
	}
	if _, page, _ := owner.do("GET", path, nil); !strings.Contains(page, "ended already") {
		t.Error("no message after cancelling a finished import")
	}

	// Bad input: no file and no link, a link that is not http, a
	// language that is not offered: the form again with the error next
	// to the field, nothing queued.
	before := vendorCount(t, s, v, `SELECT count(*) FROM imports`)
	for _, tc := range []struct {
		fields url.Values
		field  string
	}{
		{url.Values{}, "file"},
		{url.Values{"url": {"ftp://example.com/feed.tsv"}}, "url"},
		{url.Values{"url": {"https://example.com/f.tsv"}, "language": {"xx"}}, "language"},
	} {
		code, body, _ := postFile(owner, "/admin/imports", "file", "", nil, tc.fields)
		if code != 422 || !strings.Contains(body, `class="field-error"`) {
			t.Errorf("%v: %d", tc.fields, code)
		}
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM imports`); n != before {
		t.Errorf("bad forms queued %d imports", n-before)
	}

	// A file that is not a feed fails with one clear error.
	code, _, h = postFile(owner, "/admin/imports", "file", "photo.png", testPNG(t, 4, 4), nil)
	if code != 303 {
		t.Fatalf("upload a picture: %d", code)
	}
	if got := waitImport(t, owner, h.Get("Location")); got.State != marketplace.StateFailed || !strings.Contains(got.Error, "not a product feed") {
		t.Errorf("a picture: %+v", got)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM marketplace_products`); n != 60 {
		t.Errorf("staging holds %d items", n)
	}
}

func TestImportPagesPermissionsAndIsolation(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a, owner := signedInOwner(t, s, "alpha", "Alpha")
	_, bOwner := signedInOwner(t, s, "beta", "Beta")
	code, _, h := postFile(owner, "/admin/imports", "file", "f.tsv", []byte("id\ttitle\tprice\nX-1\tOne\t1.00 EUR\n"), nil)
	if code != 303 {
		t.Fatalf("upload: %d", code)
	}
	path := h.Get("Location")
	// Beta's owner asking for Alpha's import (same id on Beta's host
	// names Beta's own import space): not found.
	if code, _, _ := bOwner.do("GET", path, nil); code != 404 {
		t.Errorf("another shop's import: %d", code)
	}
	if code, _, _ := bOwner.do("GET", path+"/rejections.csv", nil); code != 404 {
		t.Errorf("another shop's rejected rows: %d", code)
	}
	// An order clerk may look but not import or cancel; a catalog editor
	// may import.
	clerk, _ := catalogMember(t, s, a, "Order clerk")
	for _, p := range []string{"/admin/imports", path} {
		if code, body, _ := clerk.do("GET", p, nil); code != 200 || strings.Contains(body, "Upload and import") || strings.Contains(body, "Cancel import") {
			t.Errorf("order clerk GET %s: %d, or is offered what they may not do", p, code)
		}
	}
	if code, _, _ := clerk.do("POST", path+"/cancel", url.Values{}); code != 403 {
		t.Errorf("order clerk cancels: %d", code)
	}
	if code, _, _ := postFile(clerk, "/admin/imports", "file", "f.tsv", []byte("id\ttitle\n1\tx\n"), nil); code != 403 {
		t.Errorf("order clerk uploads: %d", code)
	}
	editor, _ := catalogMember(t, s, a, "Catalog editor")
	editor.do("GET", "/admin/imports", nil)
	if code, _, _ := postFile(editor, "/admin/imports", "file", "f.tsv", []byte("id\ttitle\tprice\nX-2\tTwo\t2.00 EUR\n"), nil); code != 303 {
		t.Errorf("catalog editor uploads: %d", code)
	}
	if n := vendorCount(t, s, a, `SELECT count(*) FROM imports`); n != 2 {
		t.Errorf("alpha has %d imports", n)
	}
}
