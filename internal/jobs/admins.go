package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/wiring"
	"github.com/storefleet/storefleet/templates"
)

// AuditRetentionArgs deletes the audit entries older than the
// audit.retention_days setting; it runs every night.
type AuditRetentionArgs struct{}

// Kind names the job.
func (AuditRetentionArgs) Kind() string { return "audit_retention" }

// AlertMailSweepArgs queues an e-mail job for every critical alert not
// e-mailed yet; it runs every minute.
type AlertMailSweepArgs struct{}

// Kind names the job.
func (AlertMailSweepArgs) Kind() string { return "alert_mail_sweep" }

// AlertMailArgs e-mails one critical alert to every enabled super admin.
// Each delivery is recorded, so a retry after a partial failure writes
// only to those who did not get it: every super admin hears once.
type AlertMailArgs struct {
	AlertID int64 `json:"alert_id"`
}

// Kind names the job.
func (AlertMailArgs) Kind() string { return "alert_mail" }

// InsertOpts: one job per alert; SMTP trouble is retried with backoff.
func (AlertMailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// AuditRetentionSchedule is when the audit log is pruned (cron, UTC).
const AuditRetentionSchedule = "40 3 * * *"

// addAdminWorkers registers the workers of admin-facing jobs.
func addAdminWorkers(workers *river.Workers, p *wiring.Platform, logger *slog.Logger) {
	river.AddWorker(workers, &auditRetentionWorker{p: p})
	river.AddWorker(workers, &alertSweepWorker{p: p})
	river.AddWorker(workers, &alertMailWorker{p: p, log: logger})
}

// addAdminSchedules adds the nightly audit retention and the minutely
// alert e-mail sweep to the periodic jobs.
func addAdminSchedules(client *river.Client[pgx.Tx]) error {
	nightly, err := cron.ParseStandard(AuditRetentionSchedule)
	if err != nil {
		return err
	}
	jobs := []*river.PeriodicJob{
		river.NewPeriodicJob(nightly, func() (river.JobArgs, *river.InsertOpts) {
			return AuditRetentionArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
		}, &river.PeriodicJobOpts{ID: "audit_retention"}),
		river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
			return AlertMailSweepArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
		}, &river.PeriodicJobOpts{ID: "alert_mail_sweep", RunOnStart: true}),
	}
	for _, j := range jobs {
		if _, err := client.PeriodicJobs().AddSafely(j); err != nil {
			return fmt.Errorf("schedule admin jobs: %w", err)
		}
	}
	return nil
}

type auditRetentionWorker struct {
	river.WorkerDefaults[AuditRetentionArgs]
	p *wiring.Platform
}

func (w *auditRetentionWorker) Work(ctx context.Context, job *river.Job[AuditRetentionArgs]) error {
	values, err := w.p.Store.SettingValues(ctx)
	if err != nil {
		return err
	}
	_, err = w.p.Store.PruneAudit(ctx, system, platform.SettingInt(values, "audit.retention_days"))
	return err
}

type alertSweepWorker struct {
	river.WorkerDefaults[AlertMailSweepArgs]
	p *wiring.Platform
}

// Work marks each critical alert not yet queued and queues its e-mail in
// the same transaction: queued once, whatever happens.
func (w *alertSweepWorker) Work(ctx context.Context, job *river.Job[AlertMailSweepArgs]) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	return w.p.Store.Transact(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE platform_alerts SET mail_queued_at = now()
			WHERE severity = 'critical' AND mail_queued_at IS NULL AND resolved_at IS NULL RETURNING id`)
		if err != nil {
			return fmt.Errorf("queue alert e-mails: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("queue alert e-mails: %w", err)
		}
		for _, id := range ids {
			if _, err := client.InsertTx(ctx, tx, AlertMailArgs{AlertID: id}, nil); err != nil {
				return fmt.Errorf("queue e-mail of alert %d: %w", id, err)
			}
		}
		return nil
	})
}

type alertMailWorker struct {
	river.WorkerDefaults[AlertMailArgs]
	p   *wiring.Platform
	log *slog.Logger

	once   sync.Once
	mailer *mail.Mailer
	err    error
}

func (w *alertMailWorker) consoleMailer() (*mail.Mailer, error) {
	w.once.Do(func() { w.mailer, w.err = mail.New(w.p.Cfg.SMTPURL, templates.FS, "controlplane/mail") })
	return w.mailer, w.err
}

func (w *alertMailWorker) Work(ctx context.Context, job *river.Job[AlertMailArgs]) error {
	mailer, err := w.consoleMailer()
	if err != nil {
		return err
	}
	if !mailer.Configured() {
		return river.JobCancel(mail.ErrNotConfigured)
	}
	var kind, message, vendor string
	var at time.Time
	err = w.p.Store.Pool().QueryRow(ctx, `SELECT a.kind, a.message, COALESCE(v.slug, ''), a.created_at
		FROM platform_alerts a LEFT JOIN vendors v ON v.id = a.vendor_id WHERE a.id = $1`, job.Args.AlertID).
		Scan(&kind, &message, &vendor, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // deleted since
	}
	if err != nil {
		return fmt.Errorf("read alert %d: %w", job.Args.AlertID, err)
	}
	rows, err := w.p.Store.Pool().Query(ctx, `SELECT a.id, a.email FROM admins a
		WHERE a.role = 'super_admin' AND a.disabled_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM alert_mails m WHERE m.alert_id = $1 AND m.admin_id = a.id)
		ORDER BY a.id`, job.Args.AlertID)
	if err != nil {
		return fmt.Errorf("list super admins: %w", err)
	}
	type rcpt struct {
		ID    int64
		Email string
	}
	to, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rcpt])
	if err != nil {
		return fmt.Errorf("list super admins: %w", err)
	}
	data := map[string]any{"ID": job.Args.AlertID, "Kind": kind, "Message": message, "Vendor": vendor,
		"At":   at.UTC().Format("2006-01-02 15:04 UTC"),
		"Link": w.p.Cfg.ControlPlanePublicURL + "/admin/backups#alert-" + strconv.FormatInt(job.Args.AlertID, 10)}
	var firstErr error
	for _, r := range to {
		err := mailer.Send(ctx, mail.Message{To: r.Email, FromName: "Storefleet", Template: "mail_alert_critical", Data: data})
		if err != nil {
			if w.log != nil {
				w.log.Warn("cannot e-mail a critical alert", "alert", job.Args.AlertID, "to", r.Email, "err", err)
			}
			if firstErr == nil && !mail.Permanent(err) {
				firstErr = err
			}
			continue
		}
		if _, err := w.p.Store.Pool().Exec(ctx, `INSERT INTO alert_mails (alert_id, admin_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			job.Args.AlertID, r.ID); err != nil {
			return fmt.Errorf("record alert e-mail: %w", err)
		}
	}
	return firstErr // retried with backoff for those still without it
}
