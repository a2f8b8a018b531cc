package console

import (
	"net/http"
)

// POST /admin/vendors/{slug}/backups
//
// Backs the vendor up in the background; its page follows the backup and
// shows the outcome when it ends.
func (h *Handler) backupCreate(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	op, err := h.backups.StartBackup(r.Context(), actor(r), v)
	return h.afterStart(w, r, v, op, err)
}
