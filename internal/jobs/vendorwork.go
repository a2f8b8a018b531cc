package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/notify"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/wiring"
	"github.com/storefleet/storefleet/templates"
)

// VendorWorkArgs runs one kind of a vendor's queued work: "imports",
// "publishes", "images" or "mail" (its e-mail outbox). The work itself
// is described in the vendor's database; the job drains what is due. Two jobs for one vendor and kind
// are harmless: each item is claimed by one worker at a time.
type VendorWorkArgs struct {
	VendorID int64  `json:"vendor_id"`
	Work     string `json:"work"`
}

// Kind names the job.
func (VendorWorkArgs) Kind() string { return "vendor_work" }

// InsertOpts puts vendor work on a queue of its own, so that a long
// import never holds up backups, and backups never hold up imports.
func (VendorWorkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueVendorWork, MaxAttempts: 10}
}

// QueueVendorWork is the River queue of vendor work.
const QueueVendorWork = "vendor_work"

// WorkChannel is the NOTIFY channel request_vendor_work signals on.
const WorkChannel = "storefleet_vendor_work"

type vendorWorkWorker struct {
	river.WorkerDefaults[VendorWorkArgs]
	p   *wiring.Platform
	mp  *marketplace.Runner
	log *slog.Logger

	mailOnce sync.Once
	mailer   *mail.Mailer
	mailErr  error
}

// Timeout bounds one drain: a million-row import takes minutes.
func (w *vendorWorkWorker) Timeout(*river.Job[VendorWorkArgs]) time.Duration { return 2 * time.Hour }

func (w *vendorWorkWorker) Work(ctx context.Context, job *river.Job[VendorWorkArgs]) error {
	a := job.Args
	started := time.Now()
	v, err := w.p.Store.VendorByID(ctx, a.VendorID)
	if errors.Is(err, platform.ErrNotFound) {
		return w.done(ctx, a, started)
	}
	if err != nil {
		return err
	}
	switch {
	case v.State == platform.StateDeleting || v.State == platform.StateDeleted:
		return w.done(ctx, a, started)
	case v.State != platform.StateActive:
		return river.JobSnooze(5 * time.Minute) // suspended: its work waits
	}
	var readOnly bool
	if err := w.p.Store.Pool().QueryRow(ctx, `SELECT read_only FROM vendors WHERE id = $1`, v.ID).Scan(&readOnly); err != nil {
		return fmt.Errorf("vendor %s: %w", v.Slug, err)
	}
	if readOnly {
		return river.JobSnooze(time.Minute) // being moved: back when it is writable
	}
	u, err := w.p.Prov.VendorDatabaseURL(ctx, v)
	if err != nil {
		return err
	}
	pool, err := database.Open(ctx, u, func(c *pgxpool.Config) { c.MaxConns = 4 })
	if err != nil {
		return fmt.Errorf("vendor %s: %w", v.Slug, err)
	}
	defer pool.Close()
	if a.Work == notify.WorkKind {
		return w.sendMail(ctx, a, v, pool, started)
	}
	objects, err := w.p.Objects.VendorClient(v.Bucket)
	if err != nil {
		return fmt.Errorf("vendor %s: bucket: %w", v.Slug, err)
	}
	vend := &marketplace.Vendor{ID: v.ID, Slug: v.Slug, Pool: pool, Bucket: v.Bucket, Objects: objects,
		Log: w.log.With("vendor", v.Slug, "work", a.Work)}
	next, err := w.mp.Drain(ctx, a.Work, vend)
	if err != nil {
		return err
	}
	if a.Work == marketplace.WorkPublishes {
		if err := w.requestImages(ctx, vend); err != nil {
			return err
		}
	}
	if !next.IsZero() {
		return river.JobSnooze(max(time.Until(next), time.Second))
	}
	return w.done(ctx, a, started)
}

// sendMail sends the vendor's due e-mails (its outbox, see
// internal/notify) through the platform's SMTP server. While messages
// wait for a later attempt the request stays open: the job snoozes until
// the next one is due, or, for a wait longer than the sweep's
// requeueAfter (retries back off up to 6 hours), ends and leaves the
// sweep to queue the request again, so snoozed jobs do not pile up.
func (w *vendorWorkWorker) sendMail(ctx context.Context, a VendorWorkArgs, v *platform.Vendor, pool *pgxpool.Pool, started time.Time) error {
	mailer, err := w.platformMailer()
	if err != nil {
		return err
	}
	log := w.log.With("vendor", v.Slug, "work", a.Work)
	if !mailer.Configured() {
		// The request stays open: the sweep brings it back.
		log.Warn("e-mail waits: the platform has no SMTP server (STOREFLEET_SMTP_URL)")
		return nil
	}
	next, err := notify.Drain(ctx, pool, mailer, notify.Options{ShopName: v.Name, Log: log})
	switch {
	case err != nil:
		return err
	case next.IsZero():
		return w.done(ctx, a, started)
	case time.Until(next) > requeueAfter:
		return nil
	}
	return river.JobSnooze(max(time.Until(next), time.Second))
}

// platformMailer is the platform's SMTP sender, made on first use.
func (w *vendorWorkWorker) platformMailer() (*mail.Mailer, error) {
	w.mailOnce.Do(func() {
		w.mailer, w.mailErr = mail.New(w.p.Cfg.SMTPURL, templates.FS, "tenantapp")
	})
	return w.mailer, w.mailErr
}

// requestImages asks for the vendor's image fetches to be run if a publish
// left some open: publishes queue them, and nothing else would ask.
func (w *vendorWorkWorker) requestImages(ctx context.Context, v *marketplace.Vendor) error {
	open, err := marketplace.HasOpenImageFetches(ctx, v.Pool)
	if err != nil || !open {
		return err
	}
	if _, err := w.p.Store.Pool().Exec(ctx, `SELECT request_vendor_work($1, $2)`, v.ID, marketplace.WorkImages); err != nil {
		return fmt.Errorf("vendor %s: ask for its image fetches: %w", v.Slug, err)
	}
	return nil
}

// done closes the request, unless it was made again since the job began.
func (w *vendorWorkWorker) done(ctx context.Context, a VendorWorkArgs, started time.Time) error {
	_, err := w.p.Store.Pool().Exec(ctx, `DELETE FROM vendor_work WHERE vendor_id = $1 AND kind = $2 AND requested_at <= $3`,
		a.VendorID, a.Work, started)
	if err != nil {
		return fmt.Errorf("close vendor work: %w", err)
	}
	return nil
}

// pump turns requests for vendor work into jobs: at once on a
// notification, and by a sweep every sweepEvery for requests whose job
// was lost (a control plane that died). At start it queues every open
// request again.
type pump struct {
	pool   *pgxpool.Pool
	client *river.Client[pgx.Tx]
	log    *slog.Logger
	stop   chan struct{}
	done   chan struct{}
}

// Sweep settings: a request is queued again if its job was queued longer
// ago than requeueAfter and the request is still open.
const (
	sweepEvery   = 10 * time.Second
	requeueAfter = 10 * time.Minute
)

func startPump(pool *pgxpool.Pool, client *river.Client[pgx.Tx], log *slog.Logger) *pump {
	p := &pump{pool: pool, client: client, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *pump) close() {
	close(p.stop)
	<-p.done
}

func (p *pump) run() {
	defer close(p.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-p.stop
		cancel()
	}()
	notes := make(chan struct{}, 1)
	go p.listen(ctx, notes)
	all := true // the first sweep takes up every open request
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if n, err := p.sweep(ctx, all); err != nil && ctx.Err() == nil {
			p.log.Warn("cannot queue vendor work", "err", err)
		} else if n > 0 {
			p.log.Debug("vendor work queued", "jobs", n)
		}
		all = false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-notes:
		}
	}
}

// listen forwards notifications of new requests, reconnecting as needed.
func (p *pump) listen(ctx context.Context, notes chan<- struct{}) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := p.pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, `LISTEN `+WorkChannel); err != nil {
				return err
			}
			defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `UNLISTEN `+WorkChannel) }()
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					return err
				}
				select {
				case notes <- struct{}{}:
				default:
				}
			}
		}()
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("vendor work listener lost its connection; the sweep still runs", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// sweep queues a job for every request that has none (or, with all, for
// every open request), in one transaction with marking them queued.
func (p *pump) sweep(ctx context.Context, all bool) (int, error) {
	n := 0
	err := database.Transact(ctx, p.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT vendor_id, kind FROM vendor_work
			WHERE $1 OR enqueued_at IS NULL OR enqueued_at < requested_at OR enqueued_at < now() - make_interval(secs => $2)
			ORDER BY requested_at LIMIT 1000 FOR UPDATE SKIP LOCKED`, all, requeueAfter.Seconds())
		if err != nil {
			return fmt.Errorf("read vendor work: %w", err)
		}
		reqs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[VendorWorkArgs])
		if err != nil || len(reqs) == 0 {
			return err
		}
		params := make([]river.InsertManyParams, len(reqs))
		for i, r := range reqs {
			params[i] = river.InsertManyParams{Args: r}
		}
		if _, err := p.client.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("queue vendor work: %w", err)
		}
		for _, r := range reqs {
			if _, err := tx.Exec(ctx, `UPDATE vendor_work SET enqueued_at = now() WHERE vendor_id = $1 AND kind = $2`, r.VendorID, r.Work); err != nil {
				return err
			}
		}
		n = len(reqs)
		return nil
	})
	return n, err
}

// importReporter keeps the control plane's summary of every vendor's
// imports (marketplace_imports) for the console.
type importReporter struct{ pool *pgxpool.Pool }

func (r importReporter) ReportImport(ctx context.Context, vendorID int64, imp *marketplace.Import) error {
	_, err := r.pool.Exec(ctx, `INSERT INTO marketplace_imports (vendor_id, import_id, state, source, file_name, rows_read,
			rows_imported, rows_rejected, error, attempts, created_at, started_at, finished_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now())
		ON CONFLICT (vendor_id, import_id) DO UPDATE SET state = EXCLUDED.state, source = EXCLUDED.source,
			file_name = EXCLUDED.file_name, rows_read = EXCLUDED.rows_read, rows_imported = EXCLUDED.rows_imported,
			rows_rejected = EXCLUDED.rows_rejected, error = EXCLUDED.error, attempts = EXCLUDED.attempts,
			started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, updated_at = now()`,
		vendorID, imp.ID, imp.State, imp.Source, imp.FileName, imp.RowsRead, imp.RowsImported, imp.RowsRejected,
		imp.Error, imp.Attempts, imp.CreatedAt, imp.StartedAt, imp.FinishedAt)
	if err != nil {
		return fmt.Errorf("record import %d of vendor %d: %w", imp.ID, vendorID, err)
	}
	return nil
}
