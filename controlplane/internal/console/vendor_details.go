package console

import (
	"context"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/stats"
)

// vendorStatsPeriod is how many days of figures the vendor page sums.
const vendorStatsPeriod = 30

// vendorDetailsCard is what the vendor page shows beyond the vendor's
// record: plan, databases, domains and the rolled-up figures. All of it
// comes from the control-plane database.
type vendorDetailsCard struct {
	Plan        string
	PlanLabel   string
	PlanChoices []platform.Plan
	Databases   []platform.VendorDatabase
	Domains     []platform.VendorDomain
	Stats       *stats.Vendor
}

// vendorDetails reads the vendor page's plan, databases, domains and
// figures.
func (h *Handler) vendorDetails(ctx context.Context, v *platform.Vendor) (*vendorDetailsCard, error) {
	plans, err := h.store.VendorPlans(ctx, []int64{v.ID})
	if err != nil {
		return nil, err
	}
	c := &vendorDetailsCard{Plan: plans[v.ID], PlanLabel: platform.PlanLabel(plans[v.ID]), PlanChoices: platform.Plans}
	if c.Databases, err = h.store.VendorDatabases(ctx, v.ID); err != nil {
		return nil, err
	}
	if c.Domains, err = h.store.VendorDomains(ctx, v.ID); err != nil {
		return nil, err
	}
	if c.Stats, err = stats.ForVendor(ctx, h.store.Pool(), v.ID, time.Now(), vendorStatsPeriod); err != nil {
		return nil, err
	}
	return c, nil
}
