package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/storefleet/storefleet/internal/provision"
)

// POST /admin/vendors/{slug}/move
//
// Moves the vendor's database to another server in the background: the
// vendor is read-only while its database is copied, then routing flips to
// the copy. The slug must be typed to confirm.
func (h *Handler) vendorMove(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	form := vendorAction{MoveTo: strings.TrimSpace(r.PostForm.Get("to")), MoveConfirm: strings.TrimSpace(r.PostForm.Get("confirm"))}
	if form.MoveConfirm != v.Slug {
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
			map[string]string{"move_confirm": "Type the vendor's slug, " + v.Slug + ", to confirm the move."}, form)
	}
	op, err := h.backups.StartMove(r.Context(), actor(r), v, form.MoveTo)
	var ve *provision.ValidationError
	if errors.As(err, &ve) {
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
			map[string]string{"move_" + ve.Field: "The target server " + ve.Message + "."}, form)
	}
	return h.afterStart(w, r, v, op, err)
}
