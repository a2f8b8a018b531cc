package media

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	core "github.com/storefleet/storefleet/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/routing"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Job settings.
const (
	// jobLock is how long a running job is held before another worker may
	// take it over (its worker is taken to have died).
	jobLock = 5 * time.Minute
	// maxAttempts is how often a job is tried before it is marked failed.
	maxAttempts = 5
	// queueSize bounds the vendors waiting for a worker.
	queueSize = 1024
)

// Worker runs media jobs (thumbnails, purges) from vendors' media_jobs
// tables with a bounded number of goroutines. It is told which vendor has
// work (Enqueue); the jobs themselves are in the vendor's database, so a
// lost notice loses no work: the vendor's jobs are taken up when the
// worker next hears of it, at the latest the first time a process sees
// the vendor after a restart.
type Worker struct {
	svc    *Service
	pools  tenant.Pools
	routes tenant.Resolver
	n      int
	queue  chan int64

	mu      sync.Mutex
	entries map[int64]*routing.Entry // the newest entry of each vendor heard of
	queued  map[int64]bool           // vendors in queue
	timers  map[int64]*time.Timer    // vendors with a retry or a lock expiry to wait for
	started bool
	stopped bool
	seen    sync.Map // vendor id -> struct{}: vendors this process has looked at

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	busy   int // goroutines running a vendor's jobs
}

func newWorker(s *Service, pools tenant.Pools, routes tenant.Resolver, n int) *Worker {
	ctx, cancel := context.WithCancel(context.Background())
	return &Worker{svc: s, pools: pools, routes: routes, n: n, queue: make(chan int64, queueSize),
		entries: map[int64]*routing.Entry{}, queued: map[int64]bool{}, timers: map[int64]*time.Timer{},
		ctx: ctx, cancel: cancel}
}

// Start starts the worker's goroutines. Vendors enqueued before Start are
// taken up then.
func (w *Worker) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.stopped {
		return
	}
	w.started = true
	for range w.n {
		w.wg.Add(1)
		go w.run()
	}
}

// Stop stops taking jobs and waits for the running ones to end (their
// context is cancelled; an unfinished job is taken up again later).
func (w *Worker) Stop() {
	w.mu.Lock()
	w.stopped = true
	for id, t := range w.timers {
		t.Stop()
		delete(w.timers, id)
	}
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
}

// Enqueue tells the worker that a vendor has jobs.
func (w *Worker) Enqueue(t *tenant.Tenant) { w.enqueue(t.Entry) }

// noticeVendor enqueues a vendor the first time this process sees it.
func (w *Worker) noticeVendor(t *tenant.Tenant) {
	if _, seen := w.seen.LoadOrStore(t.Entry.VendorID, struct{}{}); !seen {
		w.enqueue(t.Entry)
	}
}

func (w *Worker) enqueue(e *routing.Entry) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.entries[e.VendorID] = e
	if w.queued[e.VendorID] {
		w.mu.Unlock()
		return
	}
	w.queued[e.VendorID] = true
	w.mu.Unlock()
	select {
	case w.queue <- e.VendorID:
	default:
		// Full: forget the vendor, so that it is taken up when next seen.
		w.mu.Lock()
		delete(w.queued, e.VendorID)
		w.mu.Unlock()
		w.seen.Delete(e.VendorID)
		w.svc.log.Warn("media worker queue is full; the vendor's jobs wait until it is next seen", "vendor_id", e.VendorID)
	}
}

// later enqueues a vendor after d, unless it is due sooner already.
func (w *Worker) later(e *routing.Entry, d time.Duration) {
	d = max(d, 200*time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if t, ok := w.timers[e.VendorID]; ok {
		t.Stop()
	}
	w.timers[e.VendorID] = time.AfterFunc(d, func() {
		w.mu.Lock()
		delete(w.timers, e.VendorID)
		w.mu.Unlock()
		w.enqueue(e)
	})
}

func (w *Worker) run() {
	defer w.wg.Done()
	for {
		select {
		case <-w.ctx.Done():
			return
		case id := <-w.queue:
			w.mu.Lock()
			delete(w.queued, id)
			e := w.entries[id]
			w.busy++
			w.mu.Unlock()
			w.drain(e)
			w.mu.Lock()
			w.busy--
			w.mu.Unlock()
		}
	}
}

// Idle reports whether no job is running and no vendor is waiting (tests).
func (w *Worker) Idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.busy == 0 && len(w.queued) == 0
}

// job is one row of media_jobs, claimed.
type job struct {
	ID       int64
	Kind     string
	MediaID  *int64
	Keys     []string
	Attempts int
}

// errPermanent marks failures that retrying cannot fix: the core's, which
// MakeThumbnails returns for an image it cannot decode.
var errPermanent = core.ErrPermanent

// drain runs a vendor's due jobs until none is left, then arranges to
// come back for jobs that are due later.
func (w *Worker) drain(e *routing.Entry) {
	ctx := w.ctx
	log := w.svc.log.With("vendor", e.Slug)
	if w.routes != nil {
		// A fresh entry: the vendor may have moved (an old entry would
		// flip its pool back), or be suspended, read-only or gone.
		fresh, err := w.routes.LookupSlug(ctx, e.Slug)
		switch {
		case errors.Is(err, routing.ErrUnknownHost):
			return // gone: its jobs went with its database
		case err != nil:
			if ctx.Err() == nil {
				log.Warn("media worker cannot look the vendor up; trying again in 30 s", "err", err)
				w.later(e, 30*time.Second)
			}
			return
		case fresh.VendorID != e.VendorID:
			return
		case fresh.State != "active" || fresh.ReadOnly:
			w.later(fresh, time.Minute) // back when it is served again
			return
		}
		e = fresh
	}
	pool, err := w.pools.Get(ctx, e)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("media worker cannot reach the vendor's database; trying again in 30 s", "err", err)
			w.later(e, 30*time.Second)
		}
		return
	}
	for ctx.Err() == nil {
		j, err := claim(ctx, pool)
		if errors.Is(err, pgx.ErrNoRows) {
			break
		}
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("media worker cannot claim a job; trying again in 30 s", "err", err)
				w.later(e, 30*time.Second)
			}
			return
		}
		jobErr := w.do(ctx, pool, e, j)
		if ctx.Err() != nil {
			return // stopping: the job's lock runs out and it is taken up later
		}
		if jobErr != nil {
			log.Warn("media job failed", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "err", jobErr)
		}
		if err := finish(context.WithoutCancel(ctx), pool, j, jobErr); err != nil {
			log.Warn("media worker cannot record a job's result", "job", j.ID, "err", err)
		}
	}
	if ctx.Err() != nil {
		return
	}
	// Jobs waiting for a retry or for a dead worker's lock to run out.
	var next *time.Time
	err = pool.QueryRow(ctx, `SELECT min(CASE WHEN state = 'pending' THEN run_after ELSE locked_until END)
		FROM media_jobs WHERE state IN ('pending', 'running')`).Scan(&next)
	if err == nil && next != nil {
		w.later(e, time.Until(*next))
	}
}

// claim takes the oldest due job (pending, or running under a lock that
// ran out) for this worker.
func claim(ctx context.Context, pool *pgxpool.Pool) (*job, error) {
	var j job
	err := pool.QueryRow(ctx, `UPDATE media_jobs SET state = 'running', attempts = attempts + 1,
			locked_until = now() + make_interval(secs => $1)
		WHERE id = (SELECT id FROM media_jobs
			WHERE (state = 'pending' AND run_after <= now()) OR (state = 'running' AND locked_until < now())
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, media_id, object_keys, attempts`, jobLock.Seconds()).Scan(&j.ID, &j.Kind, &j.MediaID, &j.Keys, &j.Attempts)
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// finish records a job's result: done jobs are deleted, failed ones wait
// to be tried again (5 s, 20 s, 80 s, ...) or, at the last attempt or on a
// failure that retrying cannot fix, are kept as failed.
func finish(ctx context.Context, pool *pgxpool.Pool, j *job, jobErr error) error {
	if jobErr == nil {
		_, err := pool.Exec(ctx, `DELETE FROM media_jobs WHERE id = $1`, j.ID)
		return err
	}
	msg := jobErr.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	if j.Attempts >= maxAttempts || errors.Is(jobErr, errPermanent) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		if _, err := tx.Exec(ctx, `UPDATE media_jobs SET state = 'failed', locked_until = NULL, last_error = $2 WHERE id = $1`, j.ID, msg); err != nil {
			return err
		}
		if j.MediaID != nil {
			if err := core.MarkThumbsFailed(ctx, tx, *j.MediaID); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	}
	delay := 5 * time.Second << (2 * (j.Attempts - 1))
	_, err := pool.Exec(ctx, `UPDATE media_jobs SET state = 'pending', locked_until = NULL, last_error = $2,
		run_after = now() + make_interval(secs => $3) WHERE id = $1`, j.ID, msg, delay.Seconds())
	return err
}

// do runs one job.
func (w *Worker) do(ctx context.Context, pool *pgxpool.Pool, e *routing.Entry, j *job) error {
	ctx, cancel := context.WithTimeout(ctx, jobLock-30*time.Second)
	defer cancel()
	b, err := w.svc.bucket(e.Bucket)
	if err != nil {
		return err
	}
	switch j.Kind {
	case "thumbnails":
		if j.MediaID == nil {
			return fmt.Errorf("%w: thumbnails job without media", errPermanent)
		}
		return core.MakeThumbnails(ctx, pool, b, *j.MediaID)
	case "purge":
		return core.Purge(ctx, b, j.Keys)
	}
	return fmt.Errorf("%w: unknown job kind %q", errPermanent, j.Kind)
}
