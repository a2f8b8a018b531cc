package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// GET /api/v1/vendors?q=&state=&limit=&offset=
func (h *Handler) vendorList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := platform.VendorFilter{Search: strings.TrimSpace(q.Get("q")), Limit: 100}
	var err error
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 || f.Limit > 500 {
			return web.FieldError("limit", "limit must be a whole number from 1 to 500")
		}
	}
	if s := q.Get("offset"); s != "" {
		if f.Offset, err = strconv.Atoi(s); err != nil || f.Offset < 0 {
			return web.FieldError("offset", "offset must be a whole number, 0 or more")
		}
	}
	for _, s := range q["state"] {
		for _, st := range strings.Split(s, ",") {
			st = strings.TrimSpace(st)
			switch platform.State(st) {
			case platform.StateRequested, platform.StateDatabaseReady, platform.StateBucketReady, platform.StateSchemaReady,
				platform.StateActive, platform.StateSuspended, platform.StateDeleting, platform.StateDeleted:
				f.States = append(f.States, platform.State(st))
			default:
				return web.FieldError("state", "state must be one of requested, database_ready, bucket_ready, schema_ready, active, suspended, deleting, deleted")
			}
		}
	}
	vendors, err := h.store.ListVendors(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]vendorJSON, len(vendors))
	for i, v := range vendors {
		out[i] = h.vendorJSON(v)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"vendors": out, "limit": f.Limit, "offset": f.Offset})
	return nil
}
