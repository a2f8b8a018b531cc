package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
)

// POST /admin/vendors/{slug}/restore
//
// Restores one of the vendor's backups in the background, into a new
// database that replaces the live one once it checks out (the live one is
// never written to), or into a new vendor named in "as". The slug must be
// typed to confirm.
func (h *Handler) vendorRestore(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	form := vendorAction{
		RestoreConfirm: strings.TrimSpace(r.PostForm.Get("confirm")),
		RestoreAs:      strings.TrimSpace(r.PostForm.Get("as")),
	}
	if s := r.PostForm.Get("backup_id"); s != "" {
		if form.RestoreBackup, err = strconv.ParseInt(s, 10, 64); err != nil || form.RestoreBackup < 1 {
			return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
				map[string]string{"backup_id": "Choose one of the backups listed."}, form)
		}
	}
	if form.RestoreConfirm != v.Slug {
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
			map[string]string{"restore_confirm": "Type the vendor's slug, " + v.Slug + ", to confirm the restore."}, form)
	}
	op, err := h.backups.StartRestore(ctx, actor(r), v, backup.RestoreOptions{BackupID: form.RestoreBackup, As: form.RestoreAs})
	var ve *provision.ValidationError
	switch {
	case errors.As(err, &ve):
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
			map[string]string{"restore_" + ve.Field: "The new vendor's slug " + ve.Message + "."}, form)
	case errors.Is(err, platform.ErrNotFound) && form.RestoreBackup == 0:
		h.flashError(ctx, "%s has no completed backup to restore yet; back it up first.", v.Slug)
		return redirect(w, r, vendorPageURL(v))
	case errors.Is(err, platform.ErrNotFound):
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
			map[string]string{"backup_id": httperr.Sentence(err.Error()) + ". Choose one of the backups listed."}, form)
	}
	return h.afterStart(w, r, v, op, err)
}
