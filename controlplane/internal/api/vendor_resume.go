package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// POST /api/v1/vendors/{slug}/resume
func (h *Handler) vendorResume(w http.ResponseWriter, r *http.Request) error {
	v, err := h.prov.Resume(r.Context(), actor(r), mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, h.vendorJSON(v))
	return nil
}
