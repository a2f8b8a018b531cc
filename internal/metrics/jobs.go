package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
)

// JobStates are River's job states, each reported (zero or not) for every
// queue River knows.
var JobStates = []string{"available", "scheduled", "pending", "running", "retryable", "completed", "cancelled", "discarded"}

// JobsCollector reads River's tables at each scrape: jobs per queue and
// state, the age of the oldest job waiting to run per queue, and jobs
// still to be retried after an error. The figures hold for every control
// plane sharing the database, whichever one is scraped.
type JobsCollector struct {
	pool    *pgxpool.Pool
	timeout time.Duration

	jobs, oldest, erroring, up *prometheus.Desc
}

// NewJobsCollector reads River's tables through pool.
func NewJobsCollector(pool *pgxpool.Pool) *JobsCollector {
	return &JobsCollector{pool: pool, timeout: 5 * time.Second,
		jobs:     desc("jobs", "River jobs in the control-plane database by queue and state (completed, cancelled and discarded jobs are kept for River's retention period).", "queue", "state"),
		oldest:   desc("jobs_oldest_available_age_seconds", "Age of the oldest job of a queue that is due and waiting for a worker (0 if none): the queue's backlog.", "queue"),
		erroring: desc("jobs_erroring", "Jobs of a queue whose last attempt failed and that will be retried (state retryable, or running again after an error).", "queue"),
		up:       desc("jobs_stats_up", "1 if River's tables could be read at this scrape."),
	}
}

// Describe implements prometheus.Collector.
func (c *JobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.oldest
	ch <- c.erroring
	ch <- c.up
}

// Collect implements prometheus.Collector.
func (c *JobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := ReadJobStats(ctx, c.pool)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, q := range st.Queues {
		for _, s := range JobStates {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(st.Counts[q][s]), q, s)
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, st.OldestAvailable[q].Seconds(), q)
		ch <- prometheus.MustNewConstMetric(c.erroring, prometheus.GaugeValue, float64(st.Erroring[q]), q)
	}
}

// JobStats are River's figures at one moment.
type JobStats struct {
	// Queues are the queues River knows or that hold jobs, sorted.
	Queues []string
	// Counts are jobs by queue and state.
	Counts map[string]map[string]int64
	// OldestAvailable is, per queue, how long the oldest due job has
	// waited for a worker.
	OldestAvailable map[string]time.Duration
	// Erroring are jobs per queue whose last attempt failed and that are
	// not finalized.
	Erroring map[string]int64
}

// ReadJobStats reads River's tables (the control plane's jobs page and
// the collector share it).
func ReadJobStats(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) (*JobStats, error) {
	st := &JobStats{Counts: map[string]map[string]int64{}, OldestAvailable: map[string]time.Duration{}, Erroring: map[string]int64{}}
	rows, err := q.Query(ctx, `
		WITH queues AS (SELECT name FROM river_queue UNION SELECT DISTINCT queue FROM river_job)
		SELECT qs.name, j.state, j.n, j.oldest, j.erroring
		FROM queues qs
		LEFT JOIN LATERAL (
			SELECT state::text AS state, count(*) AS n,
				COALESCE(EXTRACT(EPOCH FROM now() - min(scheduled_at) FILTER (WHERE state = 'available' AND scheduled_at <= now())), 0)::float8 AS oldest,
				count(*) FILTER (WHERE state IN ('retryable', 'running', 'available') AND COALESCE(array_length(errors, 1), 0) > 0) AS erroring
			FROM river_job WHERE queue = qs.name GROUP BY state
		) j ON true
		ORDER BY qs.name`)
	if err != nil {
		return nil, fmt.Errorf("read job counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			queue    string
			state    *string
			n        *int64
			oldest   *float64
			erroring *int64
		)
		if err := rows.Scan(&queue, &state, &n, &oldest, &erroring); err != nil {
			return nil, fmt.Errorf("read job counts: %w", err)
		}
		if _, ok := st.Counts[queue]; !ok {
			st.Counts[queue] = map[string]int64{}
			st.Queues = append(st.Queues, queue)
		}
		if state == nil {
			continue
		}
		st.Counts[queue][*state] = *n
		if d := time.Duration(*oldest * float64(time.Second)); d > st.OldestAvailable[queue] {
			st.OldestAvailable[queue] = d
		}
		st.Erroring[queue] += *erroring
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read job counts: %w", err)
	}
	return st, nil
}

// JobOutcomes counts the outcomes of the jobs this process ran, from
// River's event subscription.
type JobOutcomes struct {
	finished *prometheus.CounterVec
	run      *prometheus.HistogramVec
}

// RegisterJobOutcomes adds the job outcome counters to the registry.
func (m *Metrics) RegisterJobOutcomes() *JobOutcomes {
	o := &JobOutcomes{
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "jobs_finished_total",
			Help: "Job attempts this process ran, by queue, kind and outcome (completed; failed: will be retried; discarded: out of attempts; cancelled; snoozed)."},
			[]string{"queue", "kind", "outcome"}),
		run: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "job_run_duration_seconds",
			Help:    "How long job attempts ran, by kind.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600}},
			[]string{"kind"}),
	}
	m.Registry.MustRegister(o.finished, o.run)
	return o
}

// Watch counts the outcomes of the jobs client runs until stop is called
// (or the client stops).
func (o *JobOutcomes) Watch(client *river.Client[pgx.Tx]) (stop func()) {
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range events {
			if ev == nil || ev.Job == nil {
				continue
			}
			o.Observe(ev)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// Observe counts one event.
func (o *JobOutcomes) Observe(ev *river.Event) {
	outcome := ""
	switch ev.Kind {
	case river.EventKindJobCompleted:
		outcome = "completed"
	case river.EventKindJobCancelled:
		outcome = "cancelled"
	case river.EventKindJobSnoozed:
		outcome = "snoozed"
	case river.EventKindJobFailed:
		outcome = "failed"
		if ev.Job.State == "discarded" {
			outcome = "discarded"
		}
	default:
		return
	}
	o.finished.WithLabelValues(ev.Job.Queue, ev.Job.Kind, outcome).Inc()
	if ev.JobStats != nil {
		o.run.WithLabelValues(ev.Job.Kind).Observe(ev.JobStats.RunDuration.Seconds())
	}
}
