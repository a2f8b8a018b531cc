package backoffice

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// The vendor API's marketplace imports: upload a feed or give its link,
// follow the import, read its rejected rows, cancel it. The staging area
// and publishes are in api_marketplace_publish.go.

// apiMarketplaceRoutes registers the imports, staging and publishes
// endpoints on the API's authenticated subrouter, behind the same schema
// guard as the pages.
func (h *Handler) apiMarketplaceRoutes(authed *mux.Router) {
	get, post := http.MethodGet, http.MethodPost
	mp := authed.NewRoute().Subrouter()
	mp.Use(h.needMarketplace)
	mp.Handle("/imports", h.can("catalog.read", h.apiImportList)).Methods(get)
	mp.Handle("/imports", h.can("catalog.write", h.apiImportCreate)).Methods(post)
	mp.Handle("/imports/{id:[0-9]+}", h.can("catalog.read", h.apiImportGet)).Methods(get)
	mp.Handle("/imports/{id:[0-9]+}/rejections", h.can("catalog.read", h.apiImportRejections)).Methods(get)
	mp.Handle("/imports/{id:[0-9]+}/cancel", h.can("catalog.write", h.apiImportCancel)).Methods(post)
	mp.Handle("/staging", h.can("catalog.read", h.apiStagingList)).Methods(get)
	mp.Handle("/staging/{id:[0-9]+}", h.can("catalog.read", h.apiStagedGet)).Methods(get)
	mp.Handle("/publishes/preview", h.can("catalog.write", h.apiPublishPreview)).Methods(post)
	mp.Handle("/publishes", h.can("catalog.read", h.apiPublishList)).Methods(get)
	mp.Handle("/publishes", h.can("catalog.write", h.apiPublishCreate)).Methods(post)
	mp.Handle("/publishes/{id:[0-9]+}", h.can("catalog.read", h.apiPublishGet)).Methods(get)
	mp.Handle("/publishes/{id:[0-9]+}/items", h.can("catalog.read", h.apiPublishItems)).Methods(get)
	mp.Handle("/publishes/{id:[0-9]+}/undo", h.can("catalog.write", h.apiPublishUndo)).Methods(post)
}

// apiImport reads the import named in the path (404 if there is none).
func apiImport(r *http.Request) (*marketplace.Import, error) {
	return loadImport(r, tenant.FromContext(r.Context()))
}

// apiPaging reads a keyset page's parameters: name (an id or line to go
// on after, 0 if absent) and limit (1 to maxLimit, def if absent).
func apiPaging(q url.Values, name string, def, maxLimit int, errs catalog.FieldErrors) (int64, int) {
	var after int64
	if s := q.Get(name); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			errs[name] = "Use a whole number of 0 or more (from next_" + name + " of the previous page)."
		}
		after = v
	}
	limit := def
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxLimit {
			errs["limit"] = fmt.Sprintf("Use a number from 1 to %d.", maxLimit)
		}
		limit = v
	}
	return after, limit
}

// GET /api/v1/vendor/imports: the imports, newest first; ?before=<id>
// pages back.
func (h *Handler) apiImportList(w http.ResponseWriter, r *http.Request) error {
	return apiQueuedList(h, w, r, marketplace.WorkImports, "imports", marketplace.ListImports,
		func(i *marketplace.Import) int64 { return i.ID })
}

// apiQueuedList answers a page of a shop's imports or publishes (kind),
// newest first, under key with the id to ask for the next page from
// (?before=<id>), and asks the job system again for any that lost their
// worker.
func apiQueuedList[T stallable](h *Handler, w http.ResponseWriter, r *http.Request, kind, key string,
	list func(ctx context.Context, db *pgxpool.Pool, before int64, limit int) ([]T, error), id func(T) int64) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	errs := catalog.FieldErrors{}
	before, limit := apiPaging(r.URL.Query(), "before", 25, 100, errs)
	if len(errs) > 0 {
		return apiFieldErrors(errs)
	}
	items, err := list(ctx, t.Pool, before, limit+1)
	if err != nil {
		return err
	}
	var next *int64
	if len(items) > limit {
		items = items[:limit]
		last := id(items[limit-1])
		next = &last
	}
	wakeStalled(ctx, h, t, kind, items...)
	if items == nil {
		items = []T{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{key: items, "next_before": next})
	return nil
}

// POST /api/v1/vendor/imports: a feed file as multipart/form-data (field
// "file", and "language"), or a link as JSON {"url", "language"}. The
// import is queued (202) and runs in the background: follow it at the
// Location.
func (h *Handler) apiImportCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	req := marketplace.NewImport{Size: -1}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return &web.Error{Status: http.StatusRequestEntityTooLarge, Field: "file", Message: fmt.Sprintf(
					"The feed is larger than %s. Give a link to it instead (JSON {\"url\": ...}).", media.HumanBytes(marketplace.MaxUploadBytes))}
			}
			return &web.Error{Status: http.StatusBadRequest, Field: "file",
				Message: "Send the feed as multipart/form-data with the file in the field \"file\", or a link as JSON {\"url\": ...}."}
		}
		form := r.MultipartForm
		first := func(name string) string {
			if vs := form.Value[name]; len(vs) > 0 {
				return vs[0]
			}
			return ""
		}
		req.Language, req.SourceURL = first("language"), first("url")
		if files := form.File["file"]; len(files) > 0 && files[0].Size > 0 {
			f, err := files[0].Open()
			if err != nil {
				return fmt.Errorf("read the uploaded feed: %w", err)
			}
			defer f.Close()
			req.Body, req.Size, req.FileName, req.SourceURL = f, files[0].Size, feedFileName(files[0]), ""
		}
	case "", "application/json":
		var in struct {
			URL      string `json:"url"`
			Language string `json:"language"`
		}
		if err := web.DecodeJSON(w, r, &in); err != nil {
			return err
		}
		req.SourceURL, req.Language = in.URL, in.Language
	default:
		return &web.Error{Status: http.StatusUnsupportedMediaType,
			Message: "Send a feed file as multipart/form-data (field \"file\"), or a link as application/json {\"url\": ...}."}
	}
	imp, err := h.createImport(r, t, req, apiActor(r))
	var fe *marketplace.FieldError
	if errors.As(err, &fe) {
		return apiFieldErrors(catalog.FieldErrors{fe.Field: fe.Message})
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("%s/api/v1/vendor/imports/%d", t.Base, imp.ID))
	web.WriteJSON(w, http.StatusAccepted, imp)
	return nil
}

// GET /api/v1/vendor/imports/{id}: an import's state and counters.
func (h *Handler) apiImportGet(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	imp, err := apiImport(r)
	if err != nil {
		return err
	}
	wakeStalled(ctx, h, tenant.FromContext(ctx), marketplace.WorkImports, imp)
	web.WriteJSON(w, http.StatusOK, imp)
	return nil
}

// GET /api/v1/vendor/imports/{id}/rejections: the rejected rows in line
// order; ?after=<line> goes on from next_after.
func (h *Handler) apiImportRejections(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	imp, err := apiImport(r)
	if err != nil {
		return err
	}
	errs := catalog.FieldErrors{}
	after, limit := apiPaging(r.URL.Query(), "after", 100, 1000, errs)
	if len(errs) > 0 {
		return apiFieldErrors(errs)
	}
	rows, err := marketplace.Rejections(ctx, t.Pool, imp.ID, after, limit+1)
	if err != nil {
		return err
	}
	var next *int64
	if len(rows) > limit {
		rows = rows[:limit]
		next = &rows[limit-1].Line
	}
	if rows == nil {
		rows = []marketplace.Rejection{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"rejections": rows, "next_after": next})
	return nil
}

// POST /api/v1/vendor/imports/{id}/cancel: stop a queued import at once, a
// running one after the batch it is loading; 409 if it has ended.
func (h *Handler) apiImportCancel(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	imp, err := apiImport(r)
	if err != nil {
		return err
	}
	imp, err = marketplace.CancelImport(ctx, t.Pool, imp.ID, apiActor(r))
	switch {
	case errors.Is(err, marketplace.ErrNotCancellable):
		return &web.Error{Status: http.StatusConflict, Message: "The import has ended already; there is nothing to cancel."}
	case errors.Is(err, marketplace.ErrNotFound):
		return &web.Error{Status: http.StatusNotFound, Message: "There is no such import in this shop."}
	case err != nil:
		return err
	}
	web.WriteJSON(w, http.StatusOK, imp)
	return nil
}
