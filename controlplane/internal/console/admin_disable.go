package console

import "net/http"

// POST /admin/admins/{id}/disable
//
// A disabled admin's sessions end at once and their API tokens stop
// working; nothing of theirs is deleted.
func (h *Handler) adminDisable(w http.ResponseWriter, r *http.Request) error {
	return h.setDisabled(w, r, true)
}

// POST /admin/admins/{id}/enable
func (h *Handler) adminEnable(w http.ResponseWriter, r *http.Request) error {
	return h.setDisabled(w, r, false)
}

func (h *Handler) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) error {
	id, err := pathID(r, "admin")
	if err != nil {
		return err
	}
	a, err := h.admins.SetDisabled(r.Context(), actor(r), id, disabled)
	if err := h.adminChangeError(r, err); err != nil {
		return err
	}
	switch {
	case a == nil:
	case disabled:
		h.flashOK(r.Context(), "%s is disabled: their sessions ended and their API tokens no longer work.", a.Email)
	default:
		h.flashOK(r.Context(), "%s can sign in again.", a.Email)
	}
	return redirect(w, r, "/admin/admins")
}
