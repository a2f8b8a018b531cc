package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Throttles count in Redis under keys that carry the vendor's id, so one
// shop's attacker never locks another shop's customers out:
//
//	<prefix><vendor>:signin:acct:<sha256(email)[:12]>   failed sign-ins of an e-mail address
//	<prefix><vendor>:signin:addr:<client address>       failed sign-ins from a client
//	<prefix><vendor>:pwreset:acct:… and :addr:…         reset requests
//	<prefix><vendor>:register:addr:<client address>     registrations from a client

// throttleKeys are the per-account and per-address keys of an action.
func (h *Handler) throttleKeys(t *tenant.Tenant, action, email, addr string) (string, string) {
	sum := sha256.Sum256([]byte(email))
	base := fmt.Sprintf("%s%d:%s:", h.keyPrefix, t.Entry.VendorID, action)
	return base + "acct:" + hex.EncodeToString(sum[:12]), base + "addr:" + addr
}

func unavailable(err error) error {
	return &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 10,
		Message: "Signing in is unavailable for a moment. Please try again shortly.", Err: err}
}

// throttled says how long to wait if a counter is at or over its limit
// (limits[i] for keys[i]), without counting.
func (h *Handler) throttled(ctx context.Context, keys []string, limits []int) (time.Duration, error) {
	vals, err := h.redis.MGet(ctx, keys...).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	for i, v := range vals {
		s, _ := v.(string)
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n < limits[i] {
			continue
		}
		ttl, _ := h.redis.TTL(ctx, keys[i]).Result()
		if ttl <= 0 {
			ttl = h.limits.Window
		}
		return ttl, nil
	}
	return 0, nil
}

// count adds one to each counter, each expiring a window after its first.
func (h *Handler) count(ctx context.Context, keys ...string) error {
	pipe := h.redis.TxPipeline()
	for _, k := range keys {
		pipe.Incr(ctx, k)
		pipe.ExpireNX(ctx, k, h.limits.Window)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// tooMany is the 429 for a wait.
func tooMany(wait time.Duration, message string) *web.Error {
	secs := int(wait.Seconds())
	if secs < 1 {
		secs = 1
	}
	return &web.Error{Status: http.StatusTooManyRequests, RetryAfter: secs,
		Message: fmt.Sprintf(message, int(wait.Minutes())+1)}
}
