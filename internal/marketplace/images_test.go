package marketplace_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/media"
	"github.com/storefleet/storefleet/internal/testenv"
)

// imgPNG is a w×h PNG filled with c (different colours, different bytes).
func imgPNG(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func imgJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// imgPNGHeader is a PNG signature and an IHDR claiming w×h pixels: enough
// for a header check, a bomb if decoded.
func imgPNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0
	_ = binary.Write(&b, binary.BigEndian, uint32(13))
	b.WriteString("IHDR")
	b.Write(ihdr)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	return b.Bytes()
}

// imgServer serves image links: files by path, with a count of requests
// and of requests at once. "/flaky..." answers 500 until flakyFailures
// requests have failed; "/down..." always answers 500.
type imgServer struct {
	*httptest.Server
	files         map[string][]byte
	delay         time.Duration
	flakyFailures int32

	requests, flaky, inFlight, maxInFlight atomic.Int32
}

func newImgServer(t *testing.T, files map[string][]byte) *imgServer {
	s := &imgServer{files: files, flakyFailures: 1}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *imgServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.maxInFlight.Load(); n > m && !s.maxInFlight.CompareAndSwap(m, n); m = s.maxInFlight.Load() {
	}
	time.Sleep(s.delay)
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/flaky") && s.flaky.Add(1) <= s.flakyFailures,
		strings.HasPrefix(p, "/down"):
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	case strings.HasPrefix(p, "/flaky"):
		p = "/a.png"
		fallthrough
	default:
		data, ok := s.files[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(p, ".svg") {
			w.Header().Set("Content-Type", "image/svg+xml")
		}
		_, _ = w.Write(data)
	}
}

// imgProduct inserts a product and queues fetches of its image links, in
// order.
func imgProduct(t *testing.T, pool *pgxpool.Pool, sku string, urls ...string) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	if err := pool.QueryRow(ctx, `INSERT INTO products (sku, title, handle, price_minor) VALUES ($1, $1, lower($1), 100) RETURNING id`,
		sku).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for i, u := range urls {
		if _, err := pool.Exec(ctx, `INSERT INTO image_fetches (product_id, url, position) VALUES ($1, $2, $3)`, id, u, i); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// drainImages drains a shop's image fetches once.
func drainImages(t *testing.T, s *shop) time.Time {
	t.Helper()
	next, err := s.r.Drain(context.Background(), marketplace.WorkImages, s.v)
	if err != nil {
		t.Fatalf("drain images: %v", err)
	}
	return next
}

// fetchesByURL returns a product's fetches by their links' paths.
func fetchesByURL(t *testing.T, s *shop, productID int64) map[string]marketplace.ImageFetch {
	t.Helper()
	fs, err := marketplace.ImageFetches(context.Background(), s.v.Pool, productID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]marketplace.ImageFetch{}
	for _, f := range fs {
		out[f.URL[strings.LastIndexByte(f.URL, '/'):]] = f
	}
	return out
}

// linkedMedia returns the media ids of a product's images, in order.
func linkedMedia(t *testing.T, pool *pgxpool.Pool, productID int64) []int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT media_id FROM product_media WHERE product_id = $1 ORDER BY position, media_id`, productID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// mediaObjects returns the object keys of every media row and its sizes.
func mediaObjects(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT object_key FROM media UNION ALL SELECT object_key FROM media_variants ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

func objectExists(t *testing.T, s *shop, key string) bool {
	t.Helper()
	_, err := s.v.Objects.StatObject(context.Background(), s.v.Bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return true
	}
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return false
	}
	t.Fatalf("stat %s in %s: %v", key, s.v.Bucket, err)
	return false
}

func TestImagesFetchedIntoTheLibrary(t *testing.T) {
	t.Parallel()
	s := newShop(t, "pictures")
	ctx := context.Background()
	red := imgPNG(t, 1200, 900, color.NRGBA{200, 0, 0, 255})
	srv := newImgServer(t, map[string][]byte{
		"/a.png":     red,
		"/b.jpg":     imgJPEG(t, 300, 600),
		"/copy.png":  red, // the same bytes under another link
		"/webp.jpg":  imgPNG(t, 10, 10, color.NRGBA{0, 0, 200, 255}),
		"/logo.svg":  []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`),
		"/page.html": []byte("<!doctype html><html><body>Not an image</body></html>"),
		"/bomb.png":  imgPNGHeader(50000, 50000),
		"/huge.png":  append(imgPNG(t, 2, 2, color.Black), make([]byte, media.MaxBytes)...),
	})
	u := func(p string) string { return srv.URL + p }
	p1 := imgProduct(t, s.v.Pool, "PIC-1", u("/a.png"), u("/b.jpg"), u("/copy.png"), u("/missing.png"), u("/flaky.png"),
		u("/logo.svg"), u("/page.html"), u("/bomb.png"), u("/huge.png"), u("/webp.jpg"))
	p2 := imgProduct(t, s.v.Pool, "PIC-2", u("/a.png"))

	start := time.Now()
	next := drainImages(t, s)
	// The 500 waits a minute for its second attempt.
	if d := next.Sub(start); d < 50*time.Second || d > 70*time.Second {
		t.Errorf("next due in %v, want about a minute (the flaky link's retry)", d)
	}
	f := fetchesByURL(t, s, p1)
	for _, p := range []string{"/a.png", "/b.jpg", "/copy.png", "/webp.jpg"} {
		if f[p].State != marketplace.FetchDone || f[p].MediaID == nil || f[p].Attempts != 1 || f[p].LastError != "" {
			t.Errorf("%s: %+v", p, f[p])
		}
	}
	if *f["/copy.png"].MediaID != *f["/a.png"].MediaID {
		t.Errorf("the same image under two links was kept twice: %d and %d", *f["/copy.png"].MediaID, *f["/a.png"].MediaID)
	}
	// Failures that retrying cannot fix fail at once, each with why.
	for p, want := range map[string]string{
		"/missing.png": "404", "/logo.svg": "SVG", "/page.html": "not a JPEG, PNG, GIF or WebP",
		"/bomb.png": "megapixels", "/huge.png": "larger than 10.0 MiB",
	} {
		if f[p].State != marketplace.FetchFailed || f[p].Attempts != 1 || !strings.Contains(f[p].LastError, want) || f[p].MediaID != nil {
			t.Errorf("%s: %+v, want failed with %q", p, f[p], want)
		}
	}
	flaky := f["/flaky.png"]
	if flaky.State != marketplace.FetchPending || flaky.Attempts != 1 || !strings.Contains(flaky.LastError, "500") ||
		flaky.RunAfter.Sub(start) < 50*time.Second || flaky.RunAfter.Sub(start) > 70*time.Second {
		t.Errorf("the flaky link: %+v, want pending for a minute", flaky)
	}

	// Media rows with their sizes, the files in the vendor's bucket.
	a, b, webp := *f["/a.png"].MediaID, *f["/b.jpg"].MediaID, *f["/webp.jpg"].MediaID
	for id, want := range map[int64]string{a: "a.png", b: "b.jpg", webp: "webp.png"} {
		m, err := media.Get(ctx, s.v.Pool, id)
		if want == "a.png" && err == nil && m.Name == "copy.png" {
			want = m.Name // either link of the same picture may have come first
		}
		if err != nil || m.Name != want || m.ThumbsState != "ready" || m.CreatedBy != nil {
			t.Errorf("media %d: %+v %v, want %s with its sizes", id, m, err, want)
		}
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM media`); n != 3 {
		t.Errorf("%d media rows, want 3", n)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM media_variants`); n != 3*len(media.Sizes) {
		t.Errorf("%d sizes, want %d", n, 3*len(media.Sizes))
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM media_variants WHERE media_id = $1 AND content_type = 'image/jpeg'`, b); n != len(media.Sizes) {
		t.Errorf("the JPEG has %d JPEG sizes", n)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM media_jobs`); n != 0 {
		t.Errorf("%d media jobs queued; the sizes are made at once", n)
	}
	for _, k := range mediaObjects(t, s.v.Pool) {
		if !objectExists(t, s, k) {
			t.Errorf("%s is not in the bucket", k)
		}
	}
	// Linked in the order of the links, each image once; another
	// product with the same image links the library's copy.
	if got := fmt.Sprint(linkedMedia(t, s.v.Pool, p1)); got != fmt.Sprint([]int64{a, b, webp}) {
		t.Errorf("product 1 links %s, want [%d %d %d]", got, a, b, webp)
	}
	if got := linkedMedia(t, s.v.Pool, p2); len(got) != 1 || got[0] != a {
		t.Errorf("product 2 links %v, want [%d]", got, a)
	}

	// The retry, once due, succeeds.
	if _, err := s.v.Pool.Exec(ctx, `UPDATE image_fetches SET run_after = now() WHERE id = $1`, flaky.ID); err != nil {
		t.Fatal(err)
	}
	if next := drainImages(t, s); !next.IsZero() {
		t.Errorf("after the retry: next due %v", next)
	}
	// The flaky link serves the same bytes as /a.png: already linked.
	if got := fetchesByURL(t, s, p1)["/flaky.png"]; got.State != marketplace.FetchDone || got.Attempts != 2 || got.MediaID == nil || *got.MediaID != a {
		t.Errorf("the flaky link after its retry: %+v", got)
	}
	if got := linkedMedia(t, s.v.Pool, p1); len(got) != 3 {
		t.Errorf("product 1 links %v after the retry", got)
	}

	// Nothing is left: another drain asks for nothing.
	before := srv.requests.Load()
	if next := drainImages(t, s); !next.IsZero() || srv.requests.Load() != before {
		t.Errorf("a drain with nothing due: next %v, %d requests", next, srv.requests.Load()-before)
	}
	sum, err := marketplace.ImageFetchSummary(ctx, s.v.Pool)
	if err != nil || sum != (marketplace.ImageFetchCounts{Done: 6, Failed: 5}) || sum.Open() != 0 {
		t.Errorf("summary: %+v %v", sum, err)
	}
}

func TestImageRetriesBackOffThenFail(t *testing.T) {
	t.Parallel()
	s := newShop(t, "backoff")
	ctx := context.Background()
	srv := newImgServer(t, map[string][]byte{})
	p := imgProduct(t, s.v.Pool, "DOWN-1", srv.URL+"/down.png")
	id := fetchesByURL(t, s, p)["/down.png"].ID
	for attempt, wait := range []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 0} {
		start := time.Now()
		next := drainImages(t, s)
		f := fetchesByURL(t, s, p)["/down.png"]
		if f.Attempts != attempt+1 || !strings.Contains(f.LastError, "500") {
			t.Fatalf("attempt %d: %+v", attempt+1, f)
		}
		if wait == 0 {
			if f.State != marketplace.FetchFailed || !next.IsZero() {
				t.Fatalf("after the last attempt: %+v, next %v", f, next)
			}
			break
		}
		if d := f.RunAfter.Sub(start); f.State != marketplace.FetchPending || d < wait-10*time.Second || d > wait+10*time.Second {
			t.Fatalf("attempt %d: %+v waits %v, want %v", attempt+1, f, d, wait)
		}
		if !next.Equal(f.RunAfter) {
			t.Errorf("attempt %d: next due %v, the fetch %v", attempt+1, next, f.RunAfter)
		}
		// Not due yet: a drain leaves it alone.
		if drainImages(t, s); srv.requests.Load() != int32(attempt+1) {
			t.Fatalf("a fetch that is not due was tried")
		}
		if _, err := s.v.Pool.Exec(ctx, `UPDATE image_fetches SET run_after = now() WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.requests.Load(); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
}

func TestImageFetchesRespectLimits(t *testing.T) {
	t.Parallel()
	s := newShop(t, "limits")
	ctx := context.Background()
	files := map[string][]byte{}
	var urls []string
	srv := newImgServer(t, files)
	srv.delay = 30 * time.Millisecond
	for i := range 12 {
		p := fmt.Sprintf("/%d.png", i)
		files[p] = imgPNG(t, 4, 4, color.NRGBA{uint8(i * 20), 10, 10, 255})
		urls = append(urls, srv.URL+p)
	}
	s.r = marketplace.NewRunner(marketplace.Config{AllowPrivateURLs: true, ImageConcurrency: 3})
	p := imgProduct(t, s.v.Pool, "MANY-1", urls...)
	if next := drainImages(t, s); !next.IsZero() {
		t.Errorf("next due %v", next)
	}
	if m := srv.maxInFlight.Load(); m > 3 || m < 2 {
		t.Errorf("%d requests at once, want 2 or 3 (the limit is 3)", m)
	}
	if got := linkedMedia(t, s.v.Pool, p); len(got) != 12 {
		t.Errorf("%d images linked, want 12", len(got))
	}

	// A product with as many images as it can have gets no more.
	full := imgProduct(t, s.v.Pool, "FULL-1")
	for i := range media.MaxPerProduct {
		var id int64
		if err := s.v.Pool.QueryRow(ctx, `INSERT INTO media (object_key, content_type, size_bytes, width, height, sha256)
			VALUES ($1, 'image/png', 1, 1, 1, $2) RETURNING id`, fmt.Sprintf("media/2026/full%012d.png", i), bytes.Repeat([]byte{byte(i)}, 32)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.v.Pool.Exec(ctx, `INSERT INTO product_media (product_id, media_id, position) VALUES ($1, $2, $3)`, full, id, i); err != nil {
			t.Fatal(err)
		}
	}
	files["/new.png"] = imgPNG(t, 4, 4, color.White)
	if _, err := s.v.Pool.Exec(ctx, `INSERT INTO image_fetches (product_id, url) VALUES ($1, $2)`, full, srv.URL+"/new.png"); err != nil {
		t.Fatal(err)
	}
	drainImages(t, s)
	if f := fetchesByURL(t, s, full)["/new.png"]; f.State != marketplace.FetchFailed || !strings.Contains(f.LastError, "20 images") {
		t.Errorf("a fetch for a full product: %+v", f)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM product_media WHERE product_id = $1`, full); n != media.MaxPerProduct {
		t.Errorf("the full product has %d images", n)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM media WHERE original_name = 'new.png'`); n != 0 {
		t.Errorf("the refused image was kept")
	}
}

func TestImageFetchLeasesAndPrivateLinks(t *testing.T) {
	t.Parallel()
	s := newShop(t, "leases")
	ctx := context.Background()
	srv := newImgServer(t, map[string][]byte{"/a.png": imgPNG(t, 3, 3, color.White), "/b.png": imgPNG(t, 3, 3, color.Black)})
	p := imgProduct(t, s.v.Pool, "LEASE-1", srv.URL+"/a.png", srv.URL+"/b.png")
	// /a.png: its worker died; /b.png: another worker holds it.
	held := time.Now().Add(time.Minute).Truncate(time.Microsecond)
	if _, err := s.v.Pool.Exec(ctx, `UPDATE image_fetches SET state = 'running', attempts = 1,
		locked_until = CASE WHEN url LIKE '%/a.png' THEN now() - interval '1 second' ELSE $2 END WHERE product_id = $1`, p, held); err != nil {
		t.Fatal(err)
	}
	next := drainImages(t, s)
	f := fetchesByURL(t, s, p)
	if f["/a.png"].State != marketplace.FetchDone || f["/a.png"].Attempts != 2 {
		t.Errorf("a fetch whose lease ran out: %+v", f["/a.png"])
	}
	if f["/b.png"].State != marketplace.FetchRunning || !next.Equal(held) {
		t.Errorf("a fetch under another worker's lease: %+v; next due %v, want %v", f["/b.png"], next, held)
	}

	// A drain that is stopped midway puts its fetches back, due at once,
	// without counting the attempt.
	slow := newImgServer(t, map[string][]byte{"/c.png": imgPNG(t, 3, 3, color.Black)})
	slow.delay = 1500 * time.Millisecond
	r := imgProduct(t, s.v.Pool, "LEASE-3", slow.URL+"/c.png")
	stopCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := s.r.Drain(stopCtx, marketplace.WorkImages, s.v); err == nil {
		t.Error("a stopped drain returned no error")
	}
	if got := fetchesByURL(t, s, r)["/c.png"]; got.State != marketplace.FetchPending || got.Attempts != 0 || got.RunAfter.After(time.Now()) {
		t.Errorf("a fetch whose drain stopped: %+v", got)
	}

	// Links inside the network are refused, at once, unless allowed.
	strict := &shop{e: s.e, v: s.v, r: marketplace.NewRunner(marketplace.Config{})}
	q := imgProduct(t, s.v.Pool, "LEASE-2", srv.URL+"/b.png")
	drainImages(t, strict)
	if got := fetchesByURL(t, s, q)["/b.png"]; got.State != marketplace.FetchFailed || got.Attempts != 1 || !strings.Contains(got.LastError, "inside the network") {
		t.Errorf("a private address: %+v", got)
	}
}

// TestImageFetchesStayInTheirShop drains two vendors' fetches of the same
// links at once: each image lands in its own vendor's bucket and
// database, never in the other's.
func TestImageFetchesStayInTheirShop(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	one := shopOf(t, e, e.CreateVendor(t, "imgone", "Img One"))
	two := shopOf(t, e, e.CreateVendor(t, "imgtwo", "Img Two"))
	srv := newImgServer(t, map[string][]byte{
		"/a.png": imgPNG(t, 900, 300, color.White), "/b.png": imgPNG(t, 20, 20, color.Black), "/c.jpg": imgJPEG(t, 50, 50),
	})
	for _, s := range []*shop{one, two} {
		imgProduct(t, s.v.Pool, "X-1", srv.URL+"/a.png", srv.URL+"/b.png")
		imgProduct(t, s.v.Pool, "X-2", srv.URL+"/c.jpg", srv.URL+"/a.png")
	}
	var wg sync.WaitGroup
	for _, s := range []*shop{one, two} {
		wg.Go(func() {
			if _, err := s.r.Drain(context.Background(), marketplace.WorkImages, s.v); err != nil {
				t.Errorf("drain %s: %v", s.v.Slug, err)
			}
		})
	}
	wg.Wait()
	keys := map[*shop][]string{}
	for _, s := range []*shop{one, two} {
		if n := count(t, s.v.Pool, `SELECT count(*) FROM image_fetches WHERE state <> 'done'`); n != 0 {
			t.Errorf("%s: %d fetches not done", s.v.Slug, n)
		}
		if n := count(t, s.v.Pool, `SELECT count(*) FROM media`); n != 3 {
			t.Errorf("%s: %d media rows, want 3", s.v.Slug, n)
		}
		keys[s] = mediaObjects(t, s.v.Pool)
		if len(keys[s]) != 3*(1+len(media.Sizes)) {
			t.Errorf("%s: objects %v", s.v.Slug, keys[s])
		}
		for _, k := range keys[s] {
			if !objectExists(t, s, k) {
				t.Errorf("%s: %s is not in its bucket", s.v.Slug, k)
			}
		}
	}
	for _, pair := range [][2]*shop{{one, two}, {two, one}} {
		for _, k := range keys[pair[0]] {
			if objectExists(t, pair[1], k) {
				t.Errorf("%s's object %s is in %s's bucket", pair[0].v.Slug, k, pair[1].v.Slug)
			}
		}
	}
}
