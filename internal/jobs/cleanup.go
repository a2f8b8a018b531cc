package jobs

// The periodic clean-up (issue 8, item 9): on cleanup.schedule, every
// active and suspended vendor is cleaned (internal/cleanup) as its own
// database role, a few at a time; then the control plane's own tables.
// A vendor that fails does not stop the others; the run's summary is the
// job's recorded output (the console's job pages show it), a log line,
// and a warning alert naming the vendors that failed.

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/cleanup"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/wiring"
)

// CleanupArgs runs the periodic clean-up.
type CleanupArgs struct{}

// Kind names the job.
func (CleanupArgs) Kind() string { return "cleanup" }

// CleanupSummary is what a clean-up run did: totals over the vendors, the
// control plane's part, and the vendors that failed (the first 50).
type CleanupSummary struct {
	Vendors  int                    `json:"vendors"`
	Totals   cleanup.VendorResult   `json:"totals"`
	Platform cleanup.PlatformResult `json:"platform"`
	Failed   []string               `json:"failed,omitempty"`
	Skipped  []string               `json:"skipped,omitempty"` // read-only (being moved): next run
	Seconds  float64                `json:"seconds"`
}

type cleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	p   *wiring.Platform
	log *slog.Logger
}

func (w *cleanupWorker) Timeout(*river.Job[CleanupArgs]) time.Duration { return 2 * time.Hour }

func (w *cleanupWorker) Work(ctx context.Context, job *river.Job[CleanupArgs]) error {
	sum, err := Cleanup(ctx, w.p, w.log, time.Now())
	if oerr := river.RecordOutput(ctx, sum); oerr != nil && w.log != nil {
		w.log.Warn("cannot record the clean-up's summary", "err", oerr)
	}
	if err != nil {
		return err
	}
	if len(sum.Failed) > 0 {
		// Not retried as a whole: the next scheduled run takes every vendor again.
		return river.JobCancel(fmt.Errorf("clean-up failed for %d vendors: %s", len(sum.Failed), strings.Join(sum.Failed, "; ")))
	}
	return nil
}

// CleanupPolicy reads the clean-up's policy from the platform settings.
func CleanupPolicy(values map[string]string) cleanup.Policy {
	day := 24 * time.Hour
	days := func(key string) time.Duration { return time.Duration(platform.SettingInt(values, key)) * day }
	p := cleanup.DefaultPolicy()
	p.Batch = platform.SettingInt(values, "cleanup.batch")
	p.CartAge = days("cleanup.cart_days")
	p.TokenAge = days("cleanup.token_days")
	p.NotificationAge = days("cleanup.notification_days")
	p.ImportFileAge = days("cleanup.import_file_days")
	p.StripeEventAge = days("cleanup.stripe_event_days")
	return p
}

// Cleanup runs one clean-up of every active and suspended vendor and of
// the control plane, as of now.
func Cleanup(ctx context.Context, p *wiring.Platform, log *slog.Logger, now time.Time) (CleanupSummary, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	var sum CleanupSummary
	values, err := p.Store.SettingValues(ctx)
	if err != nil {
		return sum, err
	}
	policy := CleanupPolicy(values)
	vendors, err := p.Store.ListVendors(ctx, platform.VendorFilter{States: []platform.State{platform.StateActive, platform.StateSuspended}})
	if err != nil {
		return sum, fmt.Errorf("clean-up: %w", err)
	}
	stripe, err := payments.New(payments.Config{SecretKey: p.Cfg.StripeSecretKey, URL: p.Cfg.StripeURL})
	if err != nil {
		log.Warn("clean-up: payments of expired orders are not cancelled at Stripe", "err", err)
	}
	var canceller cleanup.PaymentCanceller
	if stripe != nil {
		canceller = stripe
	}

	var mu sync.Mutex
	var failures []struct {
		id  int64
		msg string
	}
	sem := make(chan struct{}, max(1, platform.SettingInt(values, "cleanup.parallel")))
	var wg sync.WaitGroup
	for _, v := range vendors {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			vctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			res, skipped, err := cleanVendor(vctx, p, v, policy, canceller, log, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case skipped:
				sum.Skipped = append(sum.Skipped, v.Slug)
				return
			case err != nil:
				failures = append(failures, struct {
					id  int64
					msg string
				}{v.ID, err.Error()})
				if len(sum.Failed) < 50 {
					sum.Failed = append(sum.Failed, err.Error())
				}
			}
			sum.Vendors++
			t := &sum.Totals
			t.Carts += res.Carts
			t.Reservations += res.Reservations
			t.PaymentsCancelled += res.PaymentsCancelled
			t.CustomerTokens += res.CustomerTokens
			t.StaffTokens += res.StaffTokens
			t.NotificationsWiped += res.NotificationsWiped
			t.ImportFiles += res.ImportFiles
		}()
	}
	wg.Wait()
	sum.Totals.Vendor = ""
	var perr error
	sum.Platform, perr = cleanup.Platform(ctx, p.Store.Pool(), policy, now)
	if perr != nil {
		sum.Failed = append(sum.Failed, perr.Error())
		failures = append(failures, struct {
			id  int64
			msg string
		}{0, perr.Error()})
	}
	sum.Seconds = time.Since(start).Seconds()
	log.Info("clean-up done", "vendors", sum.Vendors, "carts", sum.Totals.Carts, "reservations", sum.Totals.Reservations,
		"payments_cancelled", sum.Totals.PaymentsCancelled, "customer_tokens", sum.Totals.CustomerTokens,
		"staff_tokens", sum.Totals.StaffTokens, "notifications", sum.Totals.NotificationsWiped, "import_files", sum.Totals.ImportFiles,
		"stripe_events", sum.Platform.StripeEvents, "admin_sessions", sum.Platform.AdminSessions,
		"failed", len(failures), "skipped", len(sum.Skipped), "seconds", sum.Seconds)
	for _, f := range failures {
		log.Warn("clean-up failed", "vendor_id", f.id, "err", f.msg)
		if err := backup.Alert(context.WithoutCancel(ctx), p.Store, "warning", "cleanup.failed", f.id, "Clean-up: "+f.msg); err != nil {
			log.Warn("cannot raise the clean-up's alert", "err", err)
		}
	}
	return sum, nil
}

// cleanVendor cleans one vendor as its own role; a vendor being moved
// (read-only) is skipped until the next run.
func cleanVendor(ctx context.Context, p *wiring.Platform, v *platform.Vendor, policy cleanup.Policy,
	stripe cleanup.PaymentCanceller, log *slog.Logger, now time.Time) (cleanup.VendorResult, bool, error) {
	var readOnly bool
	if err := p.Store.Pool().QueryRow(ctx, `SELECT read_only FROM vendors WHERE id = $1`, v.ID).Scan(&readOnly); err != nil {
		return cleanup.VendorResult{}, false, fmt.Errorf("vendor %s: %w", v.Slug, err)
	}
	if readOnly {
		return cleanup.VendorResult{}, true, nil
	}
	u, err := p.Prov.VendorDatabaseURL(ctx, v)
	if err != nil {
		return cleanup.VendorResult{}, false, fmt.Errorf("vendor %s: %w", v.Slug, err)
	}
	pool, err := database.Open(ctx, u, func(c *pgxpool.Config) { c.MaxConns = 2 })
	if err != nil {
		return cleanup.VendorResult{}, false, fmt.Errorf("vendor %s: %w", v.Slug, err)
	}
	defer pool.Close()
	target := cleanup.Vendor{ID: v.ID, Slug: v.Slug, Pool: pool, Bucket: v.Bucket, Stripe: stripe, Log: log}
	if objects, err := p.Objects.VendorClient(v.Bucket); err == nil {
		target.Objects = objects
	} else {
		log.Warn("clean-up: feed files skipped", "vendor", v.Slug, "err", err)
	}
	res, err := cleanup.Run(ctx, target, policy, now)
	return res, false, err
}
