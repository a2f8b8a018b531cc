package api

import (
	"errors"
	"net/http"

	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/web"
)

// POST /api/v1/vendors {slug, name, owner_email}
//
// 201 with the active vendor; 422 naming the field at fault; 409 if the
// slug is taken; 202 if the vendor was recorded but a provisioning step
// failed (its last_error says which; reconcile finishes it).
func (h *Handler) vendorCreate(w http.ResponseWriter, r *http.Request) error {
	var req provision.CreateRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	v, err := h.prov.CreateVendor(r.Context(), actor(r), req)
	var ve *provision.ValidationError
	if err != nil && !errors.As(err, &ve) && !errors.Is(err, provision.ErrSlugTaken) {
		if existing, ferr := h.store.VendorBySlug(r.Context(), req.Slug); ferr == nil && existing.State.Provisioning() {
			h.log.Error("vendor provisioning stopped", "vendor", req.Slug, "request_id", web.RequestID(r.Context()), "err", err)
			web.WriteJSON(w, http.StatusAccepted, h.vendorJSON(existing))
			return nil
		}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/vendors/"+v.Slug)
	web.WriteJSON(w, http.StatusCreated, h.vendorJSON(v))
	return nil
}
