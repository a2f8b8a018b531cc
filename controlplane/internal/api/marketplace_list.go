package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// GET /api/v1/marketplace/imports?state=&vendor=&limit=
//
// Marketplace imports across vendors, most recently updated first, and
// each vendor's counts over the last 7 days.
func (h *Handler) marketplaceImports(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	f := platform.MarketplaceFilter{Limit: 100, State: q.Get("state")}
	switch f.State {
	case "", "queued", "running", "finished", "failed", "cancelled":
	default:
		return web.FieldError("state", "state must be one of queued, running, finished, failed, cancelled")
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return web.FieldError("limit", "limit must be a whole number from 1 to 500")
		}
		f.Limit = n
	}
	if slug := q.Get("vendor"); slug != "" {
		v, err := h.store.VendorBySlug(ctx, slug)
		if err != nil {
			return err
		}
		f.VendorID = v.ID
	}
	imports, err := h.store.MarketplaceImports(ctx, f)
	if err != nil {
		return err
	}
	byVendor, err := h.store.MarketplaceByVendor(ctx, time.Now().Add(-7*24*time.Hour))
	if err != nil {
		return err
	}
	if imports == nil {
		imports = []platform.MarketplaceImport{}
	}
	if byVendor == nil {
		byVendor = []platform.MarketplaceVendor{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"imports": imports, "vendors": byVendor})
	return nil
}
