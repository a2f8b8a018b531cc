package app

import (
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/stripehook"
	"github.com/storefleet/storefleet/internal/payments"
)

// stripeHook builds the Stripe Connect platform webhook (POST
// /webhooks/stripe); Close closes its vendor pools.
func (m *Main) stripeHook() (http.Handler, error) {
	client, err := payments.New(payments.Config{SecretKey: m.Config.StripeSecretKey, URL: m.Config.StripeURL})
	if err != nil {
		return nil, err
	}
	h := stripehook.New(stripehook.Options{Store: m.Platform.Store, DBs: m.Platform.Prov, Stripe: client,
		Secret: m.Config.StripeWebhookSecret, TenantPublicURL: m.Config.TenantPublicURL, Logger: m.Logger})
	m.closers = append(m.closers, h.Close)
	return h, nil
}
