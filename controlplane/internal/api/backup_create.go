package api

import (
	"net/http"

	"github.com/gorilla/mux"
)

// POST /api/v1/vendors/{slug}/backups
//
// 202 with the operation that backs the vendor up in the background and a
// Location to poll; 409 if the vendor's state forbids it or another
// operation on it is running.
func (h *Handler) backupCreate(w http.ResponseWriter, r *http.Request) error {
	v, err := h.store.VendorBySlug(r.Context(), mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	op, err := h.backups.StartBackup(r.Context(), actor(r), v)
	if err != nil {
		return err
	}
	accepted(w, op)
	return nil
}
