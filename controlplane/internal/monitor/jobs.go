package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/storefleet/storefleet/internal/metrics"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// Job is a River job as the console and the API show it.
type Job struct {
	ID          int64           `json:"id"`
	Queue       string          `json:"queue"`
	Kind        string          `json:"kind"`
	State       string          `json:"state"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	AttemptedAt *time.Time      `json:"attempted_at,omitempty"`
	FinalizedAt *time.Time      `json:"finalized_at,omitempty"`
	Args        json.RawMessage `json:"args"`
	// LastError is the error of the newest failed attempt ("" if none).
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	Errors      int        `json:"errors"` // failed attempts so far
}

// CanRetry reports whether Retry applies: a job that failed, was
// cancelled, or waits for its next attempt.
func (j *Job) CanRetry() bool {
	return j.State == "discarded" || j.State == "cancelled" || j.State == "retryable"
}

// CanDiscard reports whether Discard applies: any job not completed.
func (j *Job) CanDiscard() bool { return j.State != "completed" }

// JobFilter selects jobs.
type JobFilter struct {
	States []string // empty: every state
	Queue  string
	Kind   string
	Limit  int // default 50, at most 500
}

// Job states groups the pages show.
var (
	StatesFailed    = []string{"discarded", "retryable", "cancelled"}
	StatesRunning   = []string{"running"}
	StatesScheduled = []string{"scheduled", "available", "pending"}
)

const jobColumns = `id, queue, kind, state::text, attempt, max_attempts, created_at, scheduled_at, attempted_at, finalized_at, args,
	COALESCE(errors[array_upper(errors, 1)]->>'error', ''), (errors[array_upper(errors, 1)]->>'at')::timestamptz,
	COALESCE(array_length(errors, 1), 0)`

func scanJob(row pgx.Row) (*Job, error) {
	var j Job
	var args []byte
	err := row.Scan(&j.ID, &j.Queue, &j.Kind, &j.State, &j.Attempt, &j.MaxAttempts, &j.CreatedAt, &j.ScheduledAt,
		&j.AttemptedAt, &j.FinalizedAt, &args, &j.LastError, &j.LastErrorAt, &j.Errors)
	j.Args = args
	return &j, err
}

// Jobs lists jobs, newest activity first: failed ones by when they
// failed, scheduled ones by when they are due.
func (m *Monitor) Jobs(ctx context.Context, f JobFilter) ([]*Job, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	order := `COALESCE(finalized_at, attempted_at, created_at) DESC, id DESC`
	if len(f.States) > 0 && (f.States[0] == "scheduled" || f.States[0] == "available") {
		order = `scheduled_at, id`
	}
	rows, err := m.o.Store.Pool().Query(ctx, `SELECT `+jobColumns+` FROM river_job
		WHERE (cardinality($1::text[]) = 0 OR state::text = ANY($1)) AND ($2 = '' OR queue = $2) AND ($3 = '' OR kind = $3)
		ORDER BY `+order+` LIMIT $4`, f.States, f.Queue, f.Kind, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// Job returns one job. Errors: platform.ErrNotFound.
func (m *Monitor) Job(ctx context.Context, id int64) (*Job, error) {
	return getJob(ctx, m.o.Store.Pool(), id, "")
}

func getJob(ctx context.Context, q platform.Querier, id int64, lock string) (*Job, error) {
	j, err := scanJob(q.QueryRow(ctx, `SELECT `+jobColumns+` FROM river_job WHERE id = $1`+lock, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("job %d: %w", id, platform.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find job %d: %w", id, err)
	}
	return j, nil
}

// JobStats reads the queues' figures.
func (m *Monitor) JobStats(ctx context.Context) (*metrics.JobStats, error) {
	return metrics.ReadJobStats(ctx, m.o.Store.Pool())
}

// Schedule is a periodic job and its cron expression from the settings.
type Schedule struct {
	Setting string    `json:"setting"`
	Kind    string    `json:"kind"`
	Cron    string    `json:"cron"`
	Next    time.Time `json:"next,omitzero"`
	Error   string    `json:"error,omitempty"`
}

// periodic are the settings that schedule periodic jobs (internal/jobs)
// and the kind each one runs.
var periodic = []struct{ setting, kind string }{
	{"backup.schedule", "backup_all"},
	{"backup.verify_schedule", "verify_sample"},
	{"reconcile.schedule", "reconcile"},
}

// Schedules returns the periodic jobs with their next run, from the
// platform settings (a changed setting takes effect within a minute).
func (m *Monitor) Schedules(ctx context.Context) ([]Schedule, error) {
	values, err := m.o.Store.SettingValues(ctx)
	if err != nil {
		return nil, err
	}
	var out []Schedule
	for _, p := range periodic {
		expr, ok := values[p.setting]
		if !ok {
			continue
		}
		s := Schedule{Setting: p.setting, Kind: p.kind, Cron: expr}
		if sched, err := cron.ParseStandard(expr); err != nil {
			s.Error = err.Error()
		} else {
			s.Next = sched.Next(time.Now())
		}
		out = append(out, s)
	}
	return out, nil
}

// Retry makes a failed, cancelled or waiting job run again at once (one
// more attempt if it had used them all), and audits it as job.retry in
// the same transaction. Errors: platform.ErrNotFound, a 409 *web.Error
// for a job that cannot be retried.
func (m *Monitor) Retry(ctx context.Context, actor platform.Actor, id int64) (*Job, error) {
	return m.change(ctx, actor, id, "retry", func(j *Job) error {
		if !j.CanRetry() {
			return web.Errorf(http.StatusConflict, "Job %d is %s: only failed, cancelled or erroring jobs can be retried.", id, j.State)
		}
		return nil
	}, func(tx pgx.Tx, j *Job) error {
		_, err := m.river.JobRetryTx(ctx, tx, id)
		return err
	})
}

// Discard gives up on a job: one still to run (waiting, scheduled, being
// retried) or running is cancelled, and River keeps it as cancelled for
// its retention period; one already failed or cancelled is deleted. A
// completed job cannot be discarded. Audited as job.discard in the same
// transaction. Errors: platform.ErrNotFound, a 409 *web.Error.
func (m *Monitor) Discard(ctx context.Context, actor platform.Actor, id int64) (*Job, error) {
	return m.change(ctx, actor, id, "discard", func(j *Job) error {
		if !j.CanDiscard() {
			return web.Errorf(http.StatusConflict, "Job %d completed: there is nothing to discard.", id)
		}
		return nil
	}, func(tx pgx.Tx, j *Job) error {
		var err error
		if j.State == "discarded" || j.State == "cancelled" {
			_, err = m.river.JobDeleteTx(ctx, tx, id)
		} else {
			_, err = m.river.JobCancelTx(ctx, tx, id)
		}
		return err
	})
}

// change checks and applies a change to job id and audits it as
// job.<action>, in one transaction.
func (m *Monitor) change(ctx context.Context, actor platform.Actor, id int64, action string,
	check func(*Job) error, apply func(pgx.Tx, *Job) error) (*Job, error) {
	var after *Job
	err := m.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		before, err := getJob(ctx, tx, id, " FOR UPDATE")
		if err != nil {
			return err
		}
		if err := check(before); err != nil {
			return err
		}
		if err := apply(tx, before); err != nil {
			if errors.Is(err, rivertype.ErrNotFound) {
				return fmt.Errorf("job %d: %w", id, platform.ErrNotFound)
			}
			if errors.Is(err, rivertype.ErrJobRunning) {
				return web.Errorf(http.StatusConflict, "Job %d is running: wait for it to finish, or discard it again.", id)
			}
			return fmt.Errorf("%s job %d: %w", action, id, err)
		}
		now, err := getJob(ctx, tx, id, "")
		switch {
		case errors.Is(err, platform.ErrNotFound): // deleted
			gone := *before
			gone.State = "deleted"
			now = &gone
		case err != nil:
			return err
		}
		after = now
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{
			Action: "job." + action, TargetType: "job", TargetID: strconv.FormatInt(id, 10),
			Before: map[string]any{"state": before.State, "kind": before.Kind, "queue": before.Queue,
				"attempt": before.Attempt, "max_attempts": before.MaxAttempts, "last_error": before.LastError},
			After: map[string]any{"state": after.State},
		})
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}
