package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// GET /api/v1/vendors/{slug}: the vendor with its lifecycle history.
func (h *Handler) vendorShow(w http.ResponseWriter, r *http.Request) error {
	v, err := h.store.VendorBySlug(r.Context(), mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	events, err := h.store.VendorEvents(r.Context(), v.ID, 100)
	if err != nil {
		return err
	}
	out := h.vendorJSON(v)
	out.Events = events
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
