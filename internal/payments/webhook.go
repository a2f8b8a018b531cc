package payments

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// WebhookTolerance is how old a webhook's signature may be: older
// deliveries are refused, so a captured request cannot be replayed later.
const WebhookTolerance = 5 * time.Minute

// SignatureHeader is the header Stripe signs webhooks in.
const SignatureHeader = "Stripe-Signature"

// BadSignatureError says why a webhook delivery was refused, in words for
// whoever reads the endpoint's log at Stripe.
type BadSignatureError struct{ Reason string }

func (e *BadSignatureError) Error() string { return e.Reason }

// ParseEvent checks a webhook delivery's signature against the endpoint's
// signing secret (whsec_…) and returns its event. It refuses a missing or
// malformed Stripe-Signature header, a signature made with another secret
// or over another body, and one older than WebhookTolerance, each with a
// *BadSignatureError. Events of other API versions than stripe-go's are
// accepted: the fields read here are the same in all of them.
func ParseEvent(payload []byte, header, secret string) (stripe.Event, error) {
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{
		Tolerance: WebhookTolerance, IgnoreAPIVersionMismatch: true})
	switch {
	case err == nil && signedAhead(header, time.Now()):
		// stripe-go only refuses old signatures; one dated further ahead
		// than the tolerance would stay replayable for that much longer.
		return ev, &BadSignatureError{Reason: fmt.Sprintf("the signature is dated more than %s ahead (the clocks disagree)", WebhookTolerance)}
	case err == nil:
		if ev.ID == "" || ev.Type == "" {
			return ev, &BadSignatureError{Reason: "the body is not a Stripe event (no id or type)"}
		}
		return ev, nil
	case errors.Is(err, webhook.ErrNotSigned):
		return ev, &BadSignatureError{Reason: "the request has no " + SignatureHeader + " header"}
	case errors.Is(err, webhook.ErrInvalidHeader):
		return ev, &BadSignatureError{Reason: "the " + SignatureHeader + " header is malformed"}
	case errors.Is(err, webhook.ErrTooOld):
		return ev, &BadSignatureError{Reason: fmt.Sprintf("the signature is older than %s (replayed, or the clocks disagree)", WebhookTolerance)}
	case errors.Is(err, webhook.ErrNoValidSignature):
		return ev, &BadSignatureError{Reason: "no signature matches the body with this endpoint's signing secret"}
	default:
		return ev, &BadSignatureError{Reason: "the body is not a Stripe event: " + err.Error()}
	}
}

// signedAhead reports whether a Stripe-Signature header's timestamp (the
// last "t=" element, as stripe-go reads it) is more than WebhookTolerance
// after now.
func signedAhead(header string, now time.Time) bool {
	var at int64
	for _, pair := range strings.Split(header, ",") {
		if k, v, _ := strings.Cut(pair, "="); k == "t" {
			at, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return at > now.Add(WebhookTolerance).Unix()
}

// SignPayload makes a Stripe-Signature header for payload as Stripe does
// (t=<unix time>,v1=<HMAC-SHA256 of "t.payload" under secret>), for tests
// and for replaying an event by hand.
func SignPayload(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}
