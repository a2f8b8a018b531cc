package console

import (
	"errors"
	"net/http"

	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/admins/invites/{id}/revoke
func (h *Handler) adminInviteRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "invitation")
	if err != nil {
		return err
	}
	err = h.admins.RevokeInvite(r.Context(), actor(r), id)
	switch {
	case errors.Is(err, platform.ErrNotFound):
		h.flashError(r.Context(), "That invitation was accepted or withdrawn already.")
	case err != nil:
		return err
	default:
		h.flashOK(r.Context(), "The invitation is withdrawn; its link no longer works.")
	}
	return redirect(w, r, "/admin/admins")
}
