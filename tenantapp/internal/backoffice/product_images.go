package backoffice

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// pickerPageSize is how many images of the library the product page's
// picker shows at a time.
const pickerPageSize = 30

// imagePicker is the product page's choice of images from the media
// library: a page of it, searched by name or alternative text.
type imagePicker struct {
	Open     bool // shown unfolded: searched, paged, or with an error
	Query    string
	Items    []*media.Media
	Attached map[int64]bool
	Picked   map[int64]bool // ticked in a refused form
	NextURL  string
}

// MaxImages is the most images a product can have (for the page).
func (d productFormPage) MaxImages() int { return catalog.MaxImages }

// LastImage reports whether the i-th image is the product's last.
func (d productFormPage) LastImage(i int) bool { return i == len(d.Images)-1 }

// loadImages fills the Images section of a product's page: its images,
// and for staff who may change them, a page of the library to pick from.
func (h *Handler) loadImages(r *http.Request, d *productFormPage) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	images, err := catalog.Images(ctx, t.Pool, d.Product.ID)
	if err != nil {
		return err
	}
	d.Images = images
	if !Current(ctx).Can("catalog.write") {
		return nil
	}
	q := r.URL.Query()
	pk := &d.Picker
	pk.Query = q.Get("media_q")
	pk.Open = pk.Open || pk.Query != "" || q.Has("media_before") || d.Errors["media_ids"] != ""
	before, _ := strconv.ParseInt(q.Get("media_before"), 10, 64)
	items, next, err := media.List(ctx, t.Pool, media.ListOptions{Query: pk.Query, Before: before, Limit: pickerPageSize})
	if err != nil {
		return err
	}
	pk.Items, pk.Attached = items, map[int64]bool{}
	for _, im := range images {
		pk.Attached[im.MediaID] = true
	}
	if next != 0 {
		v := url.Values{"media_before": {strconv.FormatInt(next, 10)}}
		if pk.Query != "" {
			v.Set("media_q", pk.Query)
		}
		pk.NextURL = fmt.Sprintf("%s/admin/products/%d?%s#images", t.Base, d.Product.ID, v.Encode())
	}
	return nil
}

// editImages changes a product's images with edit (see
// catalog.EditImages): done, it goes back to the product's Images
// section with the flash message; refused, the page comes back with the
// reason next to the picker (picked still ticked) and nothing changed.
func (h *Handler) editImages(w http.ResponseWriter, r *http.Request, edit func(ids []int64) ([]int64, error), flash func() string, picked map[int64]bool) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := catalogID(r)
	if err != nil {
		return err
	}
	_, err = catalog.EditImages(ctx, t.Pool, id, edit, actor(r, Current(ctx)))
	if fe, ok := catalog.AsFieldErrors(err); ok {
		p, err := catalog.Get(ctx, t.Pool, id)
		if err != nil {
			return orNotFound(err, errNoProduct)
		}
		d := productFormPage{Product: p, Form: formOf(p), Version: productVersion(p), Errors: fe}
		d.Picker.Picked = picked
		return h.renderProductForm(w, r, http.StatusUnprocessableEntity, d)
	}
	if err != nil {
		return orNotFound(err, errNoProduct)
	}
	h.sessions.Put(ctx, keyFlash, flash())
	http.Redirect(w, r, fmt.Sprintf("%s/admin/products/%d#images", t.Base, id), http.StatusSeeOther)
	return nil
}

// POST /admin/products/{id}/images: add the images ticked in the picker
// (media_ids), after the ones the product has.
func (h *Handler) productImagesAdd(w http.ResponseWriter, r *http.Request) error {
	_ = r.ParseForm()
	var picked []int64
	bad := false
	for _, s := range r.PostForm["media_ids"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			bad = true
			continue
		}
		picked = append(picked, id)
	}
	ticked := map[int64]bool{}
	for _, id := range picked {
		ticked[id] = true
	}
	added := 0
	edit := func(ids []int64) ([]int64, error) {
		switch {
		case bad:
			return nil, catalog.FieldErrors{"media_ids": "Choose images from the media library."}
		case len(picked) == 0:
			return nil, catalog.FieldErrors{"media_ids": "Tick the images to add first."}
		}
		added = 0
		for _, id := range picked {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
				added++
			}
		}
		return ids, nil
	}
	flash := func() string {
		switch added {
		case 0:
			return "Those images are on the product already."
		case 1:
			return "1 image added."
		}
		return fmt.Sprintf("%d images added.", added)
	}
	return h.editImages(w, r, edit, flash, ticked)
}

// mediaParam reads the {media} of an image route.
func mediaParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["media"], 10, 64)
	if err != nil {
		return 0, errImageNotOnProduct
	}
	return id, nil
}

var errImageNotOnProduct = &web.Error{Status: http.StatusNotFound,
	Message: "That image is not on this product (any more): someone may have just removed it. Go back and reload the page."}

// POST /admin/products/{id}/images/{media}/remove: take an image off the
// product (it stays in the media library).
func (h *Handler) productImageRemove(w http.ResponseWriter, r *http.Request) error {
	mid, err := mediaParam(r)
	if err != nil {
		return err
	}
	return h.editImages(w, r, func(ids []int64) ([]int64, error) {
		i := slices.Index(ids, mid)
		if i < 0 {
			return nil, errImageNotOnProduct
		}
		return slices.Delete(ids, i, i+1), nil
	}, func() string { return "The image is removed from the product; it stays in the media library." }, nil)
}

// POST /admin/products/{id}/images/{media}/move: move an image one place
// up or down (direction), so that the first one is shown on product cards.
func (h *Handler) productImageMove(w http.ResponseWriter, r *http.Request) error {
	mid, err := mediaParam(r)
	if err != nil {
		return err
	}
	step := 0
	switch r.PostFormValue("direction") {
	case "up":
		step = -1
	case "down":
		step = 1
	default:
		return &web.Error{Status: http.StatusBadRequest, Message: "Say which way to move the image: up or down."}
	}
	return h.editImages(w, r, func(ids []int64) ([]int64, error) {
		i := slices.Index(ids, mid)
		if i < 0 {
			return nil, errImageNotOnProduct
		}
		if j := i + step; j >= 0 && j < len(ids) {
			ids[i], ids[j] = ids[j], ids[i]
		}
		return ids, nil
	}, func() string { return "The images are in their new order." }, nil)
}
