package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
)

// uploadedID uploads an image through the back office and returns its id.
func uploadedID(t *testing.T, b *browser, name string, data []byte) int64 {
	t.Helper()
	code, body, h := uploadImage(b, name, data)
	if code != 303 {
		t.Fatalf("upload %s: %d %s", name, code, body)
	}
	loc := h.Get("Location")
	id, err := strconv.ParseInt(loc[strings.LastIndex(loc, "/")+1:], 10, 64)
	if err != nil {
		t.Fatalf("upload redirects to %q", loc)
	}
	return id
}

// productImages are a product's media ids in order, read from the database.
func productImages(t *testing.T, s *shopEnv, v *platform.Vendor, product int64) []int64 {
	t.Helper()
	rows, err := s.e.VendorPool(t, v).Query(context.Background(),
		`SELECT media_id FROM product_media WHERE product_id = $1 ORDER BY position, media_id`, product)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// fakeMedia records n images in a vendor's library directly (no files:
// for limits that need many images) and returns their ids.
func fakeMedia(t *testing.T, s *shopEnv, v *platform.Vendor, n int) []int64 {
	t.Helper()
	rows, err := s.e.VendorPool(t, v).Query(context.Background(), `INSERT INTO media (object_key, original_name, content_type, size_bytes, width, height, sha256)
		SELECT 'media/2026/fake' || md5(random()::text) || '.png', 'fake ' || g || '.png', 'image/png', 100, 10, 10, sha256(g::text::bytea)
		FROM generate_series(1, $1) g RETURNING id`, n)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func idForm(ids ...int64) url.Values {
	f := url.Values{}
	for _, id := range ids {
		f.Add("media_ids", strconv.FormatInt(id, 10))
	}
	return f
}

func TestProductImagesInTheBackOffice(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	m1 := uploadedID(t, owner, "hammer-front.png", testPNG(t, 60, 40))
	m2 := uploadedID(t, owner, "hammer-side.png", testPNG(t, 50, 40))
	m3 := uploadedID(t, owner, "hammer-box.png", testPNG(t, 40, 40))
	owner.do("GET", fmt.Sprintf("/admin/media/%d", m1), nil)
	for m, alt := range map[int64]string{m1: "A claw hammer, seen from the front", m3: "Hammer in its box"} {
		if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/media/%d", m), url.Values{"name": {fmt.Sprintf("hammer-%d.png", m)}, "alt_text": {alt}}); code != 303 {
			t.Fatalf("alt text: %d", code)
		}
	}
	id := newProduct(t, owner, productForm("HAM-1", "Claw hammer", "12.90"))
	path := fmt.Sprintf("/admin/products/%d", id)

	// The page has an Images section with a picker of the library.
	code, body, _ := owner.do("GET", path, nil)
	if code != 200 || !strings.Contains(body, `id="images"`) || !strings.Contains(body, "No images yet") ||
		!strings.Contains(body, fmt.Sprintf(`name="media_ids" value="%d"`, m3)) || !strings.Contains(body, fmt.Sprintf(`src="/media/%d/200"`, m2)) {
		t.Fatalf("product page: %d %s", code, body)
	}
	// The picker searches by name without JavaScript.
	_, body, _ = owner.do("GET", path+"?media_q=side", nil)
	if !strings.Contains(body, fmt.Sprintf(`name="media_ids" value="%d"`, m2)) || strings.Contains(body, fmt.Sprintf(`name="media_ids" value="%d"`, m1)) ||
		!regexp.MustCompile(`<details class="picker" open`).MatchString(body) {
		t.Fatalf("picker search: %s", body)
	}

	// Add two, then three of which one is there already: added in order, once.
	code, _, h := owner.do("POST", path+"/images", idForm(m1, m2))
	if code != 303 || !strings.HasSuffix(h.Get("Location"), path+"#images") {
		t.Fatalf("add: %d %v", code, h)
	}
	if code, _, _ = owner.do("POST", path+"/images", idForm(m3, m1)); code != 303 {
		t.Fatalf("add again: %d", code)
	}
	if got := productImages(t, s, v, id); !slices.Equal(got, []int64{m1, m2, m3}) {
		t.Fatalf("images %v", got)
	}
	_, body, _ = owner.do("GET", path, nil)
	list := body[strings.Index(body, `<ol class="image-list">`):]
	list = list[:strings.Index(list, "</ol>")]
	i1, i2, i3 := strings.Index(list, fmt.Sprintf("/media/%d/200", m1)), strings.Index(list, fmt.Sprintf("/media/%d/200", m2)), strings.Index(list, fmt.Sprintf("/media/%d/200", m3))
	if i1 < 0 || !(i1 < i2 && i2 < i3) || !strings.Contains(list, "A claw hammer, seen from the front") || !strings.Contains(list, "no alt text") {
		t.Fatalf("image list: %s", list)
	}
	if !strings.Contains(body, "1 image added.") && !strings.Contains(body, "images added") {
		t.Errorf("no flash message: %s", body)
	}
	if !strings.Contains(list, fmt.Sprintf(`value="up" disabled aria-label="Move hammer-%d.png up"`, m1)) ||
		!strings.Contains(list, fmt.Sprintf(`value="down" disabled aria-label="Move hammer-%d.png down"`, m3)) {
		t.Errorf("the first cannot go up, the last cannot go down: %s", list)
	}
	if !strings.Contains(body, fmt.Sprintf(`name="media_ids" value="%d" disabled`, m1)) {
		t.Error("an image on the product can be ticked again in the picker")
	}

	// Reorder and remove.
	move := func(m int64, dir string) {
		t.Helper()
		if code, body, _ := owner.do("POST", fmt.Sprintf("%s/images/%d/move", path, m), url.Values{"direction": {dir}}); code != 303 {
			t.Fatalf("move %d %s: %d %s", m, dir, code, body)
		}
	}
	move(m3, "up")
	if got := productImages(t, s, v, id); !slices.Equal(got, []int64{m1, m3, m2}) {
		t.Fatalf("after moving up: %v", got)
	}
	move(m1, "down")
	move(m2, "down") // the last: stays
	if got := productImages(t, s, v, id); !slices.Equal(got, []int64{m3, m1, m2}) {
		t.Fatalf("after moving down: %v", got)
	}
	if code, _, _ := owner.do("POST", fmt.Sprintf("%s/images/%d/move", path, m1), url.Values{"direction": {"sideways"}}); code != 400 {
		t.Fatalf("bad direction: %d", code)
	}
	if code, _, _ := owner.do("POST", fmt.Sprintf("%s/images/%d/remove", path, m1), url.Values{}); code != 303 {
		t.Fatalf("remove: %d", code)
	}
	if code, _, _ := owner.do("POST", fmt.Sprintf("%s/images/%d/remove", path, m1), url.Values{}); code != 404 {
		t.Fatalf("remove again: %d", code)
	}
	if got := productImages(t, s, v, id); !slices.Equal(got, []int64{m3, m2}) {
		t.Fatalf("after removing: %v", got)
	}
	audited := vendorCount(t, s, v, `SELECT count(*) FROM audit_log WHERE action = 'product.images_updated' AND target_id = $1`, fmt.Sprint(id))
	if audited != 5 { // two adds, two real moves, one removal; the move that changed nothing is not recorded
		t.Fatalf("%d audit entries for image changes", audited)
	}
	var before, after string
	_ = s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT before::text, after::text FROM audit_log
		WHERE action = 'product.images_updated' ORDER BY id DESC LIMIT 1`).Scan(&before, &after)
	if before != fmt.Sprintf(`{"media_ids": [%d, %d, %d]}`, m3, m1, m2) || after != fmt.Sprintf(`{"media_ids": [%d, %d]}`, m3, m2) {
		t.Errorf("audit entry: %s -> %s", before, after)
	}

	// Refused: an id the library does not have, garbage, nothing ticked,
	// too many. The reason is next to the picker; nothing changes.
	extra := fakeMedia(t, s, v, 19)
	for _, c := range []struct {
		name string
		form url.Values
		want string
	}{
		{"unknown id", idForm(m1, 999999), "There is no image 999999 in this shop's media library"},
		{"not a number", url.Values{"media_ids": {"abc"}}, "Choose images from the media library"},
		{"nothing ticked", url.Values{}, "Tick the images to add first"},
		{"too many", idForm(append([]int64{m1}, extra...)...), "at most 20 images; this would make 22"},
	} {
		code, body, _ := owner.do("POST", path+"/images", c.form)
		if code != 422 || !strings.Contains(fieldError(body, "media_ids"), c.want) {
			t.Errorf("%s: %d %q", c.name, code, fieldError(body, "media_ids"))
		}
		if c.name == "unknown id" && !strings.Contains(body, fmt.Sprintf(`name="media_ids" value="%d" checked`, m1)) {
			t.Errorf("the ticked images are not ticked again")
		}
	}
	if got := productImages(t, s, v, id); !slices.Equal(got, []int64{m3, m2}) {
		t.Fatalf("a refused change changed the images: %v", got)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM audit_log WHERE action = 'product.images_updated'`); n != audited {
		t.Fatalf("refused changes were audited")
	}
	// Up to 20 is fine; one more is refused.
	if code, body, _ := owner.do("POST", path+"/images", idForm(extra[:18]...)); code != 303 {
		t.Fatalf("20 images: %d %s", code, fieldError(body, "media_ids"))
	}
	if code, body, _ := owner.do("POST", path+"/images", idForm(m1)); code != 422 || !strings.Contains(fieldError(body, "media_ids"), "at most 20") {
		t.Fatalf("21st image: %d %q", code, fieldError(body, "media_ids"))
	}
	if n := len(productImages(t, s, v, id)); n != 20 {
		t.Fatalf("%d images", n)
	}

	// An image a product shows cannot be deleted from the library.
	owner.do("GET", fmt.Sprintf("/admin/media/%d", m2), nil)
	if code, body, _ := owner.do("POST", fmt.Sprintf("/admin/media/%d/delete", m2), url.Values{}); code != 409 || !strings.Contains(body, "Claw hammer (SKU HAM-1)") {
		t.Fatalf("delete an image in use: %d", code)
	}

	// The storefront card shows the first image, served by the shop.
	code, home := s.get(t, "acme.localhost", "/")
	if code != 200 || !strings.Contains(home, fmt.Sprintf(`src="/media/%d/200" srcset="/media/%d/200 200w, /media/%d/800 800w"`, m3, m3, m3)) {
		t.Fatalf("storefront: %d %s", code, home)
	}
	if code, _, hdr := fetch(t, s, "acme.localhost", fmt.Sprintf("/media/%d/200", m3)); code != 200 || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("card image: %d %v", code, hdr)
	}
	// ... with its alternative text, also under the shared host's path; a
	// product without images keeps its placeholder.
	if !strings.Contains(home, fmt.Sprintf(`/media/%d/800 800w" sizes="(max-width: 520px) 90vw, 280px" alt="Hammer in its box"`, m3)) {
		t.Errorf("the card image has no alt text: %s", home)
	}
	newProduct(t, owner, productForm("NAIL-1", "Nails", "2.00"))
	if code, home := s.get(t, "localhost", "/vendor/acme/"); code != 200 || !strings.Contains(home, fmt.Sprintf(`src="/vendor/acme/media/%d/200"`, m3)) ||
		!strings.Contains(home, `<div class="thumb" aria-hidden="true">NAIL-1</div>`) {
		t.Fatalf("storefront on the shared host: %d %s", code, home)
	}
}

// apiUpload posts a file to the API's media upload as multipart/form-data.
func apiUpload(c apiClient, name string, data []byte) (int, map[string]any, http.Header) {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = part.Write(data)
	_ = mw.Close()
	req, err := http.NewRequest("POST", c.srv.URL+"/api/v1/vendor/media", &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Host = c.host
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("upload %s: %d, not JSON: %s", name, resp.StatusCode, raw)
	}
	return resp.StatusCode, out, resp.Header
}

// apiUploaded uploads an image through the API and returns its id.
func apiUploaded(c apiClient, name string, data []byte) int64 {
	c.t.Helper()
	code, out, _ := apiUpload(c, name, data)
	if code != 201 {
		c.t.Fatalf("upload %s: %d %v", name, code, out)
	}
	return int64(out["id"].(float64))
}

// errField is the field an API error names, and fields, every field.
func errField(out map[string]any) (string, map[string]any) {
	e, _ := out["error"].(map[string]any)
	f, _ := e["field"].(string)
	fields, _ := e["fields"].(map[string]any)
	return f, fields
}

func imageIDs(t *testing.T, product map[string]any) []int64 {
	t.Helper()
	list, ok := product["images"].([]any)
	if !ok {
		t.Fatalf("no images in %v", product)
	}
	ids := []int64{}
	for i, im := range list {
		m := im.(map[string]any)
		if m["position"] != float64(i) {
			t.Errorf("image %d has position %v", i, m["position"])
		}
		ids = append(ids, int64(m["media_id"].(float64)))
	}
	return ids
}

// Vendors' ids collide (every vendor database counts from 1): an id
// means an image of the shop whose host the request came to, and an id
// only another shop has is refused, in the back office and the API.
func TestProductImagesStayInTheirShop(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a, alice := catalogShop(t, s, "acme", "Acme Tools")
	b, bob := catalogShop(t, s, "bravo", "Bravo Books")
	acmePic, bravoPic := testPNG(t, 64, 48), testPNG(t, 30, 90)
	var acmeIDs []int64
	for i := range 3 {
		acmeIDs = append(acmeIDs, uploadedID(t, alice, fmt.Sprintf("acme-%d.png", i), acmePic))
	}
	bravoID := uploadedID(t, bob, "bravo.png", bravoPic)
	if bravoID != acmeIDs[0] {
		t.Fatalf("the vendors' first media ids differ (%d, %d): the test needs colliding ids", bravoID, acmeIDs[0])
	}
	onlyAcme := acmeIDs[2]
	product := newProduct(t, bob, productForm("BOOK-1", "A book", "9.90"))
	path := fmt.Sprintf("/admin/products/%d", product)
	bob.do("GET", path, nil)

	// Acme's id 3 is nothing in Bravo: refused, nothing written.
	code, body, _ := bob.do("POST", path+"/images", idForm(onlyAcme))
	if code != 422 || !strings.Contains(fieldError(body, "media_ids"), fmt.Sprintf("no image %d", onlyAcme)) {
		t.Fatalf("another shop's media id: %d %q", code, fieldError(body, "media_ids"))
	}
	api := apiClient{t: t, srv: apiShop(t, s), host: "bravo.localhost", token: makeToken(t, bob, "bravo")}
	code, out := api.call("PUT", fmt.Sprintf("/products/%d/images", product), map[string]any{"media_ids": []int64{bravoID, onlyAcme}})
	if f, _ := errField(out); code != 422 || f != "media_ids" {
		t.Fatalf("another shop's media id through the API: %d %v", code, out)
	}
	if got := productImages(t, s, b, product); len(got) != 0 {
		t.Fatalf("refused ids were attached: %v", got)
	}
	// Id 1 is Bravo's own image there, never Acme's.
	if code, _, _ := bob.do("POST", path+"/images", idForm(bravoID)); code != 303 {
		t.Fatalf("attach bravo's image: %d", code)
	}
	code, out = api.call("GET", fmt.Sprintf("/products/%d", product), nil)
	if code != 200 || !slices.Equal(imageIDs(t, out), []int64{bravoID}) {
		t.Fatalf("bravo's product: %d %v", code, out)
	}
	im := out["images"].([]any)[0].(map[string]any)
	if im["width"] != 30.0 || im["height"] != 90.0 {
		t.Fatalf("bravo's product shows an image of %v × %v, not bravo's 30 × 90", im["width"], im["height"])
	}
	if _, got, _ := fetch(t, s, "bravo.localhost", im["url"].(string)); !bytes.Equal(got, bravoPic) {
		t.Fatalf("%s on bravo's host is not bravo's image", im["url"])
	}
	_, home := s.get(t, "bravo.localhost", "/")
	src := regexp.MustCompile(`<img src="([^"]+)"`).FindStringSubmatch(home)
	if src == nil || src[1] != fmt.Sprintf("/media/%d/200", bravoID) {
		t.Fatalf("bravo's storefront: %s", home)
	}
	// The thumbnail is bravo's (30 × 90 fits 200 as it is), never acme's.
	pollUntil(t, 60*time.Second, "bravo's thumbnails", func() bool {
		return countRows(t, s, b, `SELECT count(*) FROM media WHERE thumbs_state = 'ready'`) == 1
	})
	if _, got, _ := fetch(t, s, "bravo.localhost", src[1]); bytes.Equal(got, acmePic) {
		t.Fatal("bravo's card shows acme's image")
	} else if cfg, err := png.DecodeConfig(bytes.NewReader(got)); err != nil || cfg.Width != 30 || cfg.Height != 90 {
		t.Fatalf("bravo's card image is %v (%v)", cfg, err)
	}
	// Acme's shop is untouched.
	if n := countRows(t, s, a, `SELECT count(*) FROM product_media`); n != 0 {
		t.Fatalf("acme has %d product images", n)
	}
}

func TestProductImagesPermissions(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	m1 := uploadedID(t, owner, "one.png", testPNG(t, 20, 20))
	m2 := uploadedID(t, owner, "two.png", testPNG(t, 20, 20))
	product := newProduct(t, owner, productForm("P-1", "Pliers", "8"))
	path := fmt.Sprintf("/admin/products/%d", product)
	owner.do("GET", path, nil)
	if code, _, _ := owner.do("POST", path+"/images", idForm(m1)); code != 303 {
		t.Fatalf("owner adds: %d", code)
	}
	srv := apiShop(t, s)
	editor, _ := catalogMember(t, s, v, "Catalog editor")
	clerk, _ := catalogMember(t, s, v, "Order clerk")
	editorAPI := apiClient{t: t, srv: srv, host: "acme.localhost", token: makeToken(t, editor, "editor")}
	clerkAPI := apiClient{t: t, srv: srv, host: "acme.localhost", token: makeToken(t, clerk, "clerk")}

	// The order clerk (catalog.read) sees the images and nothing to change them.
	code, body, _ := clerk.do("GET", path, nil)
	if code != 200 || !strings.Contains(body, fmt.Sprintf(`src="/media/%d/200"`, m1)) ||
		strings.Contains(body, `name="media_ids"`) || strings.Contains(body, "/remove") || strings.Contains(body, `value="up"`) {
		t.Fatalf("clerk's product page: %d %s", code, body)
	}
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{path + "/images", idForm(m2)},
		{fmt.Sprintf("%s/images/%d/remove", path, m1), url.Values{}},
		{fmt.Sprintf("%s/images/%d/move", path, m1), url.Values{"direction": {"down"}}},
	} {
		if code, body, _ := clerk.do("POST", c.path, c.form); code != 403 || !strings.Contains(body, "catalog.write") {
			t.Errorf("clerk POST %s: %d", c.path, code)
		}
	}
	code, out := clerkAPI.call("PUT", fmt.Sprintf("/products/%d/images", product), map[string]any{"media_ids": []int64{m2}})
	if code != 403 || !strings.Contains(errMessage(out), "catalog.write") {
		t.Fatalf("clerk PUT images: %d %v", code, out)
	}
	if code, out := clerkAPI.call("GET", fmt.Sprintf("/products/%d", product), nil); code != 200 || !slices.Equal(imageIDs(t, out), []int64{m1}) {
		t.Fatalf("clerk reads the product: %d %v", code, out)
	}
	for _, op := range [][2]string{{"GET", "/media"}, {"GET", fmt.Sprintf("/media/%d", m1)}, {"DELETE", fmt.Sprintf("/media/%d", m2)}, {"GET", "/settings"}} {
		if code, _ := clerkAPI.call(op[0], op[1], nil); code != 403 {
			t.Errorf("clerk %s %s: %d", op[0], op[1], code)
		}
	}
	if got := productImages(t, s, v, product); !slices.Equal(got, []int64{m1}) {
		t.Fatalf("the clerk changed the images: %v", got)
	}

	// The catalog editor changes them, in the back office and the API.
	code, body, _ = editor.do("GET", path, nil)
	if code != 200 || !strings.Contains(body, fmt.Sprintf(`name="media_ids" value="%d"`, m2)) {
		t.Fatalf("editor's product page: %d", code)
	}
	if code, _, _ := editor.do("POST", path+"/images", idForm(m2)); code != 303 {
		t.Fatalf("editor adds: %d", code)
	}
	if code, _, _ := editor.do("POST", fmt.Sprintf("%s/images/%d/move", path, m2), url.Values{"direction": {"up"}}); code != 303 {
		t.Fatalf("editor moves: %d", code)
	}
	if got := productImages(t, s, v, product); !slices.Equal(got, []int64{m2, m1}) {
		t.Fatalf("after the editor: %v", got)
	}
	code, out = editorAPI.call("PUT", fmt.Sprintf("/products/%d/images", product), map[string]any{"media_ids": []int64{m1}})
	if code != 200 || !slices.Equal(imageIDs(t, out), []int64{m1}) {
		t.Fatalf("editor PUT images: %d %v", code, out)
	}
	if code, _ := editorAPI.call("GET", "/media", nil); code != 200 {
		t.Errorf("editor lists media: %d", code)
	}
	if code, _ := editorAPI.call("GET", "/settings", nil); code != 403 {
		t.Errorf("editor reads settings without settings.write: %d", code)
	}
}

func TestVendorAPIProductImages(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	api := apiClient{t: t, srv: apiShop(t, s), host: "acme.localhost", token: makeToken(t, owner, "images")}
	m1 := apiUploaded(api, "front.png", testPNG(t, 120, 80))
	m2 := apiUploaded(api, "back.png", testPNG(t, 80, 120))
	if code, _ := api.call("PATCH", fmt.Sprintf("/media/%d", m2), map[string]any{"alt_text": "The back"}); code != 200 {
		t.Fatalf("alt text: %d", code)
	}
	_, out := api.call("POST", "/products", map[string]any{"sku": "IMG-1", "title": "Drill", "price_minor": 9900, "currency": "EUR", "state": "active"})
	if ids := imageIDs(t, out); len(ids) != 0 {
		t.Fatalf("a new product has images %v", ids)
	}
	id := int64(out["id"].(float64))
	imagesPath := fmt.Sprintf("/products/%d/images", id)

	code, out := api.call("PUT", imagesPath, map[string]any{"media_ids": []int64{m2, m1}})
	if code != 200 || !slices.Equal(imageIDs(t, out), []int64{m2, m1}) {
		t.Fatalf("put images: %d %v", code, out)
	}
	first := out["images"].([]any)[0].(map[string]any)
	if first["url"] != fmt.Sprintf("/media/%d/original", m2) || first["alt_text"] != "The back" || first["width"] != 80.0 || first["height"] != 120.0 {
		t.Fatalf("first image: %v", first)
	}
	if code, out = api.call("GET", fmt.Sprintf("/products/%d", id), nil); code != 200 || !slices.Equal(imageIDs(t, out), []int64{m2, m1}) {
		t.Fatalf("get: %d %v", code, out)
	}

	// Bad input: 422 on media_ids (400 for a body that is not the right
	// JSON, 404 for no such product); nothing changes.
	many := fakeMedia(t, s, v, 21)
	for name, c := range map[string]struct {
		path   string
		body   any
		status int
		want   string
	}{
		"unknown id":    {imagesPath, map[string]any{"media_ids": []int64{m1, 424242}}, 422, "no image 424242"},
		"twice":         {imagesPath, map[string]any{"media_ids": []int64{m1, m1}}, 422, "twice"},
		"zero":          {imagesPath, map[string]any{"media_ids": []int64{0}}, 422, "not an image id"},
		"too many":      {imagesPath, map[string]any{"media_ids": many}, 422, "at most 20"},
		"missing":       {imagesPath, map[string]any{}, 422, "required"},
		"null":          {imagesPath, `{"media_ids": null}`, 422, "required"},
		"strings":       {imagesPath, `{"media_ids": ["1"]}`, 400, ""},
		"unknown prop":  {imagesPath, `{"media_ids": [], "ids": []}`, 400, ""},
		"no product":    {"/products/999999/images", map[string]any{"media_ids": []int64{m1}}, 404, ""},
		"huge id":       {"/products/99999999999999999999/images", map[string]any{"media_ids": []int64{m1}}, 404, ""},
		"float id":      {imagesPath, `{"media_ids": [1.5]}`, 400, ""},
		"not an object": {imagesPath, `[1, 2]`, 400, ""},
	} {
		code, out := api.call("PUT", c.path, c.body)
		f, fields := errField(out)
		if code != c.status || (c.status == 422 && (f != "media_ids" || !strings.Contains(fmt.Sprint(fields["media_ids"]), c.want))) {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	if got := productImages(t, s, v, id); !slices.Equal(got, []int64{m2, m1}) {
		t.Fatalf("refused requests changed the images: %v", got)
	}
	if code, out = api.call("PUT", imagesPath, map[string]any{"media_ids": many[:20]}); code != 200 || len(imageIDs(t, out)) != 20 {
		t.Fatalf("20 images: %d", code)
	}
	if code, out = api.call("PUT", imagesPath, map[string]any{"media_ids": []int64{}}); code != 200 || len(imageIDs(t, out)) != 0 {
		t.Fatalf("no images: %d %v", code, out)
	}
	if n := vendorCount(t, s, v, `SELECT count(*) FROM audit_log WHERE action = 'product.images_updated' AND actor LIKE '%(API token %'`); n != 3 {
		t.Fatalf("%d audited image changes", n)
	}
}

func TestVendorAPIMedia(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	api := apiClient{t: t, srv: apiShop(t, s), host: "acme.localhost", token: makeToken(t, owner, "media")}

	// Uploads get the back office's checks; refused ones store nothing.
	for name, c := range map[string]struct {
		file   string
		data   []byte
		status int
		want   string
	}{
		"svg":         {"logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 415, "SVG images are not accepted"},
		"text as png": {"photo.png", []byte("just some text, not a picture\n"), 415, "is named .png but is not"},
		"pixel bomb":  {"big.png", pngClaiming(100000, 100000), 422, "megapixels"},
		"climbs out":  {"../../x.png", testPNG(t, 4, 4), 422, "contains a path"},
		"empty":       {"empty.png", nil, 422, "is empty"},
	} {
		code, out, _ := apiUpload(api, c.file, c.data)
		if f, _ := errField(out); code != c.status || f != "file" || !strings.Contains(errMessage(out), c.want) {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	if code, out := api.call("POST", "/media", map[string]any{"file": "x"}); code != 400 || !strings.Contains(errMessage(out), "multipart/form-data") {
		t.Errorf("JSON upload: %d %v", code, out)
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM media`); n != 0 {
		t.Fatalf("%d media stored from refused uploads", n)
	}
	if keys := bucketKeys(t, s, v); len(keys) != 0 {
		t.Fatalf("objects stored from refused uploads: %v", keys)
	}

	code, out, h := apiUpload(api, "Red drill.png", testPNG(t, 300, 200))
	if code != 201 || out["name"] != "Red drill.png" || out["width"] != 300.0 || out["content_type"] != "image/png" ||
		len(out["used_by"].([]any)) != 0 || out["thumbnails"] != "pending" {
		t.Fatalf("upload: %d %v", code, out)
	}
	drill := int64(out["id"].(float64))
	if h.Get("Location") != fmt.Sprintf("/api/v1/vendor/media/%d", drill) || out["url"] != fmt.Sprintf("/media/%d/original", drill) ||
		out["sizes"].(map[string]any)["200"] != fmt.Sprintf("/media/%d/200", drill) {
		t.Fatalf("upload links: %v %v", h.Get("Location"), out)
	}
	saw := apiUploaded(api, "Blue saw.png", testPNG(t, 20, 20))
	nails := apiUploaded(api, "Nails.png", testPNG(t, 20, 20))

	// The list pages back by id and searches names.
	code, out = api.call("GET", "/media?limit=2", nil)
	page, _ := out["media"].([]any)
	if code != 200 || len(page) != 2 || page[0].(map[string]any)["id"] != float64(nails) || out["next_before"] != float64(saw) {
		t.Fatalf("first page: %d %v", code, out)
	}
	code, out = api.call("GET", fmt.Sprintf("/media?limit=2&before=%d", saw), nil)
	if page, _ = out["media"].([]any); code != 200 || len(page) != 1 || page[0].(map[string]any)["id"] != float64(drill) || out["next_before"] != nil {
		t.Fatalf("last page: %d %v", code, out)
	}
	if code, out = api.call("GET", "/media?q=saw", nil); code != 200 || len(out["media"].([]any)) != 1 {
		t.Fatalf("search: %d %v", code, out)
	}
	for _, q := range []string{"limit=0", "limit=201", "before=x", "before=-1"} {
		if code, out := api.call("GET", "/media?"+q, nil); code != 422 {
			t.Errorf("%s: %d %v", q, code, out)
		}
	}

	// Details change; bad ones are refused by field.
	code, out = api.call("PATCH", fmt.Sprintf("/media/%d", drill), map[string]any{"alt_text": "A red cordless drill"})
	if code != 200 || out["alt_text"] != "A red cordless drill" || out["name"] != "Red drill.png" {
		t.Fatalf("patch alt text: %d %v", code, out)
	}
	code, out = api.call("PATCH", fmt.Sprintf("/media/%d", drill), map[string]any{"name": "a/b.png", "alt_text": strings.Repeat("x", 501)})
	if _, fields := errField(out); code != 422 || fields["name"] == nil || fields["alt_text"] == nil {
		t.Fatalf("bad details: %d %v", code, out)
	}
	if code, out = api.call("PATCH", fmt.Sprintf("/media/%d", drill), map[string]any{"name": nil}); code != 422 {
		t.Fatalf("null name: %d %v", code, out)
	}
	if code, _ = api.call("PATCH", fmt.Sprintf("/media/%d", drill), `{"caption": "x"}`); code != 400 {
		t.Fatalf("unknown property: %d", code)
	}
	if code, _ = api.call("PATCH", "/media/999999", map[string]any{"alt_text": "x"}); code != 404 {
		t.Fatalf("patch unknown: %d", code)
	}

	// Where used; deleting an image in use is a 409 that lists its uses.
	_, prod := api.call("POST", "/products", map[string]any{"sku": "DRILL-1", "title": "Cordless drill", "price_minor": 9900, "currency": "EUR"})
	product := int64(prod["id"].(float64))
	if code, out = api.call("PUT", fmt.Sprintf("/products/%d/images", product), map[string]any{"media_ids": []int64{drill}}); code != 200 {
		t.Fatalf("attach: %d %v", code, out)
	}
	if code, out = api.call("PATCH", "/settings", map[string]any{"logo_media_id": drill}); code != 200 {
		t.Fatalf("logo: %d %v", code, out)
	}
	code, out = api.call("GET", fmt.Sprintf("/media/%d", drill), nil)
	uses, _ := out["used_by"].([]any)
	if code != 200 || len(uses) != 2 || uses[0].(map[string]any)["product_id"] != float64(product) ||
		uses[0].(map[string]any)["label"] != "Cordless drill (SKU DRILL-1)" || uses[1].(map[string]any)["kind"] != "logo" {
		t.Fatalf("where used: %d %v", code, out)
	}
	code, out = api.call("DELETE", fmt.Sprintf("/media/%d", drill), nil)
	e, _ := out["error"].(map[string]any)
	if used, _ := e["used_by"].([]any); code != 409 || len(used) != 2 || used[0].(map[string]any)["product_id"] != float64(product) ||
		!strings.Contains(errMessage(out), "Cordless drill (SKU DRILL-1)") {
		t.Fatalf("delete in use: %d %v", code, out)
	}
	if n := countRows(t, s, v, `SELECT count(*) FROM media WHERE id = $1`, drill); n != 1 {
		t.Fatal("an image in use was deleted")
	}
	api.call("PUT", fmt.Sprintf("/products/%d/images", product), map[string]any{"media_ids": []int64{}})
	api.call("PATCH", "/settings", map[string]any{"logo_media_id": nil})
	if code, out = api.call("DELETE", fmt.Sprintf("/media/%d", drill), nil); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if code, _ = api.call("GET", fmt.Sprintf("/media/%d", drill), nil); code != 404 {
		t.Fatalf("deleted: %d", code)
	}
	if code, _ = api.call("DELETE", fmt.Sprintf("/media/%d", drill), nil); code != 404 {
		t.Fatalf("deleted twice: %d", code)
	}
	var actions []string
	rows, _ := s.e.VendorPool(t, v).Query(context.Background(), `SELECT action FROM audit_log WHERE action LIKE 'media.%' AND actor LIKE '%(API token %' ORDER BY id`)
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		actions = append(actions, a)
	}
	rows.Close()
	if got := strings.Join(actions, " "); got != "media.uploaded media.uploaded media.uploaded media.updated media.deleted" {
		t.Errorf("audit log: %s", got)
	}
}

func TestVendorAPISettings(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "acme", "Acme Tools")
	srv := apiShop(t, s)
	api := apiClient{t: t, srv: srv, host: "acme.localhost", token: makeToken(t, owner, "settings")}

	code, out := api.call("GET", "/settings", nil)
	if code != 200 || out["accent_color"] != "#0b7285" || out["font"] != "system" || out["logo_media_id"] != nil {
		t.Fatalf("get: %d %v", code, out)
	}
	code, out = api.call("PATCH", "/settings", map[string]any{"display_name": "  Acme & Sons ", "accent_color": "#FF0000",
		"contact_address": "1 Main St\r\nSpringfield"})
	if code != 200 || out["display_name"] != "Acme & Sons" || out["accent_color"] != "#ff0000" || out["font"] != "system" ||
		out["contact_address"] != "1 Main St\nSpringfield" {
		t.Fatalf("patch: %d %v", code, out)
	}
	if _, home := s.get(t, "acme.localhost", "/"); !strings.Contains(home, "Acme &amp; Sons") || !strings.Contains(home, "--shop-accent: #ff0000") {
		t.Errorf("the storefront does not show the new settings: %s", home)
	}

	// The settings page's checks, every field named; nothing saved.
	code, out = api.call("PATCH", "/settings", map[string]any{"accent_color": "red; } body { display: none", "font": "comic-sans",
		"language": "xx", "currency": "BTC", "contact_email": "not an address", "contact_phone": "call me", "logo_media_id": 999999,
		"display_name": strings.Repeat("n", 101)})
	_, fields := errField(out)
	for _, f := range []string{"accent_color", "font", "language", "currency", "contact_email", "contact_phone", "logo_media_id", "display_name"} {
		if fields[f] == nil {
			t.Errorf("no error for %s: %v", f, fields)
		}
	}
	if code != 422 || len(fields) != 8 {
		t.Fatalf("bad settings: %d %v", code, out)
	}
	for name, body := range map[string]any{
		"null font":       map[string]any{"font": nil},
		"null colour":     map[string]any{"text_color": nil},
		"zero logo":       map[string]any{"logo_media_id": 0},
		"unknown logo":    map[string]any{"logo_media_id": 123456},
		"control":         map[string]any{"display_name": "a\u0007b"},
		"long legal text": map[string]any{"imprint": strings.Repeat("x", 20001)},
	} {
		if code, out := api.call("PATCH", "/settings", body); code != 422 {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	for name, body := range map[string]string{"unknown property": `{"colour": "#000000"}`, "wrong type": `{"accent_color": 5}`, "not JSON": `accent_color=red`} {
		if code, _ := api.call("PATCH", "/settings", body); code != 400 {
			t.Errorf("%s: %d", name, code)
		}
	}
	if _, out = api.call("GET", "/settings", nil); out["accent_color"] != "#ff0000" || out["display_name"] != "Acme & Sons" {
		t.Fatalf("refused changes were saved: %v", out)
	}
	// null clears the texts that may be empty.
	if code, out = api.call("PATCH", "/settings", map[string]any{"display_name": nil}); code != 200 || out["display_name"] != "" {
		t.Fatalf("clear the name: %d %v", code, out)
	}
	// A change of nothing records nothing.
	api.call("PATCH", "/settings", map[string]any{"accent_color": "#ff0000"})
	if n := countRows(t, s, v, `SELECT count(*) FROM audit_log WHERE action = 'settings.updated' AND actor LIKE '%(API token %'`); n != 2 {
		t.Fatalf("%d audited settings changes", n)
	}

	// The document lists the choices the settings page has.
	_, doc := apiClient{t: t, srv: srv, host: "acme.localhost"}.call("GET", "/openapi.json", nil)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	var fonts []string
	for _, f := range schemas["Font"].(map[string]any)["enum"].([]any) {
		fonts = append(fonts, f.(string))
	}
	var want []string
	for _, f := range storefront.Fonts {
		want = append(want, f.Key)
	}
	if !slices.Equal(fonts, want) || len(schemas["ShopCurrency"].(map[string]any)["enum"].([]any)) != len(storefront.Currencies) {
		t.Errorf("fonts in the document %v, want %v", fonts, want)
	}
}
