package backoffice

import (
	"context"

	"github.com/storefleet/storefleet/internal/payments"
)

// StripeAccounts is what the back office asks of the control plane about
// payments, through the router role: record the Stripe account a vendor
// connected (the platform webhook routes events by it), and read the
// platform's commission.
type StripeAccounts interface {
	RegisterStripeAccount(ctx context.Context, vendorID int64, account string) error
	CommissionBP(ctx context.Context) (int, error)
}

// paymentsSetup is the back office's Stripe: the platform's client (nil:
// payments are off) and the control plane's record of accounts.
type paymentsSetup struct {
	client   *payments.Client
	accounts StripeAccounts
}

// SetPayments gives the back office the platform's Stripe client and the
// control plane's record of connected accounts. It returns h, for
// chaining. Without it, the Payments page says payments are off and
// refunds are refused.
func (h *Handler) SetPayments(c *payments.Client, accounts StripeAccounts) *Handler {
	h.payments = &paymentsSetup{client: c, accounts: accounts}
	return h
}

func (h *Handler) pay() *paymentsSetup {
	if h.payments != nil {
		return h.payments
	}
	return &paymentsSetup{}
}
