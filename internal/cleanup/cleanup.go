// Package cleanup removes what has expired from a vendor's database and
// bucket, and from the control plane: anonymous carts nobody came back
// to, stock reservations of orders that were not paid in time (with their
// Stripe PaymentIntents), used and expired one-time tokens, the data of
// e-mails sent long ago, old marketplace feed files, old Stripe event ids
// and ended admin session records. Every step removes at most Batch rows,
// so a run is bounded, and only what is expired, so a run is idempotent:
// what one run leaves, the next takes. The job system runs it
// (internal/jobs/cleanup.go).
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/orders"
)

// Policy says what counts as expired, and how much one run may remove.
type Policy struct {
	// Batch is the most rows of each kind removed per vendor per run.
	Batch int
	// CartAge: anonymous carts not updated for this long are deleted.
	CartAge time.Duration
	// TokenAge: one-time tokens used or expired this long ago are deleted.
	TokenAge time.Duration
	// NotificationAge: sent e-mails' data (names, links, order details)
	// is emptied this long after sending; the log line stays.
	NotificationAge time.Duration
	// ImportFileAge: feed files of imports that ended this long ago are
	// removed from the vendor's bucket.
	ImportFileAge time.Duration
	// StripeEventAge: Stripe event ids received this long ago are
	// forgotten (Stripe retries an event for 3 days at most).
	StripeEventAge time.Duration
	// AdminSessionAge: admin session records that ended (or were last
	// seen) this long ago are deleted.
	AdminSessionAge time.Duration
}

// DefaultPolicy is the policy of the platform settings' defaults.
func DefaultPolicy() Policy {
	day := 24 * time.Hour
	return Policy{Batch: 1000, CartAge: 30 * day, TokenAge: 7 * day, NotificationAge: 90 * day,
		ImportFileAge: 30 * day, StripeEventAge: 90 * day, AdminSessionAge: 30 * day}
}

// PaymentCanceller cancels a PaymentIntent on a connected account;
// payments.Client is one.
type PaymentCanceller interface {
	CancelPaymentIntent(ctx context.Context, account, id string) error
}

// Vendor is what a vendor's clean-up works on.
type Vendor struct {
	ID      int64
	Slug    string
	Pool    *pgxpool.Pool // connected as the vendor's own role
	Objects *minio.Client // the vendor's bucket credentials; nil: files are skipped
	Bucket  string
	// Stripe cancels the payments of released reservations; nil: they
	// are left to expire at Stripe.
	Stripe PaymentCanceller
	Log    *slog.Logger
}

// VendorResult counts what a vendor's clean-up removed; Errors are the
// steps that failed (the others still ran).
type VendorResult struct {
	Vendor             string   `json:"vendor"`
	Carts              int64    `json:"carts"`
	Reservations       int      `json:"reservations"`
	PaymentsCancelled  int      `json:"payments_cancelled"`
	CustomerTokens     int64    `json:"customer_tokens"`
	StaffTokens        int64    `json:"staff_tokens"`
	NotificationsWiped int64    `json:"notifications_wiped"`
	ImportFiles        int      `json:"import_files"`
	Errors             []string `json:"errors,omitempty"`
}

// Removed is the number of things the clean-up removed.
func (r VendorResult) Removed() int64 {
	return r.Carts + int64(r.Reservations) + r.CustomerTokens + r.StaffTokens + r.NotificationsWiped + int64(r.ImportFiles)
}

// Run cleans one vendor. A step that fails is recorded in the result and
// the next one runs; the error returned is the first step's that failed.
func Run(ctx context.Context, v Vendor, p Policy, now time.Time) (VendorResult, error) {
	res := VendorResult{Vendor: v.Slug}
	var first error
	step := func(what string, err error) {
		if err == nil || database.Code(err) == "42P01" { // a schema without the table yet: nothing to do
			return
		}
		err = fmt.Errorf("%s of vendor %s: %w", what, v.Slug, err)
		res.Errors = append(res.Errors, err.Error())
		if first == nil {
			first = err
		}
	}
	var err error
	res.Carts, err = exec(ctx, v.Pool, `DELETE FROM carts WHERE id IN (SELECT id FROM carts
		WHERE customer_id IS NULL AND updated_at < $1 ORDER BY updated_at LIMIT $2)`, now.Add(-p.CartAge), p.Batch)
	step("delete abandoned carts", err)
	res.Reservations, res.PaymentsCancelled, err = releaseReservations(ctx, v, p, now)
	step("release expired reservations", err)
	res.CustomerTokens, err = exec(ctx, v.Pool, `DELETE FROM customer_tokens WHERE id IN (SELECT id FROM customer_tokens
		WHERE used_at < $1 OR expires_at < $1 LIMIT $2)`, now.Add(-p.TokenAge), p.Batch)
	step("delete old customer tokens", err)
	res.StaffTokens, err = exec(ctx, v.Pool, `DELETE FROM staff_tokens WHERE id IN (SELECT id FROM staff_tokens
		WHERE purpose IN ('invite', 'reset') AND (used_at < $1 OR expires_at < $1) LIMIT $2)`, now.Add(-p.TokenAge), p.Batch)
	step("delete old staff tokens", err)
	res.NotificationsWiped, err = exec(ctx, v.Pool, `UPDATE notifications SET data = '{}' WHERE id IN (SELECT id FROM notifications
		WHERE state = 'sent' AND sent_at < $1 AND data <> '{}' ORDER BY id LIMIT $2)`, now.Add(-p.NotificationAge), p.Batch)
	step("empty the data of old e-mails", err)
	if v.Objects != nil {
		res.ImportFiles, err = removeImportFiles(ctx, v, p, now)
		step("remove old feed files", err)
	}
	return res, first
}

func exec(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) (int64, error) {
	tag, err := pool.Exec(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// releaseReservations gives back the stock of orders not paid in time
// (orders.ReleaseExpired, as the checkout does) and cancels their
// PaymentIntents at Stripe. A cancellation that fails is logged: the
// intent expires at Stripe by itself, and a payment that still arrives
// for the cancelled order is refunded by the webhook.
func releaseReservations(ctx context.Context, v Vendor, p Policy, now time.Time) (released, cancelled int, err error) {
	expired, err := orders.ReleaseExpired(ctx, v.Pool, now, p.Batch)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range expired {
		if e.IntentID == "" || v.Stripe == nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cerr := v.Stripe.CancelPaymentIntent(cctx, e.Account, e.IntentID)
		cancel()
		if cerr != nil {
			if v.Log != nil {
				v.Log.Warn("cannot cancel the payment of an expired order", "vendor", v.Slug, "order", e.OrderID, "err", cerr)
			}
			continue
		}
		cancelled++
	}
	return len(expired), cancelled, nil
}

// removeImportFiles removes the feed files of imports that ended (finished,
// failed or cancelled) long ago, and forgets their keys; the imports'
// records and counts stay.
func removeImportFiles(ctx context.Context, v Vendor, p Policy, now time.Time) (int, error) {
	rows, err := v.Pool.Query(ctx, `SELECT id, object_key FROM imports
		WHERE state IN ('finished', 'failed', 'cancelled') AND object_key <> '' AND coalesce(finished_at, created_at) < $1
		ORDER BY id LIMIT $2`, now.Add(-p.ImportFileAge), p.Batch)
	if err != nil {
		return 0, err
	}
	type file struct {
		id  int64
		key string
	}
	var files []file
	var f file
	for rows.Next() {
		if err := rows.Scan(&f.id, &f.key); err != nil {
			rows.Close()
			return 0, err
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		err := v.Objects.RemoveObject(ctx, v.Bucket, f.key, minio.RemoveObjectOptions{})
		var me minio.ErrorResponse
		if err != nil && !(errors.As(err, &me) && me.Code == "NoSuchKey") {
			return n, fmt.Errorf("remove %s: %w", f.key, err)
		}
		// The state is checked again: an import started again since keeps its file.
		if _, err := v.Pool.Exec(ctx, `UPDATE imports SET object_key = '' WHERE id = $1 AND object_key = $2
			AND state IN ('finished', 'failed', 'cancelled')`, f.id, f.key); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// PlatformResult counts what the control plane's clean-up removed.
type PlatformResult struct {
	StripeEvents  int64 `json:"stripe_events"`
	AdminSessions int64 `json:"admin_sessions"`
	// AdminSessionsSkipped is true where the control plane keeps no admin
	// session records (sessions live in Redis and expire there by TTL).
	AdminSessionsSkipped bool `json:"admin_sessions_skipped,omitempty"`
}

// Platform cleans the control-plane database: Stripe event ids older than
// StripeEventAge, and admin session records that ended AdminSessionAge ago
// (when the control plane keeps such records).
func Platform(ctx context.Context, cp *pgxpool.Pool, p Policy, now time.Time) (PlatformResult, error) {
	var res PlatformResult
	var err error
	res.StripeEvents, err = exec(ctx, cp, `DELETE FROM stripe_events WHERE id IN (SELECT id FROM stripe_events
		WHERE received_at < $1 ORDER BY received_at LIMIT $2)`, now.Add(-p.StripeEventAge), p.Batch)
	if err != nil {
		return res, fmt.Errorf("forget old Stripe events: %w", err)
	}
	var table *string
	if err := cp.QueryRow(ctx, `SELECT to_regclass('admin_sessions')::text`).Scan(&table); err != nil {
		return res, fmt.Errorf("look for admin session records: %w", err)
	}
	if table == nil {
		res.AdminSessionsSkipped = true
		return res, nil
	}
	res.AdminSessions, err = exec(ctx, cp, `DELETE FROM admin_sessions WHERE id IN (SELECT id FROM admin_sessions
		WHERE coalesce(ended_at, last_seen_at) < $1 ORDER BY id LIMIT $2)`, now.Add(-p.AdminSessionAge), p.Batch)
	if err != nil {
		return res, fmt.Errorf("delete old admin session records: %w", err)
	}
	return res, nil
}
