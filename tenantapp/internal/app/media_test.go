package app_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
)

// signedInOwner makes a vendor and returns its owner's signed-in browser.
func signedInOwner(t *testing.T, s *shopEnv, slug, name string) (*platform.Vendor, *browser) {
	t.Helper()
	v := s.e.CreateVendor(t, slug, name)
	b := &browser{t: t, s: s, host: slug + ".localhost"}
	acceptOwnerInvite(t, s, v, b, "correct horse battery")
	if code := b.login(v.OwnerEmail, "correct horse battery"); code != 303 {
		t.Fatalf("owner of %s signs in: %d", slug, code)
	}
	b.do("GET", "/admin/", nil) // a page with the form token
	return v, b
}

// uploadImage posts a file to the media library as a browser form does,
// with the file name exactly as given (no clean-up on the way) and a
// claimed type of image/png, which counts for nothing.
func uploadImage(b *browser, name string, data []byte) (int, string, http.Header) {
	b.t.Helper()
	code, body, h := postFile(b, "/admin/media", "file", name, data, nil, "image/png")
	if code == 503 && strings.Contains(body, "media library is not available") {
		b.t.Fatal("the media library is not wired into the tenant app: app.go needs media.New, " +
			"shop.Use(svc.Middleware) and svc.Routes (see the package doc of tenantapp/internal/media)")
	}
	return code, body, h
}

// fetch gets a path on a host and returns status, body and headers.
func fetch(t *testing.T, s *shopEnv, host, path string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header
}

// testPNG is a w×h PNG with a gradient.
func testPNG(t testing.TB, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngClaiming is a small, valid-looking PNG whose header claims w×h pixels.
func pngClaiming(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(make([]byte, 64))
	_ = zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// bucketKeys lists the objects in a vendor's bucket.
func bucketKeys(t *testing.T, s *shopEnv, v *platform.Vendor) []string {
	t.Helper()
	var keys []string
	for o := range s.e.Objects.Client().ListObjects(context.Background(), v.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list bucket %s: %v", v.Bucket, o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// pollUntil waits up to d for cond.
func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countRows(t *testing.T, s *shopEnv, v *platform.Vendor, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.e.VendorPool(t, v).QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMediaUploadsRefuseBadFiles(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, b := signedInOwner(t, s, "acme", "Acme Tools")
	good := testPNG(t, 40, 30)
	var jpg bytes.Buffer
	_ = jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 20, 20)), nil)
	huge := append(testPNG(t, 64, 64), bytes.Repeat([]byte{0}, 11<<20)...)
	cases := []struct {
		name, file string
		data       []byte
		status     int
		message    string
	}{
		{"svg with a script", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>`),
			415, "SVG images are not accepted"},
		{"svg named png", "logo.png", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`),
			415, "SVG images are not accepted"},
		{"text named png", "photo.png", []byte("This is not a picture at all, just some text.\n"),
			415, "is named .png but is not a JPEG, PNG, GIF or WebP image"},
		{"html named jpg", "photo.jpg", []byte("<html><body><script>alert(1)</script></body></html>"),
			415, "is not a JPEG, PNG, GIF or WebP image"},
		{"jpeg named png", "photo.png", jpg.Bytes(), 415, "its content is a JPEG image"},
		{"huge pixel count", "big.png", pngClaiming(100000, 100000), 422, "100000 × 100000 pixels"},
		{"name with ../", "../../etc/passwd.png", good, 422, "contains a path (../)"},
		{"name with ..\\", `..\..\windows\win.png`, good, 422, "contains a path (../)"},
		{"oversized", "large.png", huge, 413, "the most is 10.0 MiB"},
		{"empty", "empty.png", nil, 422, "is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, _ := uploadImage(b, c.file, c.data)
			if code != c.status || !strings.Contains(body, c.message) {
				t.Fatalf("status %d, want %d with %q\n%s", code, c.status, c.message, body)
			}
			// The message is shown next to the file field (a body over the
			// limit is refused before the form is read, on an error page).
			if c.status != 413 && !regexp.MustCompile(`(?s)name="file".*class="field-error"`).MatchString(body) {
				t.Errorf("the message is not next to the file field:\n%s", body)
			}
		})
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM media`); n != 0 {
		t.Errorf("%d media rows stored", n)
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM media_jobs`); n != 0 {
		t.Errorf("%d media jobs queued", n)
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM audit_log WHERE action LIKE 'media.%'`); n != 0 {
		t.Errorf("%d media audit entries", n)
	}
	if keys := bucketKeys(t, s, v); len(keys) != 0 {
		t.Errorf("objects stored: %v", keys)
	}
}

func TestMediaLibrary(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a, alice := signedInOwner(t, s, "acme", "Acme Tools")
	bv := s.e.CreateVendor(t, "bravo", "Bravo Books")
	original := testPNG(t, 1200, 900)

	// A name with control and bidi characters is kept only as a cleaned
	// display name.
	code, body, h := uploadImage(alice, "summer\t photo\u202egnp.png", original)
	if code != 303 {
		t.Fatalf("upload: %d %s", code, body)
	}
	m := regexp.MustCompile(`/admin/media/(\d+)$`).FindStringSubmatch(h.Get("Location"))
	if m == nil {
		t.Fatalf("upload redirects to %q", h.Get("Location"))
	}
	id := m[1]
	pool := s.e.VendorPool(t, a)
	var key, name, ctype string
	var w, ht int
	if err := pool.QueryRow(context.Background(), `SELECT object_key, original_name, content_type, width, height FROM media WHERE id = $1`, id).
		Scan(&key, &name, &ctype, &w, &ht); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^media/\d{4}/[a-z2-7]{26}\.png$`).MatchString(key) || name != "summer photognp.png" || ctype != "image/png" || w != 1200 || ht != 900 {
		t.Fatalf("stored as %q %q %q %dx%d", key, name, ctype, w, ht)
	}
	if keys := bucketKeys(t, s, a); len(keys) != 1 || keys[0] != key {
		t.Fatalf("bucket holds %v", keys)
	}
	if code, body, _ := alice.do("GET", "/admin/media/"+id, nil); code != 200 || !strings.Contains(body, "summer photognp.png") || !strings.Contains(body, "1200 × 900") {
		t.Fatalf("media page: %d %s", code, body)
	}
	if code, body, _ := alice.do("GET", "/admin/media", nil); code != 200 || !strings.Contains(body, "/media/"+id+"/200") {
		t.Fatalf("media list: %d %s", code, body)
	}

	// The worker makes the thumbnails.
	pollUntil(t, 60*time.Second, "thumbnails", func() bool {
		return countRows(t, s, a, `SELECT count(*) FROM media WHERE id = $1 AND thumbs_state = 'ready'`, id) == 1
	})
	if n := countRows(t, s, a, `SELECT count(*) FROM media_jobs`); n != 0 {
		t.Errorf("%d jobs left after the thumbnails were made", n)
	}
	for _, c := range []struct {
		size string
		w, h int
	}{{"200", 200, 150}, {"800", 800, 600}, {"original", 1200, 900}} {
		code, body, hdr := fetch(t, s, "acme.localhost", "/media/"+id+"/"+c.size)
		if code != 200 || hdr.Get("Content-Type") != "image/png" || hdr.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(hdr.Get("Cache-Control"), "max-age=31536000") {
			t.Fatalf("GET size %s: %d %v", c.size, code, hdr)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(body))
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Fatalf("size %s is %dx%d (%v), want %dx%d", c.size, cfg.Width, cfg.Height, err, c.w, c.h)
		}
		if c.size == "original" && !bytes.Equal(body, original) {
			t.Error("the original is not served as uploaded")
		}
	}
	if keys := bucketKeys(t, s, a); len(keys) != 3 {
		t.Fatalf("bucket after thumbnails: %v", keys)
	}
	if code, _, _ := fetch(t, s, "acme.localhost", "/media/"+id+"/123"); code != 404 {
		t.Errorf("unknown size: %d", code)
	}
	// Acme's image is not found on Bravo's host (nor Bravo's path).
	if code, body, _ := fetch(t, s, "bravo.localhost", "/media/"+id+"/original"); code != 404 || bytes.Equal(body, original) {
		t.Errorf("acme's media on bravo's host: %d", code)
	}
	if code, _, _ := fetch(t, s, "localhost", "/vendor/bravo/media/"+id+"/200"); code != 404 {
		t.Errorf("acme's media under /vendor/bravo/: %d", code)
	}
	if code, _, _ := fetch(t, s, "localhost", "/vendor/acme/media/"+id+"/200"); code != 200 {
		t.Errorf("acme's media under /vendor/acme/: %d", code)
	}
	_ = bv

	// Details can be changed; bad ones are refused next to the field.
	if code, body, _ := alice.do("POST", "/admin/media/"+id, url.Values{"name": {"a/b.png"}, "alt_text": {"x"}}); code != 422 || !strings.Contains(body, "Use a plain name") {
		t.Fatalf("bad name: %d %s", code, body)
	}
	if code, _, _ := alice.do("POST", "/admin/media/"+id, url.Values{"name": {"Summer.png"}, "alt_text": {"A beach at noon"}}); code != 303 {
		t.Fatalf("update details: %d", code)
	}

	// In use by products: deletion is refused with the list of products.
	ctx := context.Background()
	var p1, p2 int64
	_ = pool.QueryRow(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ('HAM-1', 'Claw hammer', 1500) RETURNING id`).Scan(&p1)
	_ = pool.QueryRow(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ('SAW-2', 'Hand saw', 2500) RETURNING id`).Scan(&p2)
	if _, err := pool.Exec(ctx, `INSERT INTO product_media (product_id, media_id) VALUES ($1, $3), ($2, $3)`, p1, p2, id); err != nil {
		t.Fatal(err)
	}
	code, body, _ = alice.do("POST", "/admin/media/"+id+"/delete", url.Values{})
	if code != 409 || !strings.Contains(body, "cannot be deleted") || !strings.Contains(body, "Claw hammer (SKU HAM-1)") || !strings.Contains(body, "Hand saw (SKU SAW-2)") {
		t.Fatalf("delete media in use: %d %s", code, body)
	}
	if n := countRows(t, s, a, `SELECT count(*) FROM media WHERE id = $1`, id); n != 1 {
		t.Fatal("media in use was deleted")
	}
	// The database refuses it too, whatever writes.
	if _, err := pool.Exec(ctx, `DELETE FROM media WHERE id = $1`, id); err == nil {
		t.Fatal("the database let media in use be deleted")
	}
	if _, err := pool.Exec(ctx, `DELETE FROM product_media`); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := alice.do("POST", "/admin/media/"+id+"/delete", url.Values{}); code != 303 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := fetch(t, s, "acme.localhost", "/media/"+id+"/200"); code != 404 {
		t.Errorf("deleted media still served: %d", code)
	}
	pollUntil(t, 30*time.Second, "the deleted image's objects to go", func() bool { return len(bucketKeys(t, s, a)) == 0 })
	var actions []string
	rows, _ := pool.Query(ctx, `SELECT action FROM audit_log WHERE action LIKE 'media.%' ORDER BY id`)
	for rows.Next() {
		var act string
		_ = rows.Scan(&act)
		actions = append(actions, act)
	}
	if got := strings.Join(actions, " "); got != "media.uploaded media.updated media.deleted" {
		t.Errorf("audit log: %s", got)
	}
}

func TestMediaJobsLeftBehindAreTakenUp(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a, alice := signedInOwner(t, s, "acme", "Acme Tools")
	code, _, h := uploadImage(alice, "cat.gif", gifBytes(t))
	if code != 303 {
		t.Fatalf("upload: %d", code)
	}
	id, _ := strconv.Atoi(h.Get("Location")[strings.LastIndex(h.Get("Location"), "/")+1:])
	pollUntil(t, 60*time.Second, "thumbnails", func() bool {
		return countRows(t, s, a, `SELECT count(*) FROM media WHERE id = $1 AND thumbs_state = 'ready'`, id) == 1
	})
	// As if a process died while a job was running: the sizes are gone, a
	// job is left in the running state with its lock run out.
	pool := s.e.VendorPool(t, a)
	ctx := context.Background()
	for _, q := range []string{`DELETE FROM media_variants`, `UPDATE media SET thumbs_state = 'pending'`,
		`INSERT INTO media_jobs (kind, media_id, state, attempts, locked_until) VALUES ('thumbnails', ` + strconv.Itoa(id) + `, 'running', 1, now() - interval '1 minute')`} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// A new process takes the job up the first time it serves the shop.
	cfg := *s.e.Cfg
	a2, err := app.New(ctx, &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a2.Close)
	srv2 := httptest.NewServer(a2.Handler())
	t.Cleanup(srv2.Close)
	req, _ := http.NewRequest("GET", srv2.URL+"/", nil)
	req.Host = "acme.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pollUntil(t, 60*time.Second, "the left-behind job", func() bool {
		return countRows(t, s, a, `SELECT count(*) FROM media WHERE id = $1 AND thumbs_state = 'ready'`, id) == 1
	})
	if n := countRows(t, s, a, `SELECT count(*) FROM media_variants WHERE media_id = $1`, id); n != 2 {
		t.Errorf("%d sizes", n)
	}
	code, body, hdr := fetch(t, s, "acme.localhost", "/media/"+strconv.Itoa(id)+"/200")
	if code != 200 || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("thumbnail of a GIF: %d %v", code, hdr)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(body)); err != nil || cfg.Width != 30 {
		t.Errorf("thumbnail of a 30 px GIF: %v %v", cfg, err)
	}
}

// gifBytes is a 30×20 GIF.
func gifBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 30, 20), color.Palette{color.Black, color.White})
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
