package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/internal/provision"
)

// POST /admin/vendors
func (h *Handler) vendorCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	req := provision.CreateRequest{
		Slug:       r.PostForm.Get("slug"),
		Name:       r.PostForm.Get("name"),
		OwnerEmail: r.PostForm.Get("owner_email"),
	}
	v, err := h.prov.CreateVendor(ctx, actor(r), req)
	var ve *provision.ValidationError
	switch {
	case errors.As(err, &ve):
		return h.vendorFormAgain(w, r, http.StatusUnprocessableEntity, req, ve.Field, httperr.Sentence(ve.Message))
	case errors.Is(err, provision.ErrSlugTaken):
		return h.vendorFormAgain(w, r, http.StatusConflict, req, "slug", httperr.Sentence(err.Error()))
	case err != nil:
		// The request may have been recorded with a later step failing:
		// then the vendor exists, and its page says what went wrong.
		if existing, ferr := h.store.VendorBySlug(ctx, req.Slug); ferr == nil && existing.State.Provisioning() {
			h.log.Error("vendor provisioning stopped", "vendor", req.Slug, "request_id", actor(r).RequestID, "err", err)
			h.flashError(ctx, "Vendor %s was recorded, but provisioning stopped: %v. Reconcile will finish it, or try again later.", req.Slug, err)
			return redirect(w, r, "/admin/vendors/"+url.PathEscape(req.Slug))
		}
		return err
	}
	h.flashOK(ctx, "Vendor %s is live at %s.", v.Slug, v.Host)
	return redirect(w, r, "/admin/vendors/"+url.PathEscape(v.Slug))
}

// vendorFormAgain shows the form again with what was typed and the error
// next to its field.
func (h *Handler) vendorFormAgain(w http.ResponseWriter, r *http.Request, status int, req provision.CreateRequest, field, msg string) error {
	switch field {
	case "slug", "name", "owner_email":
	default:
		field = "" // shown above the form
	}
	return h.render(w, r, status, "vendor_new", map[string]any{
		"Title": "New vendor", "Nav": "vendors",
		"Form":   vendorForm{Slug: req.Slug, Name: req.Name, OwnerEmail: req.OwnerEmail},
		"Errors": map[string]string{field: msg},
	})
}
