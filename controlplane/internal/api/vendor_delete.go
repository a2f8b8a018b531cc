package api

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// DELETE /api/v1/vendors/{slug}?confirm=<slug>&now=true
//
// confirm must repeat the slug. Without now the vendor goes offline at once
// and its data is removed after the grace period (state deleting); with
// now=true the data goes at once (state deleted).
func (h *Handler) vendorDelete(w http.ResponseWriter, r *http.Request) error {
	slug := mux.Vars(r)["slug"]
	q := r.URL.Query()
	if q.Get("confirm") != slug {
		return web.FieldError("confirm", "confirm must repeat the vendor's slug ("+slug+") to delete it")
	}
	now := false
	if s := q.Get("now"); s != "" {
		var err error
		if now, err = strconv.ParseBool(s); err != nil {
			return web.FieldError("now", "now must be true or false")
		}
	}
	// A final backup first; if it fails, nothing is deleted.
	v, final, err := h.backups.DeleteVendor(r.Context(), actor(r), h.prov, slug, now)
	if err != nil {
		return err
	}
	out := h.vendorJSON(v)
	if final != nil {
		out.FinalBackupID = final.ID
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
