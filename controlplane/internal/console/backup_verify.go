package console

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/backups/{id}/verify
//
// Verifies a backup in the background (a restore into a scratch database,
// checked against the manifest); the vendor's page follows it.
func (h *Handler) backupVerify(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return fmt.Errorf("backup id: %w", platform.ErrNotFound)
	}
	b, err := h.backups.Get(r.Context(), id)
	if err != nil {
		return err
	}
	v, err := h.store.VendorByID(r.Context(), b.VendorID)
	if err != nil {
		return err
	}
	op, err := h.backups.StartVerify(r.Context(), actor(r), b.ID)
	return h.afterStart(w, r, v, op, err)
}
