// Package jobs runs the platform's durable background work on River, in
// the control-plane database: scheduled backups of every vendor, the
// verification of a random sample of backups, retention, reconcile, and
// the vendor work the tenant app asks for (marketplace imports, publishes
// and image fetches; see vendorwork.go).
// Schedules are cron expressions from the platform settings (parsed with
// robfig/cron); a change of setting is picked up within a minute. Only
// River's elected leader schedules, so any number of control planes can
// run.
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
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/robfig/cron/v3"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/wiring"
)

// Migrate brings River's tables in the control-plane database up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("job tables: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate job tables: %w", err)
	}
	return nil
}

var system = platform.Actor{Kind: "system", Name: "scheduler"}

// BackupAllArgs backs up every active and suspended vendor.
type BackupAllArgs struct{}

// Kind names the job.
func (BackupAllArgs) Kind() string { return "backup_all" }

// VerifySampleArgs verifies the newest backup of N random vendors.
type VerifySampleArgs struct{}

// Kind names the job.
func (VerifySampleArgs) Kind() string { return "verify_sample" }

// RetentionArgs expires backups beyond the retention settings.
type RetentionArgs struct{}

// Kind names the job.
func (RetentionArgs) Kind() string { return "backup_retention" }

// ReconcileArgs runs reconcile.
type ReconcileArgs struct{}

// Kind names the job.
func (ReconcileArgs) Kind() string { return "reconcile" }

type backupAllWorker struct {
	river.WorkerDefaults[BackupAllArgs]
	p *wiring.Platform
}

func (w *backupAllWorker) Timeout(*river.Job[BackupAllArgs]) time.Duration { return 6 * time.Hour }

func (w *backupAllWorker) Work(ctx context.Context, job *river.Job[BackupAllArgs]) error {
	values, err := w.p.Store.SettingValues(ctx)
	if err != nil {
		return err
	}
	res, err := w.p.Backups.BackupAll(ctx, system, "scheduled", platform.SettingInt(values, "backup.parallel"))
	if err != nil {
		return err
	}
	// Retention runs after every round: it only ever expires completed
	// backups beyond the newest ones, so one vendor's failing backups
	// never stop the others' from expiring.
	if _, err := w.p.Backups.ApplyRetention(ctx, platform.SettingInt(values, "backup.retention_daily"), platform.SettingInt(values, "backup.retention_weekly")); err != nil {
		return err
	}
	failed := 0
	for _, r := range res {
		if r.Error != "" {
			failed++ // each failure raised its own alert
		}
	}
	if failed > 0 {
		// Not retried as a whole: the next scheduled run takes every vendor again.
		return river.JobCancel(fmt.Errorf("%d of %d vendor backups failed (see the alerts)", failed, len(res)))
	}
	return nil
}

type verifyWorker struct {
	river.WorkerDefaults[VerifySampleArgs]
	p *wiring.Platform
}

func (w *verifyWorker) Timeout(*river.Job[VerifySampleArgs]) time.Duration { return 6 * time.Hour }

func (w *verifyWorker) Work(ctx context.Context, job *river.Job[VerifySampleArgs]) error {
	values, err := w.p.Store.SettingValues(ctx)
	if err != nil {
		return err
	}
	res, err := w.p.Backups.VerifyRandom(ctx, system, platform.SettingInt(values, "backup.verify_sample"))
	if err != nil {
		return err
	}
	for _, r := range res {
		if !r.OK {
			return river.JobCancel(fmt.Errorf("verification of backup %d of %s failed: %s", r.BackupID, r.Vendor, r.Error))
		}
	}
	return nil
}

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	p *wiring.Platform
}

func (w *retentionWorker) Work(ctx context.Context, job *river.Job[RetentionArgs]) error {
	values, err := w.p.Store.SettingValues(ctx)
	if err != nil {
		return err
	}
	_, err = w.p.Backups.ApplyRetention(ctx, platform.SettingInt(values, "backup.retention_daily"), platform.SettingInt(values, "backup.retention_weekly"))
	return err
}

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	p *wiring.Platform
}

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileArgs]) error {
	rep, err := w.p.Prov.Reconcile(ctx, false)
	if err != nil {
		return err
	}
	if len(rep.Errors) > 0 {
		_ = backup.Alert(ctx, w.p.Store, "warning", "reconcile.failed", 0, fmt.Sprintf("Reconcile could not fix %d problems: %v", len(rep.Errors), rep.Errors))
		return errors.New(rep.Errors[0])
	}
	return nil
}

// Runner is the River client with the platform's workers and schedules.
type Runner struct {
	client *river.Client[pgx.Tx]
	p      *wiring.Platform
	log    *slog.Logger

	pump      *pump
	mu        sync.Mutex
	schedules map[string]string // job kind -> cron expression in force
	stop      chan struct{}
	done      chan struct{}
}

// scheduled maps each periodic job to its setting.
var scheduled = []struct {
	setting string
	args    func() river.JobArgs
}{
	{"backup.schedule", func() river.JobArgs { return BackupAllArgs{} }},
	{"backup.verify_schedule", func() river.JobArgs { return VerifySampleArgs{} }},
	{"reconcile.schedule", func() river.JobArgs { return ReconcileArgs{} }},
	{"stats.schedule", func() river.JobArgs { return StatsRollupArgs{} }},
	{"cleanup.schedule", func() river.JobArgs { return CleanupArgs{} }}, // cleanup.go
}

// Options tune Start.
type Options struct {
	// Workers is how many jobs run at once (default 4).
	Workers int
	// NoSchedules starts the workers without periodic jobs (tests).
	NoSchedules bool
	// VendorWorkers is how many vendors' imports, publishes and image
	// fetches run at once (default 3), on a queue of their own.
	VendorWorkers int
	// Marketplace configures the marketplace work.
	Marketplace marketplace.Config
	// Domains verifies custom domains (default: over the platform, with DNS).
	Domains *domains.Service
}

// Start starts the job system: River's client on the control-plane pool,
// the workers, and the periodic jobs from the settings.
func Start(ctx context.Context, p *wiring.Platform, logger *slog.Logger, o Options) (*Runner, error) {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.VendorWorkers <= 0 {
		o.VendorWorkers = 3
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &backupAllWorker{p: p})
	river.AddWorker(workers, &verifyWorker{p: p})
	river.AddWorker(workers, &retentionWorker{p: p})
	river.AddWorker(workers, &reconcileWorker{p: p})
	addDomainWorkers(workers, p, o) // domains.go
	addAdminWorkers(workers, p, logger)
	river.AddWorker(workers, &statsWorker{p: p})
	river.AddWorker(workers, &cleanupWorker{p: p, log: logger}) // cleanup.go
	if o.Marketplace.Reporter == nil {
		o.Marketplace.Reporter = importReporter{p.Store.Pool()}
	}
	river.AddWorker(workers, &vendorWorkWorker{p: p, mp: marketplace.NewRunner(o.Marketplace), log: logger})
	client, err := river.NewClient(riverpgxv5.New(p.Store.Pool()), &river.Config{
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: o.Workers},
			QueueVendorWork:    {MaxWorkers: o.VendorWorkers},
		},
		Workers: workers,
		Logger:  logger,
	})
	if err != nil {
		return nil, fmt.Errorf("job client: %w", err)
	}
	r := &Runner{client: client, p: p, log: logger, schedules: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	if !o.NoSchedules {
		if err := r.RefreshSchedules(ctx); err != nil {
			return nil, err
		}
		if err := addDomainSchedules(client); err != nil { // domains.go
			return nil, err
		}
		if err := addAdminSchedules(client); err != nil {
			return nil, err
		}
	}
	if err := client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start jobs: %w", err)
	}
	r.pump = startPump(p.Store.Pool(), client, logger)
	go r.watch(o.NoSchedules)
	return r, nil
}

// Client is River's client (to insert jobs).
func (r *Runner) Client() *river.Client[pgx.Tx] { return r.client }

// Enqueue inserts a job now.
func (r *Runner) Enqueue(ctx context.Context, args river.JobArgs) (int64, error) {
	res, err := r.client.Insert(ctx, args, nil)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// Stop stops taking jobs and waits for running ones (until ctx ends).
func (r *Runner) Stop(ctx context.Context) error {
	close(r.stop)
	<-r.done
	r.pump.close()
	return r.client.Stop(ctx)
}

// watch re-reads the schedules every minute.
func (r *Runner) watch(disabled bool) {
	defer close(r.done)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			if disabled {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := r.RefreshSchedules(ctx); err != nil && r.log != nil {
				r.log.Error("cannot refresh job schedules", "err", err)
			}
			cancel()
		}
	}
}

// RefreshSchedules (re)registers the periodic jobs whose cron setting
// changed; it runs every minute by itself.
func (r *Runner) RefreshSchedules(ctx context.Context) error {
	values, err := r.p.Store.SettingValues(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range scheduled {
		expr := values[s.setting]
		if r.schedules[s.setting] == expr {
			continue
		}
		sched, err := cron.ParseStandard(expr)
		if err != nil {
			return fmt.Errorf("setting %s: %w", s.setting, err)
		}
		r.client.PeriodicJobs().RemoveByID(s.setting)
		newArgs := s.args
		if _, err := r.client.PeriodicJobs().AddSafely(river.NewPeriodicJob(sched,
			func() (river.JobArgs, *river.InsertOpts) {
				return newArgs(), &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
			},
			&river.PeriodicJobOpts{ID: s.setting})); err != nil {
			return fmt.Errorf("schedule %s: %w", s.setting, err)
		}
		r.schedules[s.setting] = expr
	}
	return nil
}

// Schedules returns the cron expressions in force, by setting.
func (r *Runner) Schedules() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.schedules))
	for k, v := range r.schedules {
		out[k] = v
	}
	return out
}
