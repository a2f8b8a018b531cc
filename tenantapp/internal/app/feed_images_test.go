package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Publishing an item with image links fetches them into the shop's media
// library through the job system: the picture becomes the product's
// image, and a link that fails is shown on the product's page with why.
func TestPublishedItemsGetTheirImages(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	startJobs(t, s)
	png := testPNG(t, 40, 30)
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok.png" {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png)
			return
		}
		http.NotFound(w, r)
	}))
	defer img.Close()
	v, owner := signedInOwner(t, s, "pictures", "Pictures")
	owner.do("GET", "/admin/imports", nil)
	feed := "id\ttitle\tprice\timage_link\tadditional_image_link\n" +
		"PIC-1\tFramed print\t25.00 EUR\t" + img.URL + "/ok.png\t" + img.URL + "/missing.jpg\n"
	importFeed(t, owner, []byte(feed))
	code, body, _ := owner.do("POST", "/admin/staging/preview", url.Values{"all": {"1"}, "new_state": {"active"}})
	if code != 200 {
		t.Fatalf("preview: %d %s", code, body)
	}
	code, _, h := owner.do("POST", "/admin/publishes", publishButtonForm(t, body))
	if code != 303 {
		t.Fatalf("publish: %d", code)
	}
	if p := waitPublish(t, owner, h.Get("Location")); p.Created != 1 {
		t.Fatalf("publish: %+v", p)
	}
	var productID int64
	pollUntil(t, 20*time.Second, "the image fetches end", func() bool {
		return countRows(t, s, v, `SELECT count(*) FROM image_fetches WHERE state IN ('pending', 'running')`) == 0 &&
			countRows(t, s, v, `SELECT count(*) FROM image_fetches`) == 2
	})
	if err := s.e.VendorPool(t, v).QueryRow(t.Context(), `SELECT id FROM products WHERE sku = 'PIC-1'`).Scan(&productID); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM product_media WHERE product_id = $1`, productID); n != 1 {
		t.Errorf("the product has %d images", n)
	}
	_, page, _ := owner.do("GET", fmt.Sprintf("/admin/products/%d", productID), nil)
	for _, want := range []string{"From the marketplace feed", "/missing.jpg", "failed", "404"} {
		if !strings.Contains(page, want) {
			t.Errorf("the product page lacks %q", want)
		}
	}
	if strings.Contains(page, img.URL+"/ok.png</td>") {
		t.Error("a kept image is still listed as a feed link")
	}
}
