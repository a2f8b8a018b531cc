package backoffice

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// apiMedia is an image of the media library. URLs are served by the shop
// (relative to its address, like the servers entry of the OpenAPI
// document): url is the original, sizes the smaller ones by their longest
// side (served as the original until they are made).
type apiMedia struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	AltText     string            `json:"alt_text"`
	ContentType string            `json:"content_type"`
	SizeBytes   int64             `json:"size_bytes"`
	Width       int               `json:"width"`
	Height      int               `json:"height"`
	SHA256      string            `json:"sha256"`
	Thumbnails  string            `json:"thumbnails"`
	URL         string            `json:"url"`
	Sizes       map[string]string `json:"sizes"`
	CreatedAt   time.Time         `json:"created_at"`
}

// apiMediaUse is a place where an image is used.
type apiMediaUse struct {
	Kind      string `json:"kind"`       // product or logo
	ProductID *int64 `json:"product_id"` // for a product
	Label     string `json:"label"`
}

// apiMediaDetail is an image with the places it is used.
type apiMediaDetail struct {
	apiMedia
	UsedBy []apiMediaUse `json:"used_by"`
}

func mediaJSON(base string, m *media.Media) apiMedia {
	out := apiMedia{ID: m.ID, Name: m.Name, AltText: m.AltText, ContentType: m.ContentType, SizeBytes: m.Size,
		Width: m.Width, Height: m.Height, SHA256: hex.EncodeToString(m.SHA256), Thumbnails: m.ThumbsState,
		URL: media.URL(base, m.ID, "original"), Sizes: map[string]string{}, CreatedAt: m.CreatedAt.UTC()}
	for _, size := range media.Sizes {
		out.Sizes[strconv.Itoa(size)] = media.URL(base, m.ID, strconv.Itoa(size))
	}
	return out
}

func usesJSON(uses []media.Use) []apiMediaUse {
	out := make([]apiMediaUse, len(uses))
	for i, u := range uses {
		out[i] = apiMediaUse{Kind: u.Kind, Label: u.Label}
		if u.Kind == "product" && u.ID != 0 {
			id := u.ID
			out[i].ProductID = &id
		}
	}
	return out
}

var errNoMedia = &web.Error{Status: http.StatusNotFound, Message: "There is no such image in the media library (it may have been deleted)."}

// mediaID reads the {id} of a media route.
func mediaID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return 0, errNoMedia
	}
	return id, nil
}

// GET /api/v1/vendor/media: the library, newest first; ?before=<id>
// pages back, ?q= searches names and alternative texts.
func (h *Handler) apiMediaList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	o := media.ListOptions{Query: q.Get("q"), Limit: 50}
	errs := catalog.FieldErrors{}
	if s := q.Get("before"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 1 {
			errs["before"] = "Use the id of an image (next_before of the previous page)."
		}
		o.Before = v
	}
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 200 {
			errs["limit"] = "Use a number from 1 to 200."
		}
		o.Limit = v
	}
	if len(q.Get("q")) > 200 {
		errs["q"] = "Use at most 200 characters."
	}
	if len(errs) > 0 {
		return apiFieldErrors(errs)
	}
	t := tenant.FromContext(r.Context())
	items, next, err := media.List(r.Context(), t.Pool, o)
	if err != nil {
		return err
	}
	out := make([]apiMedia, len(items))
	for i, m := range items {
		out[i] = mediaJSON(t.Base, m)
	}
	var nextBefore *int64
	if next != 0 {
		nextBefore = &next
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"media": out, "next_before": nextBefore})
	return nil
}

// writeMedia answers with an image and the places it is used.
func writeMedia(w http.ResponseWriter, r *http.Request, status int, id int64) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	m, err := media.Get(ctx, t.Pool, id)
	if errors.Is(err, media.ErrNotFound) {
		return errNoMedia
	}
	if err != nil {
		return err
	}
	uses, err := media.Usage(ctx, t.Pool, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, status, apiMediaDetail{apiMedia: mediaJSON(t.Base, m), UsedBy: usesJSON(uses)})
	return nil
}

// GET /api/v1/vendor/media/{id}: an image and where it is used.
func (h *Handler) apiMediaGet(w http.ResponseWriter, r *http.Request) error {
	id, err := mediaID(r)
	if err != nil {
		return err
	}
	return writeMedia(w, r, http.StatusOK, id)
}

// POST /api/v1/vendor/media: upload an image (multipart/form-data, field
// "file"), with the back office's checks (readUpload, then
// media.Service.Upload).
func (h *Handler) apiMediaUpload(w http.ResponseWriter, r *http.Request) error {
	svc, err := mediaLibrary(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	name, data, err := readUpload(r)
	if err != nil {
		return err
	}
	m, err := svc.Upload(ctx, t, name, data, apiActor(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("%s/api/v1/vendor/media/%d", t.Base, m.ID))
	return writeMedia(w, r, http.StatusCreated, m.ID)
}

// PATCH /api/v1/vendor/media/{id}: change an image's alternative text
// (alt_text; null clears it) and display name (name).
func (h *Handler) apiMediaUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := mediaID(r)
	if err != nil {
		return err
	}
	var in struct {
		Name    jsonOptional[string] `json:"name"`
		AltText jsonOptional[string] `json:"alt_text"`
	}
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := media.Get(ctx, t.Pool, id)
	if errors.Is(err, media.ErrNotFound) {
		return errNoMedia
	}
	if err != nil {
		return err
	}
	d := media.Details{Name: m.Name, AltText: m.AltText}
	errs := catalog.FieldErrors{}
	if in.Name.Set {
		if in.Name.Value == nil {
			errs["name"] = "This property cannot be null."
		} else {
			d.Name = *in.Name.Value
		}
	}
	if in.AltText.Set {
		d.AltText = ""
		if in.AltText.Value != nil {
			d.AltText = *in.AltText.Value
		}
	}
	for k, v := range d.Validate() {
		errs[k] = v
	}
	if len(errs) > 0 {
		return apiFieldErrors(errs)
	}
	err = media.UpdateDetails(ctx, t.Pool, id, d, apiActor(r))
	if errors.Is(err, media.ErrNotFound) {
		return errNoMedia
	}
	if err != nil {
		return err
	}
	return writeMedia(w, r, http.StatusOK, id)
}

// DELETE /api/v1/vendor/media/{id}: delete an image nothing uses; one in
// use is a 409 whose used_by lists the products (and the logo) using it.
func (h *Handler) apiMediaDelete(w http.ResponseWriter, r *http.Request) error {
	svc, err := mediaLibrary(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	id, err := mediaID(r)
	if err != nil {
		return err
	}
	err = svc.Delete(ctx, tenant.FromContext(ctx), id, apiActor(r))
	var inUse *media.InUseError
	switch {
	case errors.As(err, &inUse):
		return &web.Error{Status: http.StatusConflict,
			Message: "The image cannot be deleted: " + inUse.Error() + ". Remove it from those first.",
			Extra:   map[string]any{"used_by": usesJSON(inUse.Uses)}}
	case errors.Is(err, media.ErrNotFound):
		return errNoMedia
	case err != nil:
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
