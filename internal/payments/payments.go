// Package payments is Storefleet's side of Stripe Connect: the platform's
// Stripe client (stripe-go, pointed at Stripe or at the stripe-mock
// emulator), and the calls the tenant app and the control plane make.
// Charges are direct charges on the vendor's connected (Express) account,
// with the platform's commission as the application fee. Every call that
// creates or changes something carries an idempotency key made from what
// it is about, so a retried request (a double click, a crashed process
// run again) has one effect at Stripe.
package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Config says how to reach Stripe.
type Config struct {
	SecretKey string // sk_live_… / sk_test_…; empty: payments are off
	// URL replaces Stripe's API address (the stripe-mock emulator in
	// development and tests); empty: Stripe itself.
	URL string
}

// Client makes the platform's Stripe calls.
type Client struct {
	api *client.API
}

// ErrNotConfigured means the platform has no Stripe key.
var ErrNotConfigured = errors.New("payments are not set up on this platform (no STOREFLEET_STRIPE_SECRET_KEY)")

// New returns a client, or nil and no error when payments are off.
func New(cfg Config) (*Client, error) {
	if cfg.SecretKey == "" {
		return nil, nil
	}
	if !strings.HasPrefix(cfg.SecretKey, "sk_") && !strings.HasPrefix(cfg.SecretKey, "rk_") {
		return nil, fmt.Errorf("STOREFLEET_STRIPE_SECRET_KEY must be a Stripe secret key (sk_…)")
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: 30 * time.Second},
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if cfg.URL != "" {
		bc.URL = stripe.String(strings.TrimSuffix(cfg.URL, "/"))
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, bc),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, bc),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, bc),
	}
	api := &client.API{}
	api.Init(cfg.SecretKey, backends)
	return &Client{api: api}, nil
}

// API is the underlying stripe-go client, for calls this package does not
// wrap.
func (c *Client) API() *client.API { return c.api }

// IdempotencyKey makes the key of a call from what it is about, e.g.
// IdempotencyKey("pi-create", vendorID, orderID, amount). The parts must
// name the call's effect completely: the same parts, the same effect.
func IdempotencyKey(op string, parts ...any) string {
	var b strings.Builder
	b.WriteString("sf-")
	b.WriteString(op)
	for _, p := range parts {
		b.WriteByte('-')
		fmt.Fprint(&b, p)
	}
	return b.String()
}

// Charge is a PaymentIntent to create on a vendor's account.
type Charge struct {
	VendorID  int64
	OrderID   int64
	Account   string // the vendor's connected account (acct_…)
	Amount    int64  // minor units
	Currency  string // ISO 4217, upper case
	Fee       int64  // the platform's application fee, minor units
	Email     string // receipt e-mail
	ReturnURL string
	// Attempt tells two PaymentIntents of one order apart (a re-priced
	// order gets a new one); the same Attempt gives back the same intent.
	Attempt int
}

// Intent is what the shop keeps of a PaymentIntent.
type Intent struct {
	ID           string
	ClientSecret string
	Status       string // requires_payment_method, processing, succeeded, canceled, …
	Amount       int64
	Currency     string // upper case
}

func intentOf(pi *stripe.PaymentIntent) *Intent {
	return &Intent{ID: pi.ID, ClientSecret: pi.ClientSecret, Status: string(pi.Status), Amount: pi.Amount,
		Currency: strings.ToUpper(string(pi.Currency))}
}

// CreatePaymentIntent creates the PaymentIntent of an order on the
// vendor's account, with the platform's fee and the order and vendor in
// its metadata.
func (c *Client) CreatePaymentIntent(ctx context.Context, ch Charge) (*Intent, error) {
	if c == nil {
		return nil, ErrNotConfigured
	}
	p := &stripe.PaymentIntentParams{
		Amount:                  stripe.Int64(ch.Amount),
		Currency:                stripe.String(strings.ToLower(ch.Currency)),
		ApplicationFeeAmount:    stripe.Int64(ch.Fee),
		AutomaticPaymentMethods: &stripe.PaymentIntentAutomaticPaymentMethodsParams{Enabled: stripe.Bool(true)},
	}
	if ch.Email != "" {
		p.ReceiptEmail = stripe.String(ch.Email)
	}
	p.Context = ctx
	p.SetStripeAccount(ch.Account)
	p.SetIdempotencyKey(IdempotencyKey("pi", ch.VendorID, ch.OrderID, ch.Attempt, ch.Amount, ch.Currency, ch.Fee))
	p.AddMetadata("vendor_id", strconv.FormatInt(ch.VendorID, 10))
	p.AddMetadata("order_id", strconv.FormatInt(ch.OrderID, 10))
	pi, err := c.api.PaymentIntents.New(p)
	if err != nil {
		return nil, fmt.Errorf("create the payment of order %d at Stripe: %w", ch.OrderID, err)
	}
	return intentOf(pi), nil
}

// GetPaymentIntent reads a PaymentIntent of a vendor's account.
func (c *Client) GetPaymentIntent(ctx context.Context, account, id string) (*Intent, error) {
	if c == nil {
		return nil, ErrNotConfigured
	}
	p := &stripe.PaymentIntentParams{}
	p.Context = ctx
	p.SetStripeAccount(account)
	pi, err := c.api.PaymentIntents.Get(id, p)
	if err != nil {
		return nil, fmt.Errorf("read payment %s at Stripe: %w", id, err)
	}
	return intentOf(pi), nil
}

// ConfirmTestPayment confirms a PaymentIntent with Stripe's test card, for
// shops running against Stripe's test mode or the emulator, where no card
// form can be shown.
func (c *Client) ConfirmTestPayment(ctx context.Context, account, id, returnURL string) (*Intent, error) {
	if c == nil {
		return nil, ErrNotConfigured
	}
	p := &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")}
	if returnURL != "" {
		p.ReturnURL = stripe.String(returnURL)
	}
	p.Context = ctx
	p.SetStripeAccount(account)
	p.SetIdempotencyKey(IdempotencyKey("pi-confirm", id))
	pi, err := c.api.PaymentIntents.Confirm(id, p)
	if err != nil {
		return nil, fmt.Errorf("confirm payment %s at Stripe: %w", id, err)
	}
	return intentOf(pi), nil
}

// CancelPaymentIntent cancels a PaymentIntent that was not paid (an
// order whose reservation ran out, or that was re-priced).
func (c *Client) CancelPaymentIntent(ctx context.Context, account, id string) error {
	if c == nil {
		return ErrNotConfigured
	}
	p := &stripe.PaymentIntentCancelParams{}
	p.Context = ctx
	p.SetStripeAccount(account)
	p.SetIdempotencyKey(IdempotencyKey("pi-cancel", id))
	if _, err := c.api.PaymentIntents.Cancel(id, p); err != nil {
		return fmt.Errorf("cancel payment %s at Stripe: %w", id, err)
	}
	return nil
}

// Refund is a refund to make on a vendor's account.
type Refund struct {
	Account  string
	IntentID string
	Amount   int64
	// Key is the refund's idempotency key, recorded in the vendor's
	// database before the call (refunds.request_key).
	Key string
	// ReverseFee gives the platform's fee back in proportion.
	ReverseFee bool
}

// CreateRefund refunds part or all of a payment. It returns Stripe's
// refund id and status.
func (c *Client) CreateRefund(ctx context.Context, r Refund) (id, status string, err error) {
	if c == nil {
		return "", "", ErrNotConfigured
	}
	p := &stripe.RefundParams{PaymentIntent: stripe.String(r.IntentID), Amount: stripe.Int64(r.Amount)}
	if r.ReverseFee {
		p.RefundApplicationFee = stripe.Bool(true)
	}
	p.Context = ctx
	p.SetStripeAccount(r.Account)
	p.SetIdempotencyKey(r.Key)
	// The key in the refund's metadata lets the webhook match Stripe's
	// report with the refund row written before the call.
	p.AddMetadata(RefundKeyMetadata, r.Key)
	ref, err := c.api.Refunds.New(p)
	if err != nil {
		return "", "", fmt.Errorf("refund %d of payment %s at Stripe: %w", r.Amount, r.IntentID, err)
	}
	return ref.ID, string(ref.Status), nil
}

// Message is what a Stripe error says, for showing to staff; other errors
// are returned as they are.
func Message(err error) string {
	var se *stripe.Error
	if errors.As(err, &se) && se.Msg != "" {
		return se.Msg
	}
	return err.Error()
}
