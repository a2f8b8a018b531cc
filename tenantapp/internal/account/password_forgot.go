package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/notify"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// forgotSent is the one answer to a reset request, whether or not the
// address has an account.
const forgotSent = "If there is an account with this address, we have e-mailed it a link to choose a new password. The link works for 1 hour."

// requestReset takes a reset request: the address is checked for form
// and the request counted per address and per client; then the answer is
// the same whether or not the address has an account, and comes before
// the look-up and the e-mail, so neither its words nor its timing tell.
func (h *Handler) requestReset(ctx context.Context, r *http.Request, email string) error {
	t := tenant.FromContext(ctx)
	email, ok := normalizeEmail(email)
	if !ok {
		return web.FieldError("email", "Enter the e-mail address you signed up with.")
	}
	acctKey, addrKey := h.throttleKeys(t, "pwreset", email, web.ClientAddr(r))
	limits := []int{h.limits.PerAccount, h.limits.PerAddress}
	wait, err := h.throttled(ctx, []string{acctKey, addrKey}, limits)
	if err != nil {
		return err
	}
	if wait > 0 {
		return tooMany(wait, "Too many requests for a reset link. Check your inbox (and spam folder) for the last one, or try again in %d minutes.")
	}
	if err := h.count(ctx, acctKey, addrKey); err != nil {
		return unavailable(err)
	}
	// Detached from the request, which ends now; bounded by its own timeout.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	go func() {
		defer cancel()
		if err := h.sendReset(bg, t, email); err != nil {
			h.log.Error("cannot send a customer's password reset link", "vendor", t.Entry.Slug, "request_id", web.RequestID(ctx), "err", err)
		}
	}()
	return nil
}

// sendReset makes a reset token for the customer with this address, if
// there is one, and puts the e-mail with its link (on the shop's primary
// domain as the control plane knows it) in the outbox in the same
// transaction; then asks the control plane to send the outbox.
func (h *Handler) sendReset(ctx context.Context, t *tenant.Tenant, email string) error {
	c, err := customerByEmail(ctx, t.Pool, email)
	if errors.Is(err, errNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	settings, err := storefront.LoadSettings(ctx, t.Pool)
	if err != nil {
		return err
	}
	shopName := t.Entry.Name
	if settings.DisplayName != "" {
		shopName = settings.DisplayName
	}
	err = database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		secret, err := newResetToken(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		link, err := tenant.AbsURL(h.publicURL, t, "/account/password/reset/"+secret)
		if err != nil {
			return err
		}
		_, err = notify.Enqueue(ctx, tx, notify.Message{Kind: notify.CustomerPasswordReset, To: c.Email, CustomerID: c.ID,
			Data: map[string]any{"shop_name": shopName, "name": c.Name, "link": link, "expires": mail.Lifetime(ResetTTL)}})
		return err
	})
	if err != nil {
		return fmt.Errorf("queue a password reset link for customer %d: %w", c.ID, err)
	}
	if h.work == nil {
		return nil
	}
	return h.work.RequestWork(ctx, t.Entry.VendorID, notify.WorkKind)
}

type forgotPage struct {
	page
	Email string
	Sent  string
	Error string
}

// GET /account/password/forgot
func (h *Handler) forgotForm(w http.ResponseWriter, r *http.Request) error {
	p, err := h.page(r, "Forgot your password?", "")
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "account_password_forgot", forgotPage{page: p, Email: r.URL.Query().Get("email")})
}

// POST /account/password/forgot
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) error {
	email := r.PostFormValue("email")
	err := h.requestReset(r.Context(), r, email)
	var we *web.Error
	if err != nil && !errors.As(err, &we) || we != nil && we.Status >= 500 {
		return err
	}
	p, perr := h.page(r, "Forgot your password?", "")
	if perr != nil {
		return perr
	}
	if we != nil {
		if we.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(we.RetryAfter))
		}
		p.Errors = map[string]string{"email": we.Message}
		return h.render(w, we.Status, "account_password_forgot", forgotPage{page: p, Email: email})
	}
	return h.render(w, http.StatusOK, "account_password_forgot", forgotPage{page: p, Email: email, Sent: forgotSent})
}
