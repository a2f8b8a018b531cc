// Package stripehook is the platform's Stripe Connect webhook, POST
// /webhooks/stripe on the control plane. Every delivery is verified
// against the endpoint's signing secret (nothing at all is written for one
// that fails), recorded by event id in stripe_events (a replay has no
// effect), routed to a vendor by the connected account it came from
// (never by what the event's metadata claims), and applied to that
// vendor's database, as the vendor's own role, through internal/orders,
// whose functions are idempotent: the webhook and the shopper coming back
// from Stripe may report one payment in any order, any number of times.
package stripehook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"

	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// MaxBody is the largest delivery read: Stripe's events are a few KiB.
const MaxBody = 256 << 10

// DatabaseURLs gives the connection URL of a vendor's database as the
// vendor's own role (provision.Provisioner is one).
type DatabaseURLs interface {
	VendorDatabaseURL(ctx context.Context, v *platform.Vendor) (string, error)
}

// Options wire a Handler.
type Options struct {
	Store *platform.Store
	DBs   DatabaseURLs
	// Stripe is the platform's client, for refunds the webhook must make
	// (a payment for an order that can no longer be served) and refunds a
	// charge.refunded event does not list. nil: payments are off.
	Stripe *payments.Client
	// Secret is the endpoint's signing secret (whsec_…,
	// STOREFLEET_STRIPE_WEBHOOK_SECRET); empty: every delivery is refused.
	Secret string
	// TenantPublicURL is the tenant app's public URL with {host} standing
	// for a vendor's host: links in order confirmations are built on it.
	TenantPublicURL string
	Logger          *slog.Logger
	// MaxPools, PoolIdle and PoolConns size the cache of vendor pools
	// (defaults 16, 2 minutes, 2 connections each).
	MaxPools  int
	PoolIdle  time.Duration
	PoolConns int32
}

// Handler serves the webhook.
type Handler struct {
	o     Options
	log   *slog.Logger
	pools *vendorPools
}

// New returns the webhook handler; Close releases its vendor pools.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxPools <= 0 {
		o.MaxPools = 16
	}
	if o.PoolIdle <= 0 {
		o.PoolIdle = 2 * time.Minute
	}
	if o.PoolConns <= 0 {
		o.PoolConns = 2
	}
	return &Handler{o: o, log: o.Logger.With("component", "stripe_webhook"),
		pools: newVendorPools(o.MaxPools, o.PoolIdle, o.PoolConns)}
}

// Close closes the vendor pools.
func (h *Handler) Close() { h.pools.close() }

// OpenPools is how many vendor pools the handler keeps open (tests).
func (h *Handler) OpenPools() int { return h.pools.open() }

// Answers in the body of a 200.
const (
	statusApplied   = "applied"
	statusIgnored   = "ignored"
	statusDuplicate = "duplicate"
)

// result is what processing an event came to: the outcome recorded in
// stripe_events ("applied: …" or "ignored: …").
type result struct {
	status string
	detail string
}

func applied(format string, args ...any) result {
	return result{status: statusApplied, detail: fmt.Sprintf(format, args...)}
}

func ignored(format string, args ...any) result {
	return result{status: statusIgnored, detail: fmt.Sprintf(format, args...)}
}

func (r result) outcome() string { return r.status + ": " + r.detail }

// errRetry is an event that cannot be applied now (its vendor is
// suspended or being moved): 503, and Stripe sends it again later.
type errRetry struct {
	reason string
	after  int // seconds
}

func (e *errRetry) Error() string { return e.reason }

// ServeHTTP handles POST /webhooks/stripe.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if h.o.Secret == "" {
		writeError(w, http.StatusServiceUnavailable, 0,
			"the Stripe webhook is not set up on this platform (STOREFLEET_STRIPE_WEBHOOK_SECRET is empty)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, 0, fmt.Sprintf("the body is larger than %d KiB", MaxBody>>10))
			return
		}
		writeError(w, http.StatusBadRequest, 0, "the body could not be read")
		return
	}
	ev, err := payments.ParseEvent(body, r.Header.Get(payments.SignatureHeader), h.o.Secret)
	if err != nil {
		h.log.Warn("stripe webhook refused", "err", err, "request_id", web.RequestID(ctx))
		writeError(w, http.StatusBadRequest, 0, "signature check failed: "+err.Error())
		return
	}
	log := h.log.With("event", ev.ID, "type", string(ev.Type), "account", ev.Account)

	done, outcome, err := h.receive(ctx, ev)
	if err != nil {
		log.Error("stripe webhook: cannot record the event", "err", err)
		writeError(w, http.StatusInternalServerError, 0, "the event could not be recorded; send it again")
		return
	}
	if done {
		web.WriteJSON(w, http.StatusOK, map[string]string{"status": statusDuplicate, "event": ev.ID, "outcome": outcome})
		return
	}

	res, vendorID, err := h.process(ctx, log, ev)
	var retry *errRetry
	switch {
	case errors.As(err, &retry):
		h.note(ctx, log, ev.ID, vendorID, "waiting: "+retry.reason)
		log.Info("stripe webhook: event deferred", "reason", retry.reason)
		writeError(w, http.StatusServiceUnavailable, retry.after, retry.reason)
		return
	case err != nil:
		h.note(ctx, log, ev.ID, vendorID, "failed: "+err.Error())
		log.Error("stripe webhook: applying the event failed", "vendor_id", vendorID, "err", err)
		writeError(w, http.StatusInternalServerError, 0, "the event could not be applied; Stripe will send it again")
		return
	}
	if err := h.finish(ctx, ev.ID, vendorID, res.outcome()); err != nil {
		log.Error("stripe webhook: cannot record the event's outcome", "err", err)
		writeError(w, http.StatusInternalServerError, 0, "the event's outcome could not be recorded; send it again")
		return
	}
	log.Debug("stripe webhook: event processed", "vendor_id", vendorID, "outcome", res.outcome())
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": res.status, "event": ev.ID, "outcome": res.detail})
}

// receive records the event at first sight and says whether it was
// processed before (and how).
func (h *Handler) receive(ctx context.Context, ev stripe.Event) (bool, string, error) {
	pool := h.o.Store.Pool()
	if _, err := pool.Exec(ctx, `INSERT INTO stripe_events (id, type, account_id) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO NOTHING`, ev.ID, string(ev.Type), ev.Account); err != nil {
		return false, "", fmt.Errorf("record event %s: %w", ev.ID, err)
	}
	var processed *time.Time
	var outcome string
	if err := pool.QueryRow(ctx, `SELECT processed_at, outcome FROM stripe_events WHERE id = $1`, ev.ID).
		Scan(&processed, &outcome); err != nil {
		return false, "", fmt.Errorf("read event %s: %w", ev.ID, err)
	}
	return processed != nil, outcome, nil
}

// finish records that the event was processed. An event processed twice
// at once (two deliveries racing) keeps the first outcome.
func (h *Handler) finish(ctx context.Context, id string, vendorID int64, outcome string) error {
	_, err := h.o.Store.Pool().Exec(ctx, `UPDATE stripe_events SET processed_at = now(), outcome = $2,
			vendor_id = coalesce(nullif($3, 0::bigint), vendor_id)
		WHERE id = $1 AND processed_at IS NULL`, id, truncate(outcome, 2000), vendorID)
	if err != nil {
		return fmt.Errorf("record the outcome of event %s: %w", id, err)
	}
	return nil
}

// noteTimeout bounds note, which runs after the request's own deadline
// may have passed: a control-plane database that hangs must not hold the
// webhook's answer for longer.
const noteTimeout = 2 * time.Second

// note records why an event is not processed yet; it stays open, so the
// next delivery processes it.
func (h *Handler) note(ctx context.Context, log *slog.Logger, id string, vendorID int64, outcome string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noteTimeout)
	defer cancel()
	_, err := h.o.Store.Pool().Exec(ctx, `UPDATE stripe_events SET outcome = $2,
			vendor_id = coalesce(nullif($3, 0::bigint), vendor_id)
		WHERE id = $1 AND processed_at IS NULL`, id, truncate(outcome, 2000), vendorID)
	if err != nil {
		log.Warn("stripe webhook: cannot note the event's state", "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// writeError answers with {"error": {"status", "message"}} and, for a
// 503, Retry-After.
func writeError(w http.ResponseWriter, status, retryAfter int, message string) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(retryAfter))
	}
	web.WriteJSON(w, status, map[string]any{"error": map[string]any{"status": status, "message": message}})
}

// route finds the vendor of the connected account an event came from.
// It returns nil and a reason when the event is not for any vendor.
func (h *Handler) route(ctx context.Context, account string) (*platform.Vendor, string, error) {
	if account == "" {
		return nil, "the event is not from a connected account", nil
	}
	var vendorID int64
	err := h.o.Store.Pool().QueryRow(ctx, `SELECT vendor_id FROM stripe_accounts WHERE account_id = $1`, account).Scan(&vendorID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "no vendor is connected to account " + account, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("find the vendor of account %s: %w", account, err)
	}
	v, err := h.o.Store.VendorByID(ctx, vendorID)
	if errors.Is(err, platform.ErrNotFound) {
		return nil, fmt.Sprintf("vendor %d of account %s does not exist", vendorID, account), nil
	}
	if err != nil {
		return nil, "", err
	}
	return v, "", nil
}

// shopURL is the vendor's shop on its primary domain as the control plane
// knows it.
func (h *Handler) shopURL(v *platform.Vendor) (string, error) {
	if !strings.Contains(h.o.TenantPublicURL, "{host}") {
		return "", fmt.Errorf("the tenant app's public URL %q has no {host}", h.o.TenantPublicURL)
	}
	if v.Host == "" {
		return "", fmt.Errorf("vendor %s has no domain", v.Slug)
	}
	return strings.TrimSuffix(strings.ReplaceAll(h.o.TenantPublicURL, "{host}", v.Host), "/"), nil
}
