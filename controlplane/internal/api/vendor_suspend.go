package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// suspendRequest is the body of a suspension.
type suspendRequest struct {
	Reason string `json:"reason"`
}

// POST /api/v1/vendors/{slug}/suspend {reason}
func (h *Handler) vendorSuspend(w http.ResponseWriter, r *http.Request) error {
	var req suspendRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case req.Reason == "":
		return web.FieldError("reason", "reason is required: say why the shop is suspended")
	case utf8.RuneCountInString(req.Reason) > 500:
		return web.FieldError("reason", "reason must be at most 500 characters")
	}
	v, err := h.prov.Suspend(r.Context(), actor(r), mux.Vars(r)["slug"], req.Reason)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, h.vendorJSON(v))
	return nil
}
