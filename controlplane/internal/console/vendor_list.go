package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/storefleet/storefleet/internal/platform"
)

const vendorsPerPage = 50

// stateFilters are the choices of the vendor list's state filter.
var stateFilters = []struct{ Value, Label string }{
	{"", "All but deleted"},
	{"active", "Active"},
	{"suspended", "Suspended"},
	{"provisioning", "Provisioning"},
	{"deleting", "Deleting"},
	{"deleted", "Deleted"},
}

// GET /admin/vendors?q=&state=&page=
func (h *Handler) vendorList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	search := strings.TrimSpace(q.Get("q"))
	state := q.Get("state")
	page, _ := strconv.Atoi(q.Get("page"))
	if page < 1 {
		page = 1
	}
	f := platform.VendorFilter{Search: search, Limit: vendorsPerPage + 1, Offset: (page - 1) * vendorsPerPage}
	switch state {
	case "":
	case "provisioning":
		f.States = provisioningStates
	case "active", "suspended", "deleting", "deleted":
		f.States = []platform.State{platform.State(state)}
	default:
		state = ""
	}
	vendors, err := h.store.ListVendors(r.Context(), f)
	if err != nil {
		return err
	}
	more := len(vendors) > vendorsPerPage
	if more {
		vendors = vendors[:vendorsPerPage]
	}
	pageURL := func(p int) string {
		v := url.Values{}
		if search != "" {
			v.Set("q", search)
		}
		if state != "" {
			v.Set("state", state)
		}
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return "/admin/vendors"
		}
		return "/admin/vendors?" + v.Encode()
	}
	ids := make([]int64, len(vendors))
	for i, v := range vendors {
		ids[i] = v.ID
	}
	plans, err := h.store.VendorPlans(r.Context(), ids)
	if err != nil {
		return err
	}
	data := map[string]any{
		"Title": "Vendors", "Nav": "vendors", "Plans": plans, "PlanChoices": platform.Plans, "BulkActions": bulkActions,
		"Vendors": vendors, "Search": search, "State": state, "States": stateFilters,
		"Filtered": search != "" || state != "", "Page": page,
	}
	if page > 1 {
		data["PrevURL"] = pageURL(page - 1)
	}
	if more {
		data["NextURL"] = pageURL(page + 1)
	}
	return h.render(w, r, http.StatusOK, "vendor_list", data)
}
