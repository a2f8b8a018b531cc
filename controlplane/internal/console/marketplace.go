package console

import (
	"net/http"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
)

// marketplaceStates are the states the marketplace page filters by.
var marketplaceStates = []string{"running", "queued", "finished", "failed", "cancelled"}

// GET /admin/marketplace[?state=failed]
//
// Marketplace imports across vendors: per vendor, what ran in the last 7
// days (running, finished, failed, cancelled), and the newest imports.
// Read from the control plane's summary, never from vendor databases.
func (h *Handler) marketplace(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	state := r.URL.Query().Get("state")
	valid := state == ""
	for _, s := range marketplaceStates {
		valid = valid || s == state
	}
	if !valid {
		state = ""
	}
	byVendor, err := h.store.MarketplaceByVendor(ctx, time.Now().Add(-7*24*time.Hour))
	if err != nil {
		return err
	}
	imports, err := h.store.MarketplaceImports(ctx, platform.MarketplaceFilter{State: state, Limit: 100})
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "marketplace", map[string]any{
		"Title": "Marketplace imports", "Nav": "marketplace", "ByVendor": byVendor, "Imports": imports,
		"State": state, "States": marketplaceStates,
	})
}
