// Package rollout rolls tenant schema migrations across every vendor
// database (`provisioner migrate-all`): the templates first, then a canary
// group, then everyone else with a bounded number of workers. Vendors the
// control plane records at the target are skipped without a connection;
// a failed vendor is recorded and the rest go on; every vendor's result is
// written to the control plane as it happens, so a run that died is
// accounted for and --resume finishes it.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
)

// Options shape a run.
type Options struct {
	// Target is the version to reach; 0 means the newest of the set.
	Target int64 `json:"target,omitempty"`
	// Canary vendors are migrated first, one at a time; if one fails the
	// run stops before the rest. CanarySlugs names them; otherwise the
	// first Canary vendors by id are taken.
	Canary      int      `json:"canary,omitempty"`
	CanarySlugs []string `json:"canary_slugs,omitempty"`
	// Parallel is the number of workers for the main group (default 4).
	Parallel int  `json:"parallel,omitempty"`
	FailFast bool `json:"fail_fast,omitempty"`
	// Resume takes up the failed and unfinished vendors of the last run.
	Resume bool `json:"resume,omitempty"`
	// Verify reads every vendor database's version instead of trusting the
	// control plane's record.
	Verify bool `json:"verify,omitempty"`
	// DryRun only plans: it lists each vendor's pending migrations.
	DryRun bool `json:"dry_run,omitempty"`
	// Wait waits for a running rollout to end instead of refusing.
	Wait bool `json:"wait,omitempty"`
	// Set is the migration set; the zero value means migrate.Tenant.
	Set migrate.Set `json:"-"`
	// Progress, if set, is called for every vendor result.
	Progress func(Event) `json:"-"`
}

// Event is one vendor's (or template's) result, for progress reports.
type Event struct {
	Kind          string        `json:"kind"` // "template", "vendor", "plan"
	Vendor        string        `json:"vendor,omitempty"`
	Server        string        `json:"server,omitempty"`
	Phase         string        `json:"phase,omitempty"`
	Status        string        `json:"status"`
	VersionBefore int64         `json:"version_before"`
	VersionAfter  int64         `json:"version_after"`
	Duration      time.Duration `json:"duration_ns"`
	Error         string        `json:"error,omitempty"`
	// Total is the number of vendors in the run (on "plan" events).
	Total int `json:"total,omitempty"`
}

// Summary is what a run did.
type Summary struct {
	RunID    int64           `json:"run_id"`
	Target   int64           `json:"target"`
	Migrated int             `json:"migrated"`
	Skipped  int             `json:"skipped"`
	Failed   int             `json:"failed"`
	Pending  int             `json:"pending"`
	Failures []Failure       `json:"failures"`
	Canary   string          `json:"canary,omitempty"` // why the run stopped after the canaries
	Duration time.Duration   `json:"duration_ns"`
	Plan     []PlannedChange `json:"plan,omitempty"` // dry runs

	mu sync.Mutex
}

// Failure names a vendor that failed and why.
type Failure struct {
	Vendor string `json:"vendor"`
	Error  string `json:"error"`
}

// PlannedChange is one vendor's pending migrations in a dry run.
type PlannedChange struct {
	Vendor  string  `json:"vendor"`
	From    int64   `json:"from"`
	To      int64   `json:"to"`
	Pending []int64 `json:"pending"`
}

// ErrBusy means another rollout holds the lock.
type ErrBusy struct {
	RunID     int64
	Actor     string
	StartedAt time.Time
}

func (e *ErrBusy) Error() string {
	if e.RunID == 0 {
		return "another migrate-all is running"
	}
	return fmt.Sprintf("another migrate-all is running (run %d, started %s by %s)", e.RunID, e.StartedAt.Format(time.RFC3339), e.Actor)
}

// Runner runs rollouts.
type Runner struct {
	Store  *platform.Store
	Prov   *provision.Provisioner
	Logger *slog.Logger
}

// lockKey is the control-plane advisory lock that makes rollouts exclusive.
const lockKey = 0x726f6c6c6f7574

// lock takes the rollout lock on a dedicated connection, which holds it
// until released or until the process dies.
func (r *Runner) lock(ctx context.Context, wait bool) (*pgxpool.Conn, error) {
	conn, err := r.Store.Pool().Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("take the rollout lock: %w", err)
	}
	if wait {
		_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(lockKey))
	} else {
		var ok bool
		err = conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(lockKey)).Scan(&ok)
		if err == nil && !ok {
			conn.Release()
			busy := &ErrBusy{}
			_ = r.Store.Pool().QueryRow(ctx, `SELECT id, actor, started_at FROM migration_runs
				WHERE state = 'running' ORDER BY id DESC LIMIT 1`).Scan(&busy.RunID, &busy.Actor, &busy.StartedAt)
			return nil, busy
		}
	}
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("take the rollout lock: %w", err)
	}
	// Runs left 'running' by a runner that died are over.
	if _, err := conn.Exec(ctx, `UPDATE migration_runs SET state = 'interrupted', finished_at = now(),
		error = 'the runner stopped before the end (killed or crashed); resume with --resume'
		WHERE state = 'running' AND kind = 'all'`); err != nil {
		unlock(conn)
		return nil, fmt.Errorf("close interrupted runs: %w", err)
	}
	return conn, nil
}

func unlock(conn *pgxpool.Conn) {
	if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(lockKey)); err != nil {
		_ = conn.Conn().Close(context.Background())
	}
	conn.Release()
}

type planned struct {
	v       *platform.Vendor
	phase   string
	version int64
}

// Run rolls the set out. It returns an error only when the run could not
// be carried out at all; vendors that failed are in the Summary.
func (r *Runner) Run(ctx context.Context, actor platform.Actor, o Options) (*Summary, error) {
	if o.Set.Name == "" {
		o.Set = migrate.Tenant
	}
	if o.Target == 0 {
		o.Target = o.Set.Head()
	}
	if !o.Set.Known(o.Target) {
		return nil, fmt.Errorf("version %d is not a %s migration (newest is %d)", o.Target, o.Set.Name, o.Set.Head())
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	start := time.Now()
	if o.DryRun {
		return r.dryRun(ctx, o)
	}
	lockConn, err := r.lock(ctx, o.Wait)
	if err != nil {
		return nil, err
	}
	defer unlock(lockConn)

	var resumeRun int64
	if o.Resume {
		err := r.Store.Pool().QueryRow(ctx, `SELECT id, target_version FROM migration_runs WHERE kind = 'all' ORDER BY id DESC LIMIT 1`).
			Scan(&resumeRun, &o.Target)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errors.New("there is no earlier migrate-all run to resume")
		}
		if err != nil {
			return nil, fmt.Errorf("find the run to resume: %w", err)
		}
	}
	plan, err := r.plan(ctx, o, resumeRun)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Target: o.Target, Failures: []Failure{}}
	if o.Progress != nil {
		o.Progress(Event{Kind: "plan", Status: "planned", Total: len(plan), VersionAfter: o.Target})
	}
	runID, err := r.startRun(ctx, actor, o, resumeRun, plan, lockConn)
	if err != nil {
		return nil, err
	}
	sum.RunID = runID
	// Templates first: new vendors must be born at the target. A server
	// whose template fails keeps its vendors out of the run.
	badServers := r.migrateTemplates(ctx, o)
	if len(badServers) > 0 {
		kept := plan[:0]
		for _, p := range plan {
			if terr, bad := badServers[p.v.ServerID]; bad {
				r.record(ctx, o, runID, p, sum, p.version, p.version, 0,
					fmt.Errorf("not attempted: the template on server %s failed first: %w", p.v.ServerName, terr))
				continue
			}
			kept = append(kept, p)
		}
		plan = kept
	}

	var canaries, rest []planned
	for _, p := range plan {
		if p.phase == "canary" {
			canaries = append(canaries, p)
		} else {
			rest = append(rest, p)
		}
	}
	for _, p := range canaries {
		ok := r.migrateOne(ctx, o, runID, p, sum)
		if !ok {
			sum.Canary = "canary " + p.v.Slug + " failed; the other vendors were not touched"
			break
		}
	}
	if sum.Canary == "" {
		r.migrateGroup(ctx, o, runID, rest, sum)
	}
	if err := r.finishRun(context.WithoutCancel(ctx), runID, sum); err != nil {
		return sum, err
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

// plan lists the vendors of the run: every vendor with a database in
// service, or (resuming) the failed and unfinished ones of that run.
func (r *Runner) plan(ctx context.Context, o Options, resumeRun int64) ([]planned, error) {
	vendors, err := r.Store.ListVendors(ctx, platform.VendorFilter{States: []platform.State{platform.StateActive, platform.StateSuspended}})
	if err != nil {
		return nil, err
	}
	keep := map[int64]bool{}
	if resumeRun != 0 {
		rows, err := r.Store.Pool().Query(ctx, `SELECT vendor_id FROM migration_results
			WHERE run_id = $1 AND status IN ('pending', 'running', 'failed')`, resumeRun)
		if err != nil {
			return nil, fmt.Errorf("read the run to resume: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("read the run to resume: %w", err)
		}
		for _, id := range ids {
			keep[id] = true
		}
	}
	canary := map[string]bool{}
	for _, s := range o.CanarySlugs {
		canary[s] = true
	}
	var out []planned
	// ListVendors is newest first; migrate oldest first.
	for i := len(vendors) - 1; i >= 0; i-- {
		v := vendors[i]
		if resumeRun != 0 && !keep[v.ID] {
			continue
		}
		p := planned{v: v, phase: "main", version: v.SchemaVersion}
		if canary[v.Slug] || (len(o.CanarySlugs) == 0 && o.Canary > 0 && len(out) < o.Canary) {
			p.phase = "canary"
			delete(canary, v.Slug)
		}
		out = append(out, p)
	}
	for s := range canary {
		return nil, fmt.Errorf("canary vendor %q is not an active or suspended vendor", s)
	}
	if o.Verify {
		r.verifyVersions(ctx, out, o.Parallel, !o.DryRun)
	}
	return out, nil
}

// verifyVersions reads each planned vendor's real version, in parallel,
// and corrects the control plane's record where it differs.
func (r *Runner) verifyVersions(ctx context.Context, plan []planned, parallel int, record bool) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				ver, err := r.Prov.VendorVersion(ctx, plan[i].v)
				if err != nil {
					plan[i].version = -1 // unknown: the vendor will be attempted
					continue
				}
				if ver != plan[i].version && record {
					_ = r.Prov.RecordSchemaVersion(ctx, plan[i].v.ID, ver, nil)
				}
				plan[i].version = ver
			}
		}()
	}
	for i := range plan {
		work <- i
	}
	close(work)
	wg.Wait()
}

// migrateTemplates brings every server's template to the target and
// returns the servers whose template failed.
func (r *Runner) migrateTemplates(ctx context.Context, o Options) map[int64]error {
	bad := map[int64]error{}
	servers, err := r.Store.Servers(ctx)
	if err != nil {
		return bad
	}
	for _, s := range servers {
		t0 := time.Now()
		before, after, err := r.Prov.MigrateTemplate(ctx, s.ID, o.Set, o.Target, r.Logger)
		ev := Event{Kind: "template", Server: s.Name, Status: "migrated", VersionBefore: before, VersionAfter: after, Duration: time.Since(t0)}
		if before == after {
			ev.Status = "skipped"
		}
		if err != nil {
			ev.Status, ev.Error = "failed", err.Error()
			bad[s.ID] = err
		}
		if o.Progress != nil {
			o.Progress(ev)
		}
	}
	return bad
}

// startRun records the run and its vendors; vendors already at the target
// are recorded as skipped at once.
func (r *Runner) startRun(ctx context.Context, actor platform.Actor, o Options, resumeRun int64, plan []planned, lockConn *pgxpool.Conn) (int64, error) {
	var pid int32
	_ = lockConn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
	var runID int64
	err := r.Store.Transact(ctx, func(tx pgx.Tx) error {
		if resumeRun != 0 {
			runID = resumeRun
			_, err := tx.Exec(ctx, `UPDATE migration_runs SET state = 'running', finished_at = NULL, error = '', backend_pid = $2 WHERE id = $1`, runID, pid)
			if err != nil {
				return fmt.Errorf("reopen run %d: %w", runID, err)
			}
			// Its failed and unfinished vendors are to do again.
			_, err = tx.Exec(ctx, `UPDATE migration_results SET status = 'pending', started_at = NULL, finished_at = NULL
				WHERE run_id = $1 AND status IN ('failed', 'running')`, runID)
			if err != nil {
				return fmt.Errorf("reopen run %d: %w", runID, err)
			}
			// Vendors of the run that are no longer active or suspended
			// (deleted since) are out of it.
			ids := make([]int64, len(plan))
			for i, p := range plan {
				ids[i] = p.v.ID
			}
			_, err = tx.Exec(ctx, `UPDATE migration_results SET status = 'skipped', finished_at = now(),
				error = 'left out on resume: the vendor is no longer active or suspended'
				WHERE run_id = $1 AND status = 'pending' AND vendor_id <> ALL($2)`, runID, ids)
			if err != nil {
				return fmt.Errorf("reopen run %d: %w", runID, err)
			}
			return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "migration.resume", TargetType: "migration_run",
				TargetID: fmt.Sprint(runID), After: map[string]any{"vendors": len(plan)}})
		}
		err := tx.QueryRow(ctx, `INSERT INTO migration_runs (kind, target_version, actor, options, backend_pid)
			VALUES ('all', $1, $2, $3, $4) RETURNING id`, o.Target, actor.String(), o, pid).Scan(&runID)
		if err != nil {
			return fmt.Errorf("record the run: %w", err)
		}
		ids := make([]int64, len(plan))
		phases := make([]string, len(plan))
		versions := make([]int64, len(plan))
		for i, p := range plan {
			ids[i], phases[i], versions[i] = p.v.ID, p.phase, p.version
		}
		_, err = tx.Exec(ctx, `INSERT INTO migration_results (run_id, vendor_id, phase, version_before, status, version_after, finished_at, duration_ms)
			SELECT $1, id, phase, ver,
			       CASE WHEN ver = $5 THEN 'skipped' ELSE 'pending' END,
			       CASE WHEN ver = $5 THEN ver END,
			       CASE WHEN ver = $5 THEN now() END,
			       CASE WHEN ver = $5 THEN 0 END
			FROM unnest($2::bigint[], $3::text[], $4::bigint[]) AS t(id, phase, ver)`, runID, ids, phases, versions, o.Target)
		if err != nil {
			return fmt.Errorf("record the run's vendors: %w", err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "migration.run", TargetType: "migration_run",
			TargetID: fmt.Sprint(runID), After: map[string]any{"target": o.Target, "vendors": len(plan), "options": o}})
	})
	return runID, err
}

func (r *Runner) migrateGroup(ctx context.Context, o Options, runID int64, plan []planned, sum *Summary) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan planned)
	var wg sync.WaitGroup
	for range o.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if !r.migrateOne(ctx, o, runID, p, sum) && o.FailFast {
					cancel()
				}
			}
		}()
	}
	for _, p := range plan {
		if p.version == o.Target && !o.Resume {
			r.count(sum, "skipped", p, nil) // recorded as skipped when the run started
			continue
		}
		select {
		case work <- p:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
}

func (r *Runner) count(sum *Summary, status string, p planned, err error) {
	sum.mu.Lock()
	defer sum.mu.Unlock()
	switch status {
	case "migrated":
		sum.Migrated++
	case "skipped":
		sum.Skipped++
	case "failed":
		sum.Failed++
		sum.Failures = append(sum.Failures, Failure{Vendor: p.v.Slug, Error: err.Error()})
	}
}

// migrateOne migrates one vendor and records the result; it reports
// whether the vendor is now at the target.
func (r *Runner) migrateOne(ctx context.Context, o Options, runID int64, p planned, sum *Summary) bool {
	if p.version == o.Target {
		_, _ = r.Store.Pool().Exec(ctx, `UPDATE migration_results SET status = 'skipped', version_after = version_before,
			finished_at = now(), duration_ms = 0 WHERE run_id = $1 AND vendor_id = $2 AND status <> 'skipped'`, runID, p.v.ID)
		r.count(sum, "skipped", p, nil)
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	// Marked running (for the console and for anyone reading a run that
	// died), without waiting for the disk.
	_ = r.bookkeep(ctx, `UPDATE migration_results SET status = 'running', started_at = now()
		FROM (SELECT set_config('synchronous_commit', 'off', true)) async WHERE run_id = $1 AND vendor_id = $2`, runID, p.v.ID)
	t0 := time.Now()
	before, after, err := r.Prov.MigrateVendor(ctx, p.v, o.Set, o.Target, false, r.Logger)
	r.record(ctx, o, runID, p, sum, before, after, time.Since(t0), err)
	return err == nil
}

// record writes one vendor's result and reports it.
func (r *Runner) record(ctx context.Context, o Options, runID int64, p planned, sum *Summary, before, after int64, d time.Duration, err error) {
	status := "migrated"
	switch {
	case err != nil:
		status = "failed"
	case before == after, after > o.Target: // nothing to do, or ahead of the target: left alone
		status = "skipped"
	}
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	// The result and the vendor's recorded version, in one statement.
	rerr := r.bookkeep(context.WithoutCancel(ctx), `
		WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),
		res AS (
			UPDATE migration_results
			SET status = $3, version_before = $4, version_after = $5, finished_at = now(),
				started_at = COALESCE(started_at, now() - $6 * interval '1 millisecond'), duration_ms = $6, error = $7
			FROM async WHERE run_id = $1 AND vendor_id = $2)
		UPDATE vendor_databases SET schema_version = CASE WHEN $8 THEN $5 ELSE schema_version END, migration_error = $7
		FROM async WHERE vendor_id = $2 AND status = 'current' AND db_name = $9`,
		runID, p.v.ID, status, before, after, d.Milliseconds(), errText, before != 0 || after != 0, p.v.DBName)
	if rerr != nil && r.Logger != nil {
		r.Logger.Error("cannot record a vendor's migration result", "vendor", p.v.Slug, "err", rerr)
	}
	r.count(sum, status, p, err)
	if o.Progress != nil {
		o.Progress(Event{Kind: "vendor", Vendor: p.v.Slug, Phase: p.phase, Status: status, VersionBefore: before,
			VersionAfter: after, Duration: d, Error: errText})
	}
}

func (r *Runner) finishRun(ctx context.Context, runID int64, sum *Summary) error {
	// Count from the record: it covers vendors of earlier attempts too.
	var pending, failed int
	if err := r.Store.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE status IN ('pending', 'running')),
		count(*) FILTER (WHERE status = 'failed') FROM migration_results WHERE run_id = $1`, runID).Scan(&pending, &failed); err != nil {
		return fmt.Errorf("count unfinished vendors: %w", err)
	}
	sum.Pending = pending
	state, msg := "finished", ""
	if failed > 0 || pending > 0 {
		state = "failed"
		msg = fmt.Sprintf("%d failed, %d not attempted", failed, pending)
		if sum.Canary != "" {
			msg = sum.Canary
		}
	}
	_, err := r.Store.Pool().Exec(ctx, `UPDATE migration_runs SET state = $2, finished_at = now(), error = $3 WHERE id = $1`, runID, state, msg)
	if err != nil {
		return fmt.Errorf("close the run: %w", err)
	}
	if state == "failed" {
		r.Store.NotifyFailure(ctx, platform.NoticeMigrationFailed, 0, fmt.Sprintf("Schema rollout run %d failed: %s.", runID, msg), fmt.Sprintf("/admin/migrations/%d", runID))
	}
	return nil
}

// dryRun plans without taking the lock or changing anything.
func (r *Runner) dryRun(ctx context.Context, o Options) (*Summary, error) {
	plan, err := r.plan(ctx, o, 0)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Target: o.Target, Failures: []Failure{}, Plan: []PlannedChange{}}
	for _, p := range plan {
		if p.version == o.Target {
			sum.Skipped++
			continue
		}
		pc := PlannedChange{Vendor: p.v.Slug, From: p.version, To: o.Target, Pending: []int64{}}
		for _, m := range o.Set.Migrations() {
			if m.Version > p.version && m.Version <= o.Target {
				pc.Pending = append(pc.Pending, m.Version)
			}
		}
		if p.version > o.Target {
			pc.To = p.version // ahead of the target: left alone
		}
		sum.Plan = append(sum.Plan, pc)
	}
	return sum, nil
}

// bookkeep writes a progress record without waiting for the disk (each
// statement sets synchronous_commit off for its own transaction): a record
// lost in a crash only leaves a vendor looking unfinished, and the next run
// (or --resume) finds it at its real version. The vendor's own migration is
// always committed durably, in its own database.
func (r *Runner) bookkeep(ctx context.Context, sql string, args ...any) error {
	_, err := r.Store.Pool().Exec(ctx, sql, args...)
	return err
}
