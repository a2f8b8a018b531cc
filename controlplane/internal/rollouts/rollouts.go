// Package rollouts is the control plane's side of schema rollouts, shared
// by the admin console and the admin API: it reads runs as people and
// scripts see them (with their progress and whether they can be resumed),
// and resumes the last migrate-all run in the background, tied to the
// program's lifetime so that shutdown cancels it and waits for it.
//
// The rollouts themselves are internal/rollout's; this package only adds
// what a long-lived server needs around them.
package rollouts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/rollout"
)

// Options are the service's dependencies.
type Options struct {
	Store  *platform.Store
	Prov   *provision.Provisioner
	Logger *slog.Logger
	// Set is the tenant migration set that status is read against and runs
	// are resumed with; the zero value means migrate.Tenant.
	Set migrate.Set
	// StartWait is how long Resume waits for a run to get going before it
	// answers (default 5 s): long enough to learn that another rollout
	// holds the lock, short enough for a request.
	StartWait time.Duration
	// StopWait is how long Close waits for cancelled runs to record how
	// far they got (default 30 s).
	StopWait time.Duration
}

// Service reads rollouts and resumes them in the background. Close it
// when the program stops.
type Service struct {
	store     *platform.Store
	prov      *provision.Provisioner
	log       *slog.Logger
	set       migrate.Set
	startWait time.Duration
	stopWait  time.Duration

	base   context.Context // cancelled by Close
	cancel context.CancelFunc
	mu     sync.Mutex // guards closed and wg.Add
	closed bool
	wg     sync.WaitGroup
}

// New returns the service. Runs it starts live until Close.
func New(o Options) *Service {
	s := &Service{store: o.Store, prov: o.Prov, log: o.Logger, set: o.Set, startWait: o.StartWait, stopWait: o.StopWait}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.set.Name == "" {
		s.set = migrate.Tenant
	}
	if s.startWait <= 0 {
		s.startWait = 5 * time.Second
	}
	if s.stopWait <= 0 {
		s.stopWait = 30 * time.Second
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s
}

// Set is the migration set the service works with.
func (s *Service) Set() migrate.Set { return s.set }

// Close cancels the runs started here and waits (up to StopWait) for
// them to record their results; a cancelled run ends failed, with its
// unfinished vendors pending, so resuming it later finishes the job.
// Resume refuses new runs once Close has been called.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.stopWait):
		s.log.Error("background rollouts did not stop in time", "waited", s.stopWait)
	}
}

// Run is a rollout as the console and the API show it: the recorded run
// with its progress and whether it can be resumed.
type Run struct {
	rollout.Run
	// Total is the number of vendors in the run, Done those with a result
	// (migrated, skipped or failed).
	Total int `json:"total"`
	Done  int `json:"done"`
	// Resumable is true for the newest migrate-all run when it failed or
	// was interrupted.
	Resumable bool `json:"resumable"`
}

// Elapsed is how long the run took, or has been running.
func (r *Run) Elapsed() time.Duration {
	end := time.Now()
	if r.FinishedAt != nil {
		end = *r.FinishedAt
	}
	return end.Sub(r.StartedAt)
}

// Percent is Done as a whole percentage of Total.
func (r *Run) Percent() int {
	if r.Total == 0 {
		return 100
	}
	return r.Done * 100 / r.Total
}

// Running reports whether the run is in progress.
func (r *Run) Running() bool { return r.State == "running" }

// Count is the number of the run's vendors with a status.
func (r *Run) Count(status string) int { return r.Counts[status] }

// Unfinished is the number of vendors pending or being migrated.
func (r *Run) Unfinished() int { return r.Counts["pending"] + r.Counts["running"] }

// goneMessage replaces the error of a run whose runner has disappeared.
const goneMessage = "the runner stopped before the end (its database session is gone: killed or crashed); resume the run to finish it"

// view completes a recorded run: progress, a runner that is gone, and
// whether it can be resumed (latestAll is the newest migrate-all run).
func view(r rollout.Run, gone map[int64]bool, latestAll int64) Run {
	v := Run{Run: r}
	if v.Counts == nil {
		v.Counts = map[string]int{}
	}
	for status, n := range v.Counts {
		v.Total += n
		switch status {
		case "migrated", "skipped", "failed":
			v.Done += n
		}
	}
	if v.State == "running" && gone[v.ID] {
		// The lock died with the runner; the next rollout marks the run
		// interrupted. Say so now rather than show it running forever.
		v.State, v.Error = "interrupted", goneMessage
	}
	v.Resumable = v.Kind == "all" && v.ID == latestAll && (v.State == "failed" || v.State == "interrupted")
	return v
}

// Status is where every vendor's schema stands, against the service's set.
func (s *Service) Status(ctx context.Context) (*rollout.Status, error) {
	st, err := rollout.ReadStatus(ctx, s.store, s.set)
	if err != nil {
		return nil, fmt.Errorf("read schema status: %w", err)
	}
	if st.LastRun != nil && st.LastRun.State == "running" {
		gone, err := s.goneRunners(ctx)
		if err != nil {
			return nil, err
		}
		if gone[st.LastRun.ID] {
			st.LastRun.State, st.LastRun.Error = "interrupted", goneMessage
		}
	}
	return st, nil
}

// Runs lists the newest runs, newest first.
func (s *Service) Runs(ctx context.Context, limit int) ([]Run, error) {
	recorded, err := rollout.Runs(ctx, s.store, limit)
	if err != nil {
		return nil, err
	}
	gone, err := s.goneRunners(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := s.latestAll(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Run, len(recorded))
	for i, r := range recorded {
		out[i] = view(r, gone, latest)
	}
	return out, nil
}

// Run returns one run; platform.ErrNotFound if there is none.
func (s *Service) Run(ctx context.Context, id int64) (*Run, error) {
	// The columns of rollout.Runs, for one run.
	rows, err := s.store.Pool().Query(ctx, `SELECT r.id, r.kind, r.target_version, r.state, r.actor, r.started_at, r.finished_at, r.error,
		COALESCE((SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM migration_results m
			WHERE m.run_id = r.id GROUP BY status) c), '{}')
		FROM migration_runs r WHERE r.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[rollout.Run])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("run %d: %w", id, platform.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	gone, err := s.goneRunners(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := s.latestAll(ctx)
	if err != nil {
		return nil, err
	}
	v := view(r, gone, latest)
	return &v, nil
}

// Results lists a run's vendors, failures first.
func (s *Service) Results(ctx context.Context, runID int64) ([]rollout.Result, error) {
	res, err := rollout.Results(ctx, s.store, runID)
	if err != nil {
		return nil, err
	}
	if res == nil {
		res = []rollout.Result{}
	}
	return res, nil
}

// VendorHistory lists a vendor's results across runs, newest first.
func (s *Service) VendorHistory(ctx context.Context, vendorID int64, limit int) ([]rollout.Result, error) {
	return rollout.VendorHistory(ctx, s.store, vendorID, limit)
}

// VendorMigrationError is the error of the last migration of a vendor's
// current database, or "" if it succeeded (or the vendor has no database).
func (s *Service) VendorMigrationError(ctx context.Context, vendorID int64) (string, error) {
	var msg string
	err := s.store.Pool().QueryRow(ctx, `SELECT migration_error FROM vendor_databases
		WHERE vendor_id = $1 AND status = 'current'`, vendorID).Scan(&msg)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("read the migration error of vendor %d: %w", vendorID, err)
	}
	return msg, nil
}

// goneRunners returns the runs recorded as running whose runner's
// database session (which holds the rollout lock) no longer exists.
func (s *Service) goneRunners(ctx context.Context) (map[int64]bool, error) {
	rows, err := s.store.Pool().Query(ctx, `SELECT r.id FROM migration_runs r
		WHERE r.state = 'running' AND r.backend_pid IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.backend_pid AND a.datname = current_database())`)
	if err != nil {
		return nil, fmt.Errorf("check rollout runners: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("check rollout runners: %w", err)
	}
	gone := make(map[int64]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	return gone, nil
}

// latestAll is the id of the newest migrate-all run (the one Resume takes
// up), or 0.
func (s *Service) latestAll(ctx context.Context) (int64, error) {
	var id int64
	err := s.store.Pool().QueryRow(ctx, `SELECT id FROM migration_runs WHERE kind = 'all' ORDER BY id DESC LIMIT 1`).Scan(&id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("find the newest migrate-all run: %w", err)
	}
	return id, nil
}

// isClosed reports whether Close has been called.
func (s *Service) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// NotResumableError says why a run cannot be resumed.
type NotResumableError struct {
	RunID  int64
	Reason string
}

func (e *NotResumableError) Error() string {
	return fmt.Sprintf("run %d cannot be resumed: %s", e.RunID, e.Reason)
}

// ErrShuttingDown means the control plane is stopping and starts nothing new.
var ErrShuttingDown = errors.New("the control plane is shutting down; try again once it is back")

// Resume takes up the failed and unfinished vendors of run id, which must
// be the newest migrate-all run and have failed or been interrupted. It
// audits the request as actor, starts the rollout in the background
// (detached from ctx, cancelled by Close) and returns once the run is
// under way. Errors: platform.ErrNotFound, *NotResumableError,
// *rollout.ErrBusy when another rollout holds the lock, ErrShuttingDown.
func (s *Service) Resume(ctx context.Context, actor platform.Actor, id int64) error {
	if s.isClosed() {
		return ErrShuttingDown
	}
	run, err := s.Run(ctx, id)
	if err != nil {
		return err
	}
	if err := s.checkResumable(ctx, run); err != nil {
		return err
	}
	err = s.store.Transact(ctx, func(tx pgx.Tx) error {
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{
			Action: "migration.resume_requested", TargetType: "migration_run", TargetID: fmt.Sprint(id),
			Before: map[string]any{"state": run.State, "counts": run.Counts},
			After:  map[string]any{"target": run.Target, "set": s.set.Name},
		})
	})
	if err != nil {
		return fmt.Errorf("audit the resume of run %d: %w", id, err)
	}
	return s.start(ctx, actor, id)
}

// checkResumable refuses runs that Resume would not take up, and says
// "busy" if a rollout is visibly in progress.
func (s *Service) checkResumable(ctx context.Context, run *Run) error {
	if run.Kind != "all" {
		return &NotResumableError{RunID: run.ID, Reason: "it migrated a single vendor; only migrate-all runs are resumed"}
	}
	latest, err := s.latestAll(ctx)
	if err != nil {
		return err
	}
	if run.ID != latest {
		return &NotResumableError{RunID: run.ID, Reason: fmt.Sprintf("only the newest migrate-all run (run %d) can be resumed", latest)}
	}
	if !s.set.Known(run.Target) {
		return &NotResumableError{RunID: run.ID, Reason: fmt.Sprintf(
			"its target, version %d, is not a migration of this release (whose newest is %d); resume it with the release that started it", run.Target, s.set.Head())}
	}
	switch run.State {
	case "running":
		return &rollout.ErrBusy{RunID: run.ID, Actor: run.Actor, StartedAt: run.StartedAt}
	case "finished":
		return &NotResumableError{RunID: run.ID, Reason: "it finished; every vendor is done"}
	}
	return nil
}

// start runs the resume in a goroutine and waits until it has taken the
// rollout lock and recorded itself as running (its first event after the
// plan), until it ends, or until StartWait has passed.
func (s *Service) start(ctx context.Context, actor platform.Actor, id int64) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrShuttingDown
	}
	s.wg.Add(1)
	s.mu.Unlock()

	// Detached from the request (its values, such as the request id, are
	// kept), cancelled when the service closes.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(s.base, cancel)
	started := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	runner := &rollout.Runner{Store: s.store, Prov: s.prov, Logger: s.log}
	opts := rollout.Options{Resume: true, Set: s.set, Progress: func(ev rollout.Event) {
		if ev.Kind != "plan" { // "plan" comes before the run is recorded as running
			once.Do(func() { close(started) })
		}
	}}
	log := s.log.With("run_id", id, "actor", actor.String())
	go func() {
		defer s.wg.Done()
		defer cancel()
		defer stop()
		sum, err := runner.Run(runCtx, actor, opts)
		done <- err
		var busy *rollout.ErrBusy
		switch {
		case errors.As(err, &busy): // answered to the request
		case err != nil:
			log.Error("resumed rollout could not run", "err", err)
		default:
			if sum.RunID != id {
				log.Warn("resume took up another run than asked", "resumed_run_id", sum.RunID)
			}
			log.Info("resumed rollout ended", "resumed_run_id", sum.RunID, "migrated", sum.Migrated,
				"skipped", sum.Skipped, "failed", sum.Failed, "pending", sum.Pending, "duration", sum.Duration)
		}
	}()

	timer := time.NewTimer(s.startWait)
	defer timer.Stop()
	select {
	case <-started:
		return nil
	case err := <-done:
		if err != nil {
			return fmt.Errorf("resume run %d: %w", id, err)
		}
		return nil
	case <-timer.C: // still planning; it goes on in the background
		return nil
	case <-ctx.Done(): // the client left; the run goes on
		return nil
	}
}
