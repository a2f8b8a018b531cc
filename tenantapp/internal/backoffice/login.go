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

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type loginPage struct {
	page
	Email string
	Error string
}

// GET /admin/login
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) error {
	return h.templates.Render(w, http.StatusOK, "admin_login", loginPage{page: h.page(r, "Sign in")})
}

// POST /admin/login
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	email := strings.TrimSpace(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	show := func(status int, msg string) error {
		return h.templates.Render(w, status, "admin_login", loginPage{page: h.page(r, "Sign in"), Email: email, Error: msg})
	}
	acctKey, addrKey := h.throttleKeys(t, email, web.ClientAddr(r))
	if wait, err := h.throttled(ctx, acctKey, addrKey); err != nil {
		return err
	} else if wait > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())))
		return show(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-in attempts. Try again in %d minutes, or reset your password.", int(wait.Minutes())+1))
	}
	m, err := staff.ByEmail(ctx, t.Pool, email)
	if err != nil && !errors.Is(err, staff.ErrNotFound) {
		return err
	}
	hash := ""
	if m != nil && m.PasswordHash != nil && m.Status == "active" {
		hash = *m.PasswordHash
	}
	ok, err := auth.Verify(password, hash) // no account: same work, and false
	if err != nil {
		return err
	}
	if !ok {
		h.fail(ctx, acctKey, addrKey)
		return show(http.StatusUnauthorized, "Wrong e-mail or password.")
	}
	h.redis.Del(ctx, acctKey)
	// A fresh session token at sign-in, bound to this shop.
	if err := h.sessions.RenewToken(ctx); err != nil {
		return err
	}
	h.sessions.Put(ctx, keyStaff, m.ID)
	h.sessions.Put(ctx, keyVendor, t.Entry.VendorID)
	h.sessions.Put(ctx, keyCreated, time.Now().UnixNano())
	h.sessions.Put(ctx, keySeen, time.Now().UnixNano())
	if err := staff.RecordLogin(ctx, t.Pool, m.ID, func() staff.Entry {
		e := actor(r, m)
		e.Action, e.TargetType, e.TargetID = "staff.login", "staff", fmt.Sprint(m.ID)
		return e
	}()); err != nil {
		return err
	}
	http.Redirect(w, r, t.Base+"/admin/", http.StatusSeeOther)
	return nil
}

// throttleKeys are the Redis keys of the per-account and per-address
// counters; both carry the vendor's id.
func (h *Handler) throttleKeys(t *tenant.Tenant, email, addr string) (string, string) {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	base := fmt.Sprintf("%s%d:signin:", h.keyPrefix, t.Entry.VendorID)
	return base + "acct:" + hex.EncodeToString(sum[:12]), base + "addr:" + addr
}

// throttled says how long to wait if either counter is over its limit.
func (h *Handler) throttled(ctx context.Context, acctKey, addrKey string) (time.Duration, error) {
	vals, err := h.redis.MGet(ctx, acctKey, addrKey).Result()
	if err != nil {
		return 0, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 10, Message: "Signing in is unavailable for a moment.", Err: err}
	}
	over := func(v any, limit int) bool {
		s, _ := v.(string)
		var n int
		fmt.Sscan(s, &n)
		return s != "" && n >= limit
	}
	for i, limit := range []int{h.limits.PerAccount, h.limits.PerAddress} {
		if over(vals[i], limit) {
			key := []string{acctKey, addrKey}[i]
			ttl, _ := h.redis.TTL(ctx, key).Result()
			if ttl <= 0 {
				ttl = h.limits.Window
			}
			return ttl, nil
		}
	}
	return 0, nil
}

func (h *Handler) fail(ctx context.Context, keys ...string) {
	pipe := h.redis.TxPipeline()
	for _, k := range keys {
		pipe.Incr(ctx, k)
		pipe.ExpireNX(ctx, k, h.limits.Window)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		h.log.Warn("cannot count a failed sign-in", "err", err)
	}
}

// POST /admin/logout
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	if err := h.sessions.Destroy(r.Context()); err != nil {
		return err
	}
	http.Redirect(w, r, t.Base+"/admin/login", http.StatusSeeOther)
	return nil
}

// POST /admin/logout-everywhere ends every session of the member, on every
// device, including this one.
func (h *Handler) logoutEverywhere(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	m := Current(ctx)
	e := actor(r, m)
	e.Action, e.TargetType, e.TargetID = "staff.logout_everywhere", "staff", fmt.Sprint(m.ID)
	if err := staff.LogOutEverywhere(ctx, t.Pool, m.ID, e); err != nil {
		return err
	}
	if err := h.sessions.Destroy(ctx); err != nil {
		return err
	}
	http.Redirect(w, r, t.Base+"/admin/login", http.StatusSeeOther)
	return nil
}
