package backoffice

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Request body limits: an upload's form, and every other form.
const (
	maxUploadBody = media.MaxBytes + 1<<20
	maxFormBody   = 4 << 20
)

// limitBody bounds request bodies before anything reads them: uploads to
// the largest image plus room for the form, other forms to 4 MiB. A body
// that says it is larger is refused at once with a 413 that says why. A
// form read already (by the CSRF check) is left alone: the handler checks
// the file's size itself.
func (h *Handler) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.MultipartForm != nil || r.PostForm != nil || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		limit := int64(maxFormBody)
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
			limit = maxUploadBody
			if isFeedUpload(r) && h.mayUploadFeed(r) {
				limit = maxFeedBody
			}
		}
		if r.ContentLength > limit {
			w.Header().Set("Connection", "close")
			msg := fmt.Sprintf("The upload is %s; the most is %s per image (forms: %s). Make the file smaller and try again.",
				media.HumanBytes(r.ContentLength), media.HumanBytes(media.MaxBytes), media.HumanBytes(maxFormBody))
			if limit == maxFeedBody {
				msg = fmt.Sprintf("The feed is %s; the most that can be uploaded is %s. Give a link to the file instead.",
					media.HumanBytes(r.ContentLength), media.HumanBytes(marketplace.MaxUploadBytes))
			}
			h.rs.Error(w, r, &web.Error{Status: http.StatusRequestEntityTooLarge, Message: msg})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// rawFileName is the file name as the client sent it. (FileHeader.Filename
// has been through filepath.Base, which hides a name that climbs out of
// its folder; media.Check refuses those.)
func rawFileName(fh *multipart.FileHeader) string {
	if _, params, err := mime.ParseMediaType(fh.Header.Get("Content-Disposition")); err == nil {
		if name, ok := params["filename"]; ok {
			return name
		}
	}
	return fh.Filename
}

// readUpload reads the image of an upload (multipart/form-data, field
// "file") within media.MaxBytes, for the back office's upload form and
// the API alike. A request that brings no usable file is a *web.Error
// with Field "file"; the image itself is checked by media.Service.Upload.
func readUpload(r *http.Request) (name string, data []byte, err error) {
	if r.MultipartForm == nil {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return "", nil, &web.Error{Status: http.StatusRequestEntityTooLarge, Field: "file",
					Message: "The file is larger than " + media.HumanBytes(media.MaxBytes) + ". Make it smaller and upload it again."}
			}
			return "", nil, &web.Error{Status: http.StatusBadRequest, Field: "file",
				Message: "Send the image as a file upload (multipart/form-data) in the field \"file\"."}
		}
	}
	files := r.MultipartForm.File["file"]
	if len(files) == 0 {
		return "", nil, &web.Error{Status: http.StatusUnprocessableEntity, Field: "file", Message: "Choose an image to upload."}
	}
	fh := files[0]
	if fh.Size > media.MaxBytes {
		return "", nil, &web.Error{Status: http.StatusRequestEntityTooLarge, Field: "file", Message: fmt.Sprintf(
			"The file is %s; the most is %s. Make it smaller and upload it again.", media.HumanBytes(fh.Size), media.HumanBytes(media.MaxBytes))}
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, fmt.Errorf("open uploaded file: %w", err)
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, media.MaxBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("read uploaded file: %w", err)
	}
	return rawFileName(fh), data, nil
}

// POST /admin/media: upload one image (multipart, field "file"). A file
// that fails a check gets the list page back with the reason next to the
// file field, and nothing is stored.
func (h *Handler) mediaUpload(w http.ResponseWriter, r *http.Request) error {
	svc, err := mediaLibrary(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	name, data, err := readUpload(r)
	var m *media.Media
	if err == nil {
		m, err = svc.Upload(ctx, t, name, data, actor(r, Current(ctx)))
	}
	var we *web.Error
	if errors.As(err, &we) && we.Field == "file" {
		return h.renderMediaList(w, r, we.Status, map[string]string{"file": we.Message})
	}
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("Uploaded %s (%d × %d). Its smaller sizes are being made.", m.Name, m.Width, m.Height))
	http.Redirect(w, r, fmt.Sprintf("%s/admin/media/%d", t.Base, m.ID), http.StatusSeeOther)
	return nil
}
