package backoffice

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type mediaListPage struct {
	page
	Items    []*media.Media
	Query    string
	NextURL  string
	Errors   map[string]string
	MaxSize  string
	MaxMP    int
	Accepted string
}

// mediaLibrary returns the app's media library, or a 503 if the app has
// none (no object store).
func mediaLibrary(r *http.Request) (*media.Service, error) {
	svc := media.FromContext(r.Context())
	if svc == nil {
		return nil, &web.Error{Status: http.StatusServiceUnavailable,
			Message: "The media library is not available on this server (no file storage is configured)."}
	}
	return svc, nil
}

// GET /admin/media: the library, newest first, with the upload form.
func (h *Handler) mediaList(w http.ResponseWriter, r *http.Request) error {
	return h.renderMediaList(w, r, http.StatusOK, nil)
}

func (h *Handler) renderMediaList(w http.ResponseWriter, r *http.Request, status int, errs map[string]string) error {
	if _, err := mediaLibrary(r); err != nil {
		return err
	}
	t := tenant.FromContext(r.Context())
	q := r.URL.Query()
	p := mediaListPage{page: h.page(r, "Media"), Query: q.Get("q"), Errors: errs,
		MaxSize: media.HumanBytes(media.MaxBytes), MaxMP: media.MaxPixels / 1_000_000, Accepted: "JPEG, PNG, GIF or WebP"}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	items, next, err := media.List(r.Context(), t.Pool, media.ListOptions{Query: p.Query, Before: before})
	if err != nil {
		return err
	}
	p.Items = items
	if next != 0 {
		v := url.Values{"before": {strconv.FormatInt(next, 10)}}
		if p.Query != "" {
			v.Set("q", p.Query)
		}
		p.NextURL = t.Base + "/admin/media?" + v.Encode()
	}
	return h.templates.Render(w, status, "admin_media", p)
}

type mediaShowPage struct {
	page
	Media   *media.Media
	Uses    []media.Use
	InUse   bool // a deletion was refused
	Name    string
	AltText string
	Errors  map[string]string
	Sizes   []int
}

// GET /admin/media/{id}: one image, where it is used, its details.
func (h *Handler) mediaShow(w http.ResponseWriter, r *http.Request) error {
	return h.renderMediaShow(w, r, http.StatusOK, nil, nil)
}

func (h *Handler) renderMediaShow(w http.ResponseWriter, r *http.Request, status int, form *media.Details, errs map[string]string) error {
	if _, err := mediaLibrary(r); err != nil {
		return err
	}
	t := tenant.FromContext(r.Context())
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	m, err := media.Get(r.Context(), t.Pool, id)
	if errors.Is(err, media.ErrNotFound) {
		return &web.Error{Status: http.StatusNotFound, Message: "There is no such image in the media library (it may have been deleted)."}
	}
	if err != nil {
		return err
	}
	uses, err := media.Usage(r.Context(), t.Pool, id)
	if err != nil {
		return err
	}
	p := mediaShowPage{page: h.page(r, m.Name), Media: m, Uses: uses, Name: m.Name, AltText: m.AltText, Errors: errs,
		Sizes: media.Sizes, InUse: status == http.StatusConflict}
	if form != nil {
		p.Name, p.AltText = form.Name, form.AltText
	}
	return h.templates.Render(w, status, "admin_media_show", p)
}
