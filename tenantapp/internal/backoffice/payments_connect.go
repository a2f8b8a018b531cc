package backoffice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// stripeState is the shop's record of its Stripe account.
type stripeState struct {
	Account          string
	ChargesEnabled   bool
	DetailsSubmitted bool
}

func loadStripeState(ctx context.Context, db storefront.Querier) (stripeState, error) {
	var s stripeState
	err := db.QueryRow(ctx, `SELECT coalesce(stripe_account_id, ''), stripe_charges_enabled, stripe_details_submitted
		FROM shop_profile`).Scan(&s.Account, &s.ChargesEnabled, &s.DetailsSubmitted)
	if err != nil {
		return s, fmt.Errorf("read the shop's Stripe account: %w", err)
	}
	return s, nil
}

// connectCountries are the countries an Express account can be opened in
// from here, by ISO 3166-1 alpha-2 code.
var connectCountries = []choice{
	{"AT", "Austria"}, {"AU", "Australia"}, {"BE", "Belgium"}, {"BG", "Bulgaria"}, {"CA", "Canada"},
	{"CH", "Switzerland"}, {"CY", "Cyprus"}, {"CZ", "Czech Republic"}, {"DE", "Germany"}, {"DK", "Denmark"},
	{"EE", "Estonia"}, {"ES", "Spain"}, {"FI", "Finland"}, {"FR", "France"}, {"GB", "United Kingdom"},
	{"GR", "Greece"}, {"HR", "Croatia"}, {"HU", "Hungary"}, {"IE", "Ireland"}, {"IT", "Italy"}, {"JP", "Japan"},
	{"LI", "Liechtenstein"}, {"LT", "Lithuania"}, {"LU", "Luxembourg"}, {"LV", "Latvia"}, {"MT", "Malta"},
	{"NL", "Netherlands"}, {"NO", "Norway"}, {"NZ", "New Zealand"}, {"PL", "Poland"}, {"PT", "Portugal"},
	{"RO", "Romania"}, {"SE", "Sweden"}, {"SG", "Singapore"}, {"SI", "Slovenia"}, {"SK", "Slovakia"},
	{"US", "United States"},
}

// choice is one option of a select.
type choice struct{ Key, Label string }

func validChoice(list []choice, key string) bool {
	for _, c := range list {
		if c.Key == key {
			return true
		}
	}
	return false
}

type paymentsPage struct {
	page
	// Enabled: the platform has a Stripe key, and the control plane's
	// record of accounts is reachable.
	Enabled bool
	stripeState
	// Commission is the platform's fee as a percentage ("5 %"), and
	// Example what it is on an order of 100 in the shop's currency.
	Commission, Example string
	Countries           []choice
	Country             string
	Errors              map[string]string
}

// GET /admin/payments: whether the shop can take payments, and how to get
// there.
func (h *Handler) paymentsShow(w http.ResponseWriter, r *http.Request) error {
	return h.renderPayments(w, r, http.StatusOK, "", nil)
}

func (h *Handler) renderPayments(w http.ResponseWriter, r *http.Request, status int, country string, errs map[string]string) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	st, err := loadStripeState(ctx, t.Pool)
	if err != nil {
		return err
	}
	pay := h.pay()
	p := paymentsPage{page: h.page(r, "Payments"), Enabled: pay.client != nil && pay.accounts != nil, stripeState: st,
		Countries: connectCountries, Country: country, Errors: errs}
	if pay.accounts != nil {
		bp, err := pay.accounts.CommissionBP(ctx)
		if err != nil {
			h.log.Warn("cannot read the platform's commission", "err", err)
		} else {
			s, err := storefront.LoadSettings(ctx, t.Pool)
			if err != nil {
				return err
			}
			p.Commission = percent(bp)
			if digits, ok := money.CurrencyDigits(s.Currency); ok {
				hundred := int64(100)
				for range digits {
					hundred *= 10
				}
				p.Example = fmt.Sprintf("on an order of %s, the platform keeps %s", money.Format(hundred, s.Currency),
					money.Format(hundred*int64(bp)/10000, s.Currency))
			}
		}
	}
	return h.templates.Render(w, status, "admin_payments", p)
}

// percent writes basis points as a percentage: 500 → "5 %", 1950 → "19.5 %".
func percent(bp int) string {
	s := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + " %"
}

// paymentsOff sends a member back to the Payments page with why nothing
// happened.
func (h *Handler) paymentsOff(w http.ResponseWriter, r *http.Request, msg string) error {
	h.sessions.Put(r.Context(), keyFlashError, msg)
	http.Redirect(w, r, tenant.FromContext(r.Context()).Base+"/admin/payments", http.StatusSeeOther)
	return nil
}

const msgPaymentsOff = "Payments are not available on this platform yet. Ask the platform's operator to set up Stripe."

// stripeError is a Stripe call that failed, for the member to read.
func stripeError(what string, err error) error {
	return &web.Error{Status: http.StatusBadGateway, Message: what + ": " + payments.Message(err) +
		" Nothing was lost; please try again in a moment.", Err: err}
}

// POST /admin/payments/connect: create the shop's Express account (or
// take the one it has), record it with the control plane (which routes
// Stripe's events by it) and in the shop, then send the member to
// Stripe's onboarding. Each step can be run again: after a crash between
// two of them, the next attempt finishes the job with the same account.
func (h *Handler) paymentsConnect(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pay := h.pay()
	if pay.client == nil || pay.accounts == nil {
		return h.paymentsOff(w, r, msgPaymentsOff)
	}
	st, err := loadStripeState(ctx, t.Pool)
	if err != nil {
		return err
	}
	acct := st.Account
	if acct == "" {
		// An account made by an attempt that stopped before the shop's
		// profile recorded it (its creation is journaled first).
		if acct, err = createdAccount(ctx, t); err != nil {
			return err
		}
	}
	if acct == "" {
		country := strings.ToUpper(strings.TrimSpace(r.PostFormValue("country")))
		if !validChoice(connectCountries, country) {
			return h.renderPayments(w, r, http.StatusUnprocessableEntity, country,
				map[string]string{"country": "Choose the country where your business is registered."})
		}
		email, err := ownerEmail(ctx, t, Current(ctx))
		if err != nil {
			return err
		}
		a, err := pay.client.CreateAccount(ctx, payments.NewAccount{VendorID: t.Entry.VendorID, Country: country, Email: email})
		if err != nil {
			return stripeError("Stripe did not open the account", err)
		}
		acct = a.ID
		if err := journalAccount(ctx, t, acct, actor(r, Current(ctx)), country); err != nil {
			return err
		}
	}
	// The control plane first: from now on the webhook knows whose
	// account it is. Recording the same account again changes nothing.
	if err := pay.accounts.RegisterStripeAccount(ctx, t.Entry.VendorID, acct); err != nil {
		if database.Code(err) == "23505" {
			return &web.Error{Status: http.StatusConflict, Err: err, Message: "The platform has another Stripe account on record for this shop. " +
				"Ask the platform's operator which one it is before connecting again."}
		}
		return err
	}
	if st.Account == "" {
		if err := recordAccount(ctx, t, acct, actor(r, Current(ctx))); err != nil {
			return err
		}
	}
	return h.toOnboarding(w, r, acct)
}

// createdAccount is the account the last connect attempt created, if
// any: the audit entry payments.account_created is written right after
// Stripe answers, before anything else, so an attempt that stopped half
// way (a crash, a lost control plane) is finished with the same account,
// whatever Stripe's idempotency window.
func createdAccount(ctx context.Context, t *tenant.Tenant) (string, error) {
	var acct string
	err := t.Pool.QueryRow(ctx, `SELECT target_id FROM audit_log WHERE action = 'payments.account_created'
		ORDER BY id DESC LIMIT 1`).Scan(&acct)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look for a Stripe account made before: %w", err)
	}
	return acct, nil
}

// journalAccount records that Stripe created the shop's account.
func journalAccount(ctx context.Context, t *tenant.Tenant, acct string, e staff.Entry, country string) error {
	return database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		e.Action, e.TargetType, e.TargetID = "payments.account_created", "stripe_account", acct
		e.After = map[string]any{"stripe_account_id": acct, "country": country, "type": "express"}
		return staff.Audit(ctx, tx, e)
	})
}

// ownerEmail is the shop owner's address, which Stripe prefills at
// onboarding (the member's own if the shop has no owner on record).
func ownerEmail(ctx context.Context, t *tenant.Tenant, m *staff.Member) (string, error) {
	var email string
	err := t.Pool.QueryRow(ctx, `SELECT email FROM staff WHERE is_owner ORDER BY id LIMIT 1`).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) && m != nil {
		return m.Email, nil
	}
	if err != nil {
		return "", fmt.Errorf("read the owner's e-mail address: %w", err)
	}
	return email, nil
}

// errOtherAccount means the shop recorded another account meanwhile.
var errOtherAccount = &web.Error{Status: http.StatusConflict,
	Message: "This shop was connected to another Stripe account a moment ago. Reload the Payments page."}

// recordAccount writes the account into the shop's profile, with an
// audit entry.
func recordAccount(ctx context.Context, t *tenant.Tenant, acct string, e staff.Entry) error {
	return database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		var before *string
		if err := tx.QueryRow(ctx, `SELECT stripe_account_id FROM shop_profile FOR UPDATE`).Scan(&before); err != nil {
			return fmt.Errorf("lock the shop's profile: %w", err)
		}
		switch {
		case before != nil && *before == acct:
			return nil
		case before != nil:
			return errOtherAccount
		}
		if _, err := tx.Exec(ctx, `UPDATE shop_profile SET stripe_account_id = $1, stripe_charges_enabled = false,
			stripe_details_submitted = false`, acct); err != nil {
			return fmt.Errorf("record the shop's Stripe account: %w", err)
		}
		e.Action, e.TargetType, e.TargetID = "payments.connected", "stripe_account", acct
		e.After = map[string]any{"stripe_account_id": acct}
		return staff.Audit(ctx, tx, e)
	})
}

// toOnboarding sends the member to a fresh onboarding link of the account,
// which brings them back to this shop's own domain as the control plane
// knows it (never the request's Host).
func (h *Handler) toOnboarding(w http.ResponseWriter, r *http.Request, acct string) error {
	t := tenant.FromContext(r.Context())
	refresh, err := h.absURL(t, "/admin/payments/refresh")
	if err != nil {
		return err
	}
	back, err := h.absURL(t, "/admin/payments/return")
	if err != nil {
		return err
	}
	link, err := h.pay().client.OnboardingLink(r.Context(), acct, refresh, back)
	if err != nil {
		return stripeError("Stripe did not start the set-up", err)
	}
	http.Redirect(w, r, link, http.StatusSeeOther)
	return nil
}

// GET /admin/payments/return: Stripe sends the member back here when they
// leave onboarding (done or not); the account's state is read from Stripe
// and kept.
func (h *Handler) paymentsReturn(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pay := h.pay()
	if pay.client == nil {
		return h.paymentsOff(w, r, msgPaymentsOff)
	}
	st, err := loadStripeState(ctx, t.Pool)
	if err != nil {
		return err
	}
	if st.Account == "" {
		return h.paymentsOff(w, r, "This shop has no Stripe account yet. Choose your country and connect with Stripe.")
	}
	a, err := pay.client.GetAccount(ctx, st.Account)
	if err != nil {
		return stripeError("Stripe did not tell us about your account", err)
	}
	err = database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE shop_profile SET stripe_charges_enabled = $2, stripe_details_submitted = $3
			WHERE stripe_account_id = $1 AND (stripe_charges_enabled, stripe_details_submitted) IS DISTINCT FROM ($2, $3)`,
			a.ID, a.ChargesEnabled, a.DetailsSubmitted)
		if err != nil {
			return fmt.Errorf("record the state of the shop's Stripe account: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		e := actor(r, Current(ctx))
		e.Action, e.TargetType, e.TargetID = "payments.account_updated", "stripe_account", a.ID
		e.Before = map[string]any{"charges_enabled": st.ChargesEnabled, "details_submitted": st.DetailsSubmitted}
		e.After = map[string]any{"charges_enabled": a.ChargesEnabled, "details_submitted": a.DetailsSubmitted}
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	switch {
	case a.ChargesEnabled:
		h.sessions.Put(ctx, keyFlash, "Your Stripe account is ready: the shop takes payments.")
	case a.DetailsSubmitted:
		h.sessions.Put(ctx, keyFlash, "Stripe has your details and is checking them; the shop takes payments as soon as Stripe enables charges.")
	default:
		h.sessions.Put(ctx, keyFlashError, "Stripe still needs some details before the shop can take payments. Continue the set-up when you are ready.")
	}
	http.Redirect(w, r, t.Base+"/admin/payments", http.StatusSeeOther)
	return nil
}

// GET /admin/payments/refresh: Stripe sends the member here when the
// onboarding link ran out or was used; a new one is made.
func (h *Handler) paymentsRefresh(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	if h.pay().client == nil {
		return h.paymentsOff(w, r, msgPaymentsOff)
	}
	st, err := loadStripeState(ctx, t.Pool)
	if err != nil {
		return err
	}
	if st.Account == "" {
		return h.paymentsOff(w, r, "This shop has no Stripe account yet. Choose your country and connect with Stripe.")
	}
	return h.toOnboarding(w, r, st.Account)
}
