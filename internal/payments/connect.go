package payments

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// Account is what the shop keeps of its connected (Express) account.
type Account struct {
	ID               string
	Country          string // ISO 3166-1 alpha-2, upper case
	Email            string
	ChargesEnabled   bool
	DetailsSubmitted bool
}

func accountOf(a *stripe.Account) *Account {
	return &Account{ID: a.ID, Country: strings.ToUpper(a.Country), Email: a.Email,
		ChargesEnabled: a.ChargesEnabled, DetailsSubmitted: a.DetailsSubmitted}
}

// NewAccount is a connected account to create for a vendor.
type NewAccount struct {
	VendorID int64
	Country  string // ISO 3166-1 alpha-2
	Email    string // the shop owner's address, prefilled at onboarding
}

// CreateAccount creates a vendor's Express account, able to take card
// payments and receive transfers, with the vendor in its metadata. The
// idempotency key is the vendor's: a second call (a double click, a
// connect run again after a crash) gives back the same account for as long
// as Stripe keeps keys (24 hours).
func (c *Client) CreateAccount(ctx context.Context, a NewAccount) (*Account, error) {
	if c == nil {
		return nil, ErrNotConfigured
	}
	p := &stripe.AccountParams{
		Type:    stripe.String(string(stripe.AccountTypeExpress)),
		Country: stripe.String(strings.ToUpper(a.Country)),
		Capabilities: &stripe.AccountCapabilitiesParams{
			CardPayments: &stripe.AccountCapabilitiesCardPaymentsParams{Requested: stripe.Bool(true)},
			Transfers:    &stripe.AccountCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
	}
	if a.Email != "" {
		p.Email = stripe.String(a.Email)
	}
	p.Context = ctx
	p.SetIdempotencyKey(IdempotencyKey("acct", a.VendorID))
	p.AddMetadata("vendor_id", strconv.FormatInt(a.VendorID, 10))
	acct, err := c.api.Accounts.New(p)
	if err != nil {
		return nil, fmt.Errorf("create the Stripe account of vendor %d: %w", a.VendorID, err)
	}
	return accountOf(acct), nil
}

// GetAccount reads a connected account: whether it may take charges and
// whether its owner finished onboarding.
func (c *Client) GetAccount(ctx context.Context, id string) (*Account, error) {
	if c == nil {
		return nil, ErrNotConfigured
	}
	p := &stripe.AccountParams{}
	p.Context = ctx
	acct, err := c.api.Accounts.GetByID(id, p)
	if err != nil {
		return nil, fmt.Errorf("read Stripe account %s: %w", id, err)
	}
	return accountOf(acct), nil
}

// OnboardingLink makes a one-time Account Link (type account_onboarding)
// that takes the account's owner through Stripe's onboarding. Stripe sends
// them to returnURL when they leave it, and to refreshURL when the link
// has expired or was used already; both must be absolute links on the
// vendor's own domain. A link is single-use, so each call makes a new one
// (stripe-go gives the request a fresh idempotency key of its own).
func (c *Client) OnboardingLink(ctx context.Context, account, refreshURL, returnURL string) (string, error) {
	if c == nil {
		return "", ErrNotConfigured
	}
	p := &stripe.AccountLinkParams{
		Account:    stripe.String(account),
		RefreshURL: stripe.String(refreshURL),
		ReturnURL:  stripe.String(returnURL),
		Type:       stripe.String(string(stripe.AccountLinkTypeAccountOnboarding)),
	}
	p.Context = ctx
	link, err := c.api.AccountLinks.New(p)
	if err != nil {
		return "", fmt.Errorf("make an onboarding link for Stripe account %s: %w", account, err)
	}
	return link.URL, nil
}

// RefundState is one refund as Stripe reports it.
type RefundState struct {
	ID       string
	IntentID string
	Amount   int64
	Status   string
	// RequestKey is the idempotency key the refund was made with by
	// CreateRefund (its metadata "request_key"), or "".
	RequestKey string
}

// RefundStateOf reads a refund object.
func RefundStateOf(r *stripe.Refund) RefundState {
	s := RefundState{ID: r.ID, Amount: r.Amount, Status: string(r.Status), RequestKey: r.Metadata[RefundKeyMetadata]}
	if r.PaymentIntent != nil {
		s.IntentID = r.PaymentIntent.ID
	}
	return s
}

// RefundKeyMetadata is the metadata key under which CreateRefund leaves a
// refund's idempotency key, so that the webhook can match Stripe's report
// of a refund with the row the shop wrote before asking for it.
const RefundKeyMetadata = "request_key"

// ListRefunds reads every refund of a payment on a vendor's account (a
// charge.refunded event of recent API versions carries none).
func (c *Client) ListRefunds(ctx context.Context, account, intentID string) ([]RefundState, error) {
	if c == nil {
		return nil, ErrNotConfigured
	}
	p := &stripe.RefundListParams{PaymentIntent: stripe.String(intentID)}
	p.Context = ctx
	p.SetStripeAccount(account)
	var out []RefundState
	it := c.api.Refunds.List(p)
	for it.Next() {
		out = append(out, RefundStateOf(it.Refund()))
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("list the refunds of payment %s at Stripe: %w", intentID, err)
	}
	return out, nil
}
