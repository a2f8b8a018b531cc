package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// moveRequest is the body of a move.
type moveRequest struct {
	// To names the database server to move to.
	To string `json:"to"`
	// Confirm must repeat the vendor's slug.
	Confirm string `json:"confirm"`
}

// POST /api/v1/vendors/{slug}/move {to, confirm}
//
// 202 with the operation that moves the vendor's database to another
// server in the background (the vendor is read-only while it is copied);
// 422 without the confirmation or with a bad "to"; 409 if the vendor's
// state forbids it or another operation on it is running.
func (h *Handler) vendorMove(w http.ResponseWriter, r *http.Request) error {
	var req moveRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	slug := mux.Vars(r)["slug"]
	if strings.TrimSpace(req.Confirm) != slug {
		return web.FieldError("confirm", "confirm must repeat the vendor's slug ("+slug+") to move it")
	}
	v, err := h.store.VendorBySlug(r.Context(), slug)
	if err != nil {
		return err
	}
	op, err := h.backups.StartMove(r.Context(), actor(r), v, req.To)
	if err != nil {
		return err
	}
	accepted(w, op)
	return nil
}
