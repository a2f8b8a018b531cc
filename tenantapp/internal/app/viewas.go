package app

import (
	"context"

	"github.com/storefleet/storefleet/internal/viewas"
)

// RedeemViewAs redeems a platform admin's "view as vendor" ticket through
// the router role's redeem_view_as_ticket, which marks it used and writes
// the control plane's audit row.
func (w routerWork) RedeemViewAs(ctx context.Context, t *viewas.Ticket, vendorID int64, clientAddr, requestID string) (string, error) {
	return viewas.Redeem(ctx, w.pool, t, vendorID, clientAddr, requestID)
}
