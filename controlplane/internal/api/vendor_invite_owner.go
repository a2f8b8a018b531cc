package api

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/web"
)

// inviteOwnerRequest is the body of an owner invitation; both fields are
// optional.
type inviteOwnerRequest struct {
	Email string `json:"email"`
}

// POST /api/v1/vendors/{slug}/owner-invitation {email}
func (h *Handler) vendorInviteOwner(w http.ResponseWriter, r *http.Request) error {
	var req inviteOwnerRequest
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	inv, err := h.prov.InviteOwner(r.Context(), actor(r), mux.Vars(r)["slug"], req.Email)
	if err != nil && !errors.Is(err, provision.ErrMailNotConfigured) {
		return err
	}
	web.WriteJSON(w, http.StatusOK, inv)
	return nil
}
