package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// GET /api/v1/flags
func (h *Handler) flagList(w http.ResponseWriter, r *http.Request) error {
	flags, err := h.store.Flags(r.Context())
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"flags": flags})
	return nil
}

// GET /api/v1/flags/{name}
func (h *Handler) flagShow(w http.ResponseWriter, r *http.Request) error {
	f, err := h.store.Flag(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, f)
	return nil
}
