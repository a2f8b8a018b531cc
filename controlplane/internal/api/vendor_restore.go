package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/web"
)

// restoreRequest is the body of a restore.
type restoreRequest struct {
	// BackupID is the backup to restore; 0 or absent: the newest completed.
	BackupID int64 `json:"backup_id"`
	// As restores into a new vendor with this slug instead.
	As string `json:"as"`
	// Confirm must repeat the vendor's slug.
	Confirm string `json:"confirm"`
}

// POST /api/v1/vendors/{slug}/restore {backup_id, as, confirm}
//
// 202 with the operation that restores the backup in the background; 422
// without the confirmation or with a bad "as"; 404 for an unknown backup;
// 409 for a backup of another vendor, one that cannot be used, or another
// operation on the vendor.
func (h *Handler) vendorRestore(w http.ResponseWriter, r *http.Request) error {
	var req restoreRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	slug := mux.Vars(r)["slug"]
	if strings.TrimSpace(req.Confirm) != slug {
		return web.FieldError("confirm", "confirm must repeat the vendor's slug ("+slug+") to restore it")
	}
	if req.BackupID < 0 {
		return web.FieldError("backup_id", "backup_id must be a backup's id")
	}
	v, err := h.store.VendorBySlug(r.Context(), slug)
	if err != nil {
		return err
	}
	op, err := h.backups.StartRestore(r.Context(), actor(r), v, backup.RestoreOptions{BackupID: req.BackupID, As: req.As})
	if err != nil {
		return err
	}
	accepted(w, op)
	return nil
}
