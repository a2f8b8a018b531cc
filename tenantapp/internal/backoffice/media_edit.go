package backoffice

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// POST /admin/media/{id}: change an image's name and alternative text.
func (h *Handler) mediaUpdate(w http.ResponseWriter, r *http.Request) error {
	if _, err := mediaLibrary(r); err != nil {
		return err
	}
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	d := media.Details{Name: r.PostFormValue("name"), AltText: r.PostFormValue("alt_text")}
	if errs := d.Validate(); len(errs) > 0 {
		return h.renderMediaShow(w, r, http.StatusUnprocessableEntity, &d, errs)
	}
	err := media.UpdateDetails(ctx, t.Pool, id, d, actor(r, Current(ctx)))
	if errors.Is(err, media.ErrNotFound) {
		return &web.Error{Status: http.StatusNotFound, Message: "There is no such image in the media library (it may have been deleted)."}
	}
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, "Saved.")
	http.Redirect(w, r, t.Base+"/admin/media/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// POST /admin/media/{id}/delete: delete an image that nothing uses; an
// image in use gets its page back (409) with the list of what uses it.
func (h *Handler) mediaDelete(w http.ResponseWriter, r *http.Request) error {
	svc, err := mediaLibrary(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	err = svc.Delete(ctx, t, id, actor(r, Current(ctx)))
	var inUse *media.InUseError
	switch {
	case errors.As(err, &inUse):
		return h.renderMediaShow(w, r, http.StatusConflict, nil, nil)
	case errors.Is(err, media.ErrNotFound):
		return &web.Error{Status: http.StatusNotFound, Message: "There is no such image in the media library (it may have been deleted already)."}
	case err != nil:
		return err
	}
	h.sessions.Put(ctx, keyFlash, "The image was deleted.")
	http.Redirect(w, r, t.Base+"/admin/media", http.StatusSeeOther)
	return nil
}
