package api

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// GET /api/v1/vendors/{slug}/backups?limit=
//
// The vendor's backups, newest first, and its newest operation (running
// or not) since the control plane started, if any.
func (h *Handler) backupList(w http.ResponseWriter, r *http.Request) error {
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return web.FieldError("limit", "limit must be a whole number from 1 to 500")
		}
		limit = n
	}
	v, err := h.store.VendorBySlug(r.Context(), mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	list, err := h.backups.List(r.Context(), v.ID, limit)
	if err != nil {
		return err
	}
	out := map[string]any{"vendor": v.Slug, "backups": list, "operation": nil}
	if op, ok := h.backups.Ops().ForVendor(v.ID); ok {
		out["operation"] = newOperationJSON(op)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
