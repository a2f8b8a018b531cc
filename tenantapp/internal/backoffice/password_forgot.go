package backoffice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type forgotPage struct {
	page
	Email  string
	Sent   bool
	Errors map[string]string
}

// GET /admin/password/forgot
func (h *Handler) passwordForgotForm(w http.ResponseWriter, r *http.Request) error {
	return h.templates.Render(w, http.StatusOK, "admin_password_forgot", forgotPage{page: h.page(r, "Forgot your password?")})
}

// POST /admin/password/forgot: e-mail a reset link if the address belongs
// to an active member. The answer is the same either way, and comes before
// the look-up and the e-mail, so neither its words nor its timing tell
// whether the address is known. Requests are counted per address and per
// client in Redis, under the shop's id.
func (h *Handler) passwordForgot(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	email := strings.TrimSpace(r.PostFormValue("email"))
	show := func(status int, p forgotPage) error {
		p.page, p.Email = h.page(r, "Forgot your password?"), email
		return h.templates.Render(w, status, "admin_password_forgot", p)
	}
	if _, err := staff.CheckEmail(email); err != nil {
		return show(http.StatusUnprocessableEntity, forgotPage{Errors: map[string]string{"email": "Enter the e-mail address you sign in with."}})
	}
	wait, err := h.countResetRequest(ctx, t, email, web.ClientAddr(r))
	if err != nil {
		return err
	}
	if wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())))
		return show(http.StatusTooManyRequests, forgotPage{Errors: map[string]string{"email": fmt.Sprintf(
			"Too many requests for a reset link. Check your inbox (and spam folder) for the last one, or try again in %d minutes.", int(wait.Minutes())+1)}})
	}
	e := actor(r, nil)
	// Detached from the request, which ends now; bounded by its own timeout.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	go func() {
		defer cancel()
		h.sendReset(bg, t, email, e)
	}()
	return show(http.StatusOK, forgotPage{Sent: true})
}

// sendReset makes a reset token for the active member with this address,
// if there is one, and queues the e-mail with the link on the shop's
// primary domain in the same transaction; the control plane's job system
// sends it.
func (h *Handler) sendReset(ctx context.Context, t *tenant.Tenant, email string, e staff.Entry) {
	_, _, err := staff.RequestReset(ctx, t.Pool, email, e, h.queueReset(t))
	if errors.Is(err, staff.ErrNotFound) {
		return
	}
	if err != nil {
		h.log.Error("cannot send a password reset link", "vendor", t.Entry.Slug, "request_id", e.RequestID, "err", err)
		return
	}
	h.sendQueued(ctx, t)
}

// countResetRequest counts a reset request for the address and the
// client, and says how long to wait if either is over its limit.
func (h *Handler) countResetRequest(ctx context.Context, t *tenant.Tenant, email, addr string) (time.Duration, error) {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	base := fmt.Sprintf("%s%d:pwreset:", h.keyPrefix, t.Entry.VendorID)
	keys := []string{base + "acct:" + hex.EncodeToString(sum[:12]), base + "addr:" + addr}
	limits := []int{h.limits.PerAccount, h.limits.PerAddress}
	pipe := h.redis.TxPipeline()
	incrs := make([]interface{ Val() int64 }, len(keys))
	ttls := make([]interface{ Val() time.Duration }, len(keys))
	for i, k := range keys {
		incrs[i] = pipe.Incr(ctx, k)
		pipe.ExpireNX(ctx, k, h.limits.Window)
		ttls[i] = pipe.TTL(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 10, Message: "Password resets are unavailable for a moment.", Err: err}
	}
	for i := range keys {
		if incrs[i].Val() > int64(limits[i]) {
			if ttl := ttls[i].Val(); ttl > 0 {
				return ttl, nil
			}
			return h.limits.Window, nil
		}
	}
	return 0, nil
}
