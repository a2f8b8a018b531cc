package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/platform"
)

// POST /api/v1/backups/{id}/verify
//
// 202 with the operation that restores the backup into a scratch database
// and checks it against its manifest, in the background; 404 for an
// unknown backup, 409 for one that did not complete or another operation
// on its vendor.
func (h *Handler) backupVerify(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return fmt.Errorf("backup id: %w", platform.ErrNotFound)
	}
	op, err := h.backups.StartVerify(r.Context(), actor(r), id)
	if err != nil {
		return err
	}
	accepted(w, op)
	return nil
}
