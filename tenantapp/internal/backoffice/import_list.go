package backoffice

import (
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// importListPage is the imports page: the forms and the history.
type importListPage struct {
	page
	Imports   []*importView
	NextURL   string
	Languages []struct{ Code, Name string }
	Form      importForm
	Errors    map[string]string
	MaxUpload string
	Running   bool // an import is open: the page refreshes itself
}

type importForm struct {
	URL, Language string
}

// importView is an import as the pages show it.
type importView struct {
	*marketplace.Import
	URL        string
	StateClass string
	Percent    int // of the file read, when known; -1 otherwise
	When       string
	Took       string
}

func (h *Handler) viewImport(t *tenant.Tenant, i *marketplace.Import) *importView {
	v := &importView{Import: i, URL: fmt.Sprintf("%s/admin/imports/%d", t.Base, i.ID), Percent: -1,
		When: i.CreatedAt.Format("2 Jan 2006 15:04")}
	switch i.State {
	case marketplace.StateFinished:
		v.StateClass = "ok"
	case marketplace.StateFailed:
		v.StateClass = "bad"
	case marketplace.StateCancelled:
		v.StateClass = "muted"
	default:
		v.StateClass = "info"
	}
	if i.StartedAt != nil && i.FinishedAt != nil {
		v.Took = i.FinishedAt.Sub(*i.StartedAt).Round(100 * time.Millisecond).String()
	}
	return v
}

// GET /admin/imports: upload a feed or give its link; the imports so far.
func (h *Handler) importList(w http.ResponseWriter, r *http.Request) error {
	return h.renderImportList(w, r, http.StatusOK, importForm{}, nil)
}

func (h *Handler) renderImportList(w http.ResponseWriter, r *http.Request, status int, form importForm, errs map[string]string) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	const perPage = 25
	list, err := marketplace.ListImports(ctx, t.Pool, before, perPage+1)
	if err != nil {
		return err
	}
	p := importListPage{page: h.page(r, "Imports"), Languages: marketplace.Languages, Form: form, Errors: errs,
		MaxUpload: media.HumanBytes(marketplace.MaxUploadBytes)}
	if len(list) > perPage {
		list = list[:perPage]
		p.NextURL = t.Base + "/admin/imports?" + url.Values{"before": {strconv.FormatInt(list[perPage-1].ID, 10)}}.Encode()
	}
	for _, i := range list {
		p.Imports = append(p.Imports, h.viewImport(t, i))
		p.Running = p.Running || i.Open()
	}
	wakeStalled(ctx, h, t, marketplace.WorkImports, list...)
	return h.templates.Render(w, status, "admin_imports", p)
}

// POST /admin/imports: a feed file (multipart field "file") or a link
// ("url"), with the feed's language ("language", empty for the shop's).
func (h *Handler) importCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	form := importForm{URL: r.PostFormValue("url"), Language: r.PostFormValue("language")}
	req := marketplace.NewImport{SourceURL: form.URL, Language: form.Language, Size: -1}
	if r.MultipartForm != nil {
		if files := r.MultipartForm.File["file"]; len(files) > 0 && files[0].Size > 0 {
			f, err := files[0].Open()
			if err != nil {
				return fmt.Errorf("read the uploaded feed: %w", err)
			}
			defer f.Close()
			req.Body, req.Size, req.FileName, req.SourceURL = f, files[0].Size, feedFileName(files[0]), ""
		}
	}
	imp, err := h.createImport(r, t, req, actor(r, Current(ctx)))
	var fe *marketplace.FieldError
	if errors.As(err, &fe) {
		return h.renderImportList(w, r, http.StatusUnprocessableEntity, form, map[string]string{fe.Field: fe.Message})
	}
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, "The import is queued. This page shows its progress.")
	http.Redirect(w, r, fmt.Sprintf("%s/admin/imports/%d", t.Base, imp.ID), http.StatusSeeOther)
	return nil
}

// createImport stores and queues an import and asks for it to be run,
// for the page and the API alike.
func (h *Handler) createImport(r *http.Request, t *tenant.Tenant, req marketplace.NewImport, audit staff.Entry) (*marketplace.Import, error) {
	ctx := r.Context()
	objects, err := h.vendorObjects(r, t)
	if err != nil && req.Body != nil {
		return nil, err
	}
	imp, err := marketplace.CreateImport(ctx, t.Pool, objects, t.Entry.Bucket, req, audit)
	if err != nil {
		return nil, err
	}
	h.requestWork(ctx, t, marketplace.WorkImports)
	return imp, nil
}

// feedFileName is the uploaded file's name as the client sent it.
func feedFileName(fh *multipart.FileHeader) string { return rawFileName(fh) }

// vendorObjects is a client of the vendor's bucket, from the media
// library's clients (one per bucket, limited to it).
func (h *Handler) vendorObjects(r *http.Request, t *tenant.Tenant) (*minio.Client, error) {
	svc := media.FromContext(r.Context())
	if svc == nil {
		return nil, &web.Error{Status: http.StatusServiceUnavailable,
			Message: "Feed uploads are not available on this server (no file storage is configured). Give a link to the feed instead."}
	}
	c, err := svc.Bucket(t.Entry.Bucket)
	if err != nil {
		return nil, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 30,
			Message: "The shop's file storage cannot be reached. Please try again in a moment.", Err: err}
	}
	return c, nil
}
