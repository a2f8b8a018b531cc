// Package marketplace brings vendors' marketplace product feeds into
// their shops: feed file → import job → staging (marketplace_products, one
// row per feed item, untouched by the shop) → a publish of a selection →
// catalog products, with a snapshot of each publish so that it can be
// undone, and the items' images fetched into the media library.
//
// Everything lives in the vendor's own database and bucket. The tenant app
// records requests (an import, a publish) there and asks the control
// plane's job system to run them (request_vendor_work); the jobs call
// Runner.Drain with the vendor's pool, connected as the vendor's own role,
// and a client limited to the vendor's bucket. Each queued item is claimed
// with a lease (locked_until) that its worker keeps extending: a worker
// that died lets go, and the next drain takes the item up again from the
// start, which is safe because every step is an idempotent upsert.
package marketplace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
)

// MinSchema is the vendor schema version that has the marketplace tables.
const MinSchema = 11

// Vendor is what a job needs of one vendor: its database as its own role
// and its bucket.
type Vendor struct {
	ID      int64
	Slug    string
	Pool    *pgxpool.Pool
	Bucket  string
	Objects *minio.Client
	Log     *slog.Logger
}

// Config tunes a Runner.
type Config struct {
	// AllowPrivateURLs lets feed URLs and image links reach loopback and
	// private addresses: for development and tests only. Otherwise such
	// addresses are refused, so that a vendor cannot make the platform
	// fetch from inside its own network.
	AllowPrivateURLs bool
	// MaxFeedBytes bounds a feed file (default 2 GiB).
	MaxFeedBytes int64
	// ImageConcurrency bounds the image fetches of one vendor running at
	// once (default 2). Each may hold a 10 MiB download and a decoded
	// image of up to 40 megapixels (160 MB) while its sizes are made, so
	// this, times the vendor-work workers, bounds the job's memory.
	ImageConcurrency int
	// Transport, if set, is used for outgoing requests (tests).
	Transport http.RoundTripper
	// PublishChunk is how many items a publish writes per transaction
	// (default DefaultPublishChunk).
	PublishChunk int
	// Reporter, if set, hears of every import that starts or ends.
	Reporter Reporter
}

// Reporter is told when an import starts and ends (the control plane
// keeps a summary across vendors for its console). A failure to report
// is logged and does not stop the import.
type Reporter interface {
	ReportImport(ctx context.Context, vendorID int64, imp *Import) error
}

// Runner runs vendors' queued marketplace work. It is safe for concurrent
// use.
type Runner struct {
	cfg  Config
	http *http.Client
	// afterChunk, if set, is called after each chunk of a publish is
	// committed (tests stop a publish there).
	afterChunk func(publishID int64)
}

// NewRunner returns a Runner.
func NewRunner(cfg Config) *Runner {
	if cfg.MaxFeedBytes <= 0 {
		cfg.MaxFeedBytes = 2 << 30
	}
	if cfg.ImageConcurrency <= 0 {
		cfg.ImageConcurrency = 2
	}
	return &Runner{cfg: cfg, http: newHTTPClient(cfg)}
}

// Kinds of work, as request_vendor_work names them.
const (
	WorkImports   = "imports"
	WorkPublishes = "publishes"
	WorkImages    = "images"
)

// ErrUnknownWork means Drain was asked for a kind of work it does not do.
var ErrUnknownWork = errors.New("unknown kind of vendor work")

// Drain runs the vendor's due work of one kind until none is left or ctx
// ends. It returns when the next item falls due (an item waiting for a
// retry, or held by another worker), or the zero time if the queue is
// empty.
func (r *Runner) Drain(ctx context.Context, kind string, v *Vendor) (time.Time, error) {
	switch kind {
	case WorkImports:
		return r.drainImports(ctx, v)
	case WorkPublishes:
		return r.drainPublishes(ctx, v)
	case WorkImages:
		return r.drainImages(ctx, v)
	}
	return time.Time{}, fmt.Errorf("%w: %q", ErrUnknownWork, kind)
}

// Lease settings: a claimed item is held for lease and the lease is
// extended every lease/3 while its worker runs.
const lease = 2 * time.Minute

// keepLease extends the lease of row id of table, claimed as its
// attempt-th attempt, until the returned stop is called. If the lease
// cannot be extended (the database is gone) or is not this worker's any
// more (it ran out and another worker claimed the row: the attempt
// differs), the work's ctx is cancelled through cancel.
func keepLease(ctx context.Context, pool *pgxpool.Pool, table string, id int64, attempt int, cancel context.CancelFunc) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		failures := 0
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				uctx, ucancel := context.WithTimeout(ctx, lease/3)
				tag, err := pool.Exec(uctx, `UPDATE `+table+` SET locked_until = now() + make_interval(secs => $2)
					WHERE id = $1 AND attempts = $3 AND state = 'running'`, id, lease.Seconds(), attempt)
				ucancel()
				if err == nil && tag.RowsAffected() == 0 {
					cancel() // another worker has it now
					return
				}
				if err != nil {
					failures++
					if failures >= 2 {
						cancel()
						return
					}
					continue
				}
				failures = 0
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// nextDue returns the earliest time a queued item of table falls due: a
// pending item whose retry time has not come, or a running one whose
// worker's lease has not run out. The zero time means none is waiting.
func nextDue(ctx context.Context, pool *pgxpool.Pool, query string) (time.Time, error) {
	var next *time.Time
	if err := pool.QueryRow(ctx, query).Scan(&next); err != nil {
		return time.Time{}, err
	}
	if next == nil {
		return time.Time{}, nil
	}
	return *next, nil
}

// trim cuts s to at most n bytes on a rune boundary, for error columns.
func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
