package rollout

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
)

// Status is where every vendor's schema stands.
type Status struct {
	Head      int64          `json:"head"`
	Versions  []VersionCount `json:"versions"`
	Behind    int            `json:"behind"`
	Unknown   int            `json:"unknown"`
	Failed    []Failure      `json:"failed"`
	Templates []Template     `json:"templates"`
	LastRun   *Run           `json:"last_run,omitempty"`
}

// VersionCount is how many vendors are at one version.
type VersionCount struct {
	Version int64 `json:"version"`
	Vendors int   `json:"vendors"`
	Known   bool  `json:"known"`
}

// Template is a server's template version.
type Template struct {
	Server  string `json:"server"`
	Version int64  `json:"version"`
}

// Run is a recorded rollout.
type Run struct {
	ID         int64          `json:"id"`
	Kind       string         `json:"kind"`
	Target     int64          `json:"target"`
	State      string         `json:"state"`
	Actor      string         `json:"actor"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Error      string         `json:"error,omitempty"`
	Counts     map[string]int `json:"counts"`
}

// AllAtHead reports whether every vendor is at the newest version.
func (s *Status) AllAtHead() bool { return s.Behind == 0 && s.Unknown == 0 && len(s.Failed) == 0 }

// ReadStatus reads the control plane's record of every vendor's version.
func ReadStatus(ctx context.Context, store *platform.Store, set migrate.Set) (*Status, error) {
	st := &Status{Head: set.Head(), Versions: []VersionCount{}, Failed: []Failure{}, Templates: []Template{}}
	rows, err := store.Pool().Query(ctx, `SELECT vd.schema_version, count(*)::int FROM vendor_databases vd
		JOIN vendors v ON v.id = vd.vendor_id WHERE vd.status = 'current' AND v.state IN ('active', 'suspended')
		GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("count vendors by version: %w", err)
	}
	var ver int64
	var n int
	_, err = pgx.ForEachRow(rows, []any{&ver, &n}, func() error {
		vc := VersionCount{Version: ver, Vendors: n, Known: set.Known(ver)}
		st.Versions = append(st.Versions, vc)
		switch {
		case !vc.Known:
			st.Unknown += n
		case ver < st.Head:
			st.Behind += n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count vendors by version: %w", err)
	}
	rows, err = store.Pool().Query(ctx, `SELECT v.slug, vd.migration_error FROM vendor_databases vd JOIN vendors v ON v.id = vd.vendor_id
		WHERE vd.status = 'current' AND vd.migration_error <> '' AND v.state IN ('active', 'suspended') ORDER BY v.slug`)
	if err != nil {
		return nil, fmt.Errorf("list failed vendors: %w", err)
	}
	if st.Failed, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Failure]); err != nil {
		return nil, fmt.Errorf("list failed vendors: %w", err)
	}
	rows, err = store.Pool().Query(ctx, `SELECT name, template_version FROM db_servers ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	if st.Templates, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Template]); err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	runs, err := Runs(ctx, store, 1)
	if err != nil {
		return nil, err
	}
	if len(runs) > 0 {
		st.LastRun = &runs[0]
	}
	return st, nil
}

// Runs lists the newest rollouts with their counts.
func Runs(ctx context.Context, store *platform.Store, limit int) ([]Run, error) {
	rows, err := store.Pool().Query(ctx, `SELECT r.id, r.kind, r.target_version, r.state, r.actor, r.started_at, r.finished_at, r.error,
		COALESCE((SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM migration_results m
			WHERE m.run_id = r.id GROUP BY status) c), '{}')
		FROM migration_runs r ORDER BY r.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	runs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Run])
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	return runs, nil
}

// Result is one vendor's result in a run.
type Result struct {
	Vendor        string     `json:"vendor"`
	Phase         string     `json:"phase"`
	Status        string     `json:"status"`
	VersionBefore *int64     `json:"version_before"`
	VersionAfter  *int64     `json:"version_after"`
	StartedAt     *time.Time `json:"started_at,omitempty"`
	DurationMS    *int64     `json:"duration_ms,omitempty"`
	Error         string     `json:"error,omitempty"`
}

// Results lists a run's vendors, failures first.
func Results(ctx context.Context, store *platform.Store, runID int64) ([]Result, error) {
	rows, err := store.Pool().Query(ctx, `SELECT v.slug, m.phase, m.status, m.version_before, m.version_after, m.started_at, m.duration_ms, m.error
		FROM migration_results m JOIN vendors v ON v.id = m.vendor_id WHERE m.run_id = $1
		ORDER BY CASE m.status WHEN 'failed' THEN 0 WHEN 'running' THEN 1 WHEN 'pending' THEN 2 ELSE 3 END, v.slug`, runID)
	if err != nil {
		return nil, fmt.Errorf("list run %d: %w", runID, err)
	}
	res, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Result])
	if err != nil {
		return nil, fmt.Errorf("list run %d: %w", runID, err)
	}
	return res, nil
}

// VendorHistory lists a vendor's results across runs, newest first.
func VendorHistory(ctx context.Context, store *platform.Store, vendorID int64, limit int) ([]Result, error) {
	rows, err := store.Pool().Query(ctx, `SELECT 'run ' || m.run_id, m.phase, m.status, m.version_before, m.version_after, m.started_at, m.duration_ms, m.error
		FROM migration_results m WHERE m.vendor_id = $1 ORDER BY m.run_id DESC LIMIT $2`, vendorID, limit)
	if err != nil {
		return nil, fmt.Errorf("migration history of vendor %d: %w", vendorID, err)
	}
	res, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Result])
	if err != nil {
		return nil, fmt.Errorf("migration history of vendor %d: %w", vendorID, err)
	}
	return res, nil
}

// OneResult is what migrating a single vendor did.
type OneResult struct {
	RunID         int64         `json:"run_id"`
	Vendor        string        `json:"vendor"`
	VersionBefore int64         `json:"version_before"`
	VersionAfter  int64         `json:"version_after"`
	Duration      time.Duration `json:"duration_ns"`
}

// One migrates (or, with down, rolls back) a single vendor to target and
// records it as a run of its own.
func (r *Runner) One(ctx context.Context, actor platform.Actor, v *platform.Vendor, target int64, down bool) (*OneResult, error) {
	if v.State != platform.StateActive && v.State != platform.StateSuspended {
		return nil, fmt.Errorf("vendor %s is %s: only active and suspended vendors are migrated this way", v.Slug, v.State.Label())
	}
	kind := "vendor"
	if down {
		kind = "rollback"
	}
	var runID int64
	err := r.Store.Transact(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO migration_runs (kind, target_version, actor) VALUES ($1, $2, $3) RETURNING id`,
			kind, target, actor.String()).Scan(&runID); err != nil {
			return fmt.Errorf("record the run: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO migration_results (run_id, vendor_id, status, version_before, started_at)
			VALUES ($1, $2, 'running', $3, now())`, runID, v.ID, v.SchemaVersion); err != nil {
			return fmt.Errorf("record the run: %w", err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "migration." + kind, TargetType: "vendor",
			TargetID: fmt.Sprint(v.ID), Before: map[string]any{"version": v.SchemaVersion}, After: map[string]any{"target": target}})
	})
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	before, after, merr := r.Prov.MigrateVendor(ctx, v, migrate.Tenant, target, down, r.Logger)
	d := time.Since(t0)
	recorded := after
	if before == 0 && after == 0 && merr != nil {
		recorded = -1 // the database could not be read: keep its version, note the error
	}
	if err := r.Prov.RecordSchemaVersion(context.WithoutCancel(ctx), v.ID, recorded, merr); err != nil && merr == nil {
		merr = err
	}
	status, state, errText := "migrated", "finished", ""
	if merr != nil {
		status, state, errText = "failed", "failed", merr.Error()
	}
	_, err = r.Store.Pool().Exec(context.WithoutCancel(ctx), `
		WITH res AS (UPDATE migration_results SET status = $2, version_before = $3, version_after = $4, finished_at = now(),
			duration_ms = $5, error = $6 WHERE run_id = $1)
		UPDATE migration_runs SET state = $7, finished_at = now(), error = $6 WHERE id = $1`,
		runID, status, before, after, d.Milliseconds(), errText, state)
	if err != nil {
		return nil, fmt.Errorf("record the result: %w", err)
	}
	if merr != nil {
		return nil, merr
	}
	return &OneResult{RunID: runID, Vendor: v.Slug, VersionBefore: before, VersionAfter: after, Duration: d}, nil
}
