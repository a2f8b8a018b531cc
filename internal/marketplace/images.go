package marketplace

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/media"
	"github.com/storefleet/storefleet/internal/web"
)

// Image fetch settings.
const (
	// maxImageAttempts is how often a fetch is tried before it is marked
	// failed.
	maxImageAttempts = 5
	// imageTimeout bounds one fetch, from the request to the thumbnails:
	// a server that trickles its answer gives way to the next image.
	imageTimeout = 90 * time.Second
)

// imageBackoff is how long a fetch that failed for a passing reason waits
// before its next attempt, by the attempt that failed: servers that are
// down or busy get time to come back.
var imageBackoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}

// Image fetch states.
const (
	FetchPending = "pending"
	FetchRunning = "running"
	FetchDone    = "done"
	FetchFailed  = "failed"
)

// ImageFetch is one image link of a published item, and what became of it.
type ImageFetch struct {
	ID        int64
	ProductID int64
	URL       string
	Position  int // among the item's images, 0 for its main image
	State     string
	Attempts  int
	RunAfter  time.Time // when a pending fetch is tried (again)
	LastError string    // why the last attempt failed, for people
	MediaID   *int64    // the image in the media library, once kept
	CreatedAt time.Time
}

const imageFetchColumns = `id, product_id, url, position, state, attempts, run_after, last_error, media_id, created_at`

func scanImageFetch(row pgx.CollectableRow) (ImageFetch, error) {
	var f ImageFetch
	err := row.Scan(&f.ID, &f.ProductID, &f.URL, &f.Position, &f.State, &f.Attempts, &f.RunAfter, &f.LastError, &f.MediaID, &f.CreatedAt)
	return f, err
}

// ImageFetches returns a product's image fetches in the order of its
// images, for the back office to show what came of each link.
func ImageFetches(ctx context.Context, db *pgxpool.Pool, productID int64) ([]ImageFetch, error) {
	rows, err := db.Query(ctx, `SELECT `+imageFetchColumns+` FROM image_fetches WHERE product_id = $1 ORDER BY position, id`, productID)
	if err != nil {
		return nil, fmt.Errorf("image fetches of product %d: %w", productID, err)
	}
	fetches, err := pgx.CollectRows(rows, scanImageFetch)
	if err != nil {
		return nil, fmt.Errorf("image fetches of product %d: %w", productID, err)
	}
	return fetches, nil
}

// ImageFetchCounts are a shop's image fetches by state.
type ImageFetchCounts struct {
	Pending, Running, Done, Failed int64
}

// Open is how many fetches are still to come.
func (c ImageFetchCounts) Open() int64 { return c.Pending + c.Running }

// ImageFetchSummary counts a shop's image fetches by state, for pages
// that show how the images of published items are coming along.
func ImageFetchSummary(ctx context.Context, db *pgxpool.Pool) (ImageFetchCounts, error) {
	var c ImageFetchCounts
	err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'running'),
			count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'failed')
		FROM image_fetches`).Scan(&c.Pending, &c.Running, &c.Done, &c.Failed)
	if err != nil {
		return c, fmt.Errorf("count image fetches: %w", err)
	}
	return c, nil
}

// HasOpenImageFetches reports whether a shop has image fetches still to
// run (pending or running), for the job system to ask for them after a
// publish.
func HasOpenImageFetches(ctx context.Context, db *pgxpool.Pool) (bool, error) {
	var open bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM image_fetches WHERE state IN ('pending', 'running'))`).Scan(&open); err != nil {
		return false, fmt.Errorf("look for open image fetches: %w", err)
	}
	return open, nil
}

// drainImages fetches the images of published items into the media
// library, at most Config.ImageConcurrency at once: each goroutine claims
// a due fetch, keeps its image and records the outcome, until none is
// due. A failure of one fetch is recorded on its row (and tried again
// later if it may pass); only a failure to reach the vendor's database
// ends the drain with an error.
func (r *Runner) drainImages(ctx context.Context, v *Vendor) (time.Time, error) {
	// One drain per vendor at a time, so that ImageConcurrency bounds the
	// vendor's fetches whatever number of jobs are asked for it: the
	// others come back later.
	lock, err := v.Pool.Acquire(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer lock.Release()
	var mine bool
	if err := lock.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, imagesLock).Scan(&mine); err != nil {
		return time.Time{}, fmt.Errorf("take the image fetches' lock: %w", err)
	}
	if !mine {
		return time.Now().Add(30 * time.Second), nil
	}
	defer func() { _, _ = lock.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, imagesLock) }()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.ImageConcurrency)
	var empty atomic.Bool
	for !empty.Load() && gctx.Err() == nil {
		g.Go(func() error { // waits for a free slot
			if empty.Load() {
				return nil
			}
			f, err := claimImageFetch(gctx, v.Pool)
			if errors.Is(err, pgx.ErrNoRows) {
				empty.Store(true)
				return nil
			}
			if err != nil {
				return fmt.Errorf("claim an image fetch: %w", err)
			}
			return r.runImageFetch(gctx, v, f)
		})
	}
	if err := g.Wait(); err != nil {
		return time.Time{}, err
	}
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	return nextDue(ctx, v.Pool, `SELECT min(CASE WHEN state = 'pending' THEN run_after ELSE locked_until END)
		FROM image_fetches WHERE state IN ('pending', 'running')`)
}

// imagesLock is the session-level advisory lock a drain of a vendor's
// image fetches holds.
const imagesLock = 0x6d6b7469 // "mkti"

// claimImageFetch takes the oldest due fetch: pending and due, or running
// under a lease that ran out (its worker died).
func claimImageFetch(ctx context.Context, pool *pgxpool.Pool) (*ImageFetch, error) {
	rows, err := pool.Query(ctx, `UPDATE image_fetches SET state = 'running', attempts = attempts + 1,
			locked_until = now() + make_interval(secs => $1)
		WHERE id = (SELECT id FROM image_fetches
			WHERE (state = 'pending' AND run_after <= now()) OR (state = 'running' AND locked_until < now())
			ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+imageFetchColumns, lease.Seconds())
	if err != nil {
		return nil, err
	}
	f, err := pgx.CollectExactlyOneRow(rows, scanImageFetch)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// runImageFetch runs one claimed fetch under its lease and records the
// outcome. It returns an error only if the outcome cannot be recorded.
func (r *Runner) runImageFetch(ctx context.Context, v *Vendor, f *ImageFetch) error {
	workCtx, cancel := context.WithTimeout(ctx, imageTimeout)
	defer cancel()
	var note string
	var err error
	if f.Attempts > maxImageAttempts {
		// Claimed that often only if its workers kept dying on it.
		err = permanent{fmt.Errorf("the fetch was interrupted %d times and has been stopped", maxImageAttempts)}
	} else {
		stop := keepLease(workCtx, v.Pool, "image_fetches", f.ID, f.Attempts, cancel)
		note, err = r.keepImage(workCtx, v, f)
		stop()
	}
	rec := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		return finishImageFetch(rec, v.Pool, f, note)
	case ctx.Err() != nil:
		// Stopping: the fetch goes back to the queue as it was.
		return releaseImageFetch(rec, v.Pool, f.ID)
	}
	v.Log.Warn("image fetch failed", "fetch", f.ID, "product", f.ProductID, "url", f.URL, "attempt", f.Attempts, "err", err)
	return failImageFetch(rec, v.Pool, f, err)
}

// keepImage brings a fetch's image into the media library, linked to its
// product, with its sizes made. An attempt after one that linked the
// image but stopped before the end (media_id is set) only finishes the
// sizes. note is for the fetch's row even though it succeeded (sizes
// that cannot be made).
func (r *Runner) keepImage(ctx context.Context, v *Vendor, f *ImageFetch) (note string, err error) {
	b := media.Bucket{Client: v.Objects, Name: v.Bucket}
	if f.MediaID == nil {
		id, err := r.fetchAndLink(ctx, v, b, f)
		if err != nil {
			return "", err
		}
		f.MediaID = &id
	}
	m, err := media.Get(ctx, v.Pool, *f.MediaID)
	if errors.Is(err, media.ErrNotFound) {
		f.MediaID = nil
		return "", nil // deleted from the library since it was linked: staff chose so
	}
	if err != nil || m.ThumbsState != "pending" {
		return "", err
	}
	// At once, not through the tenant app's media_jobs: its worker looks
	// at a vendor's jobs only when it serves the vendor.
	err = media.MakeThumbnails(ctx, v.Pool, b, m.ID)
	if errors.Is(err, media.ErrPermanent) {
		if err := media.MarkThumbsFailed(ctx, v.Pool, m.ID); err != nil {
			return "", err
		}
		return "The image was kept, but its smaller sizes could not be made: " +
			strings.TrimPrefix(err.Error(), media.ErrPermanent.Error()+": "), nil
	}
	if err != nil {
		return "", fmt.Errorf("make the sizes of image %d: %w", m.ID, err)
	}
	return "", nil
}

// fetchAndLink downloads a fetch's image, checks it as an upload is
// checked, and links it to the product: an image the library has already
// (the same bytes) is linked rather than kept twice; otherwise it is
// stored under a new key with its media row and link in one transaction.
// It returns the image's media id.
func (r *Runner) fetchAndLink(ctx context.Context, v *Vendor, b media.Bucket, f *ImageFetch) (int64, error) {
	data, err := r.download(ctx, f.URL)
	if err != nil {
		return 0, err
	}
	c, err := media.CheckFetched(imageName(f.URL), data)
	if err != nil {
		return 0, permanent{err}
	}
	sum := sha256.Sum256(data)
	for try := 0; ; try++ {
		id, err := linkExisting(ctx, v.Pool, f, sum[:])
		if !errors.Is(err, errNoSuchImage) {
			return id, err
		}
		m, err := media.Store(ctx, v.Pool, b, media.Original{Checked: c, Data: data}, func(tx pgx.Tx, m *media.Media) error {
			_, err := linkImage(ctx, tx, f, sum[:], m.ID)
			return err
		})
		if errors.Is(err, errSameImage) && try == 0 {
			continue // another fetch kept the same image first: link that one
		}
		if err != nil {
			return 0, err
		}
		return m.ID, nil
	}
}

// download fetches an image link into memory, at most media.MaxBytes.
func (r *Runner) download(ctx context.Context, u string) ([]byte, error) {
	body, _, err := r.get(ctx, u, media.MaxBytes)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", u, err)
	}
	return data, nil
}

// imageName is the display name of a fetched image: the last element of
// its link's path ("image" if it has none), cleaned by the media checks.
func imageName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "image"
	}
	name := path.Base(u.Path)
	if name == "." || name == ".." || name == "/" {
		return "image"
	}
	return name
}

var (
	// errNoSuchImage means the library has no image with the bytes.
	errNoSuchImage = errors.New("no image with the same content")
	// errSameImage means another fetch kept the same bytes meanwhile.
	errSameImage = errors.New("the library has this image already")
)

// linkExisting links the library's image with the same bytes (sum), if
// there is one, to the fetch's product; errNoSuchImage if there is none.
func linkExisting(ctx context.Context, pool *pgxpool.Pool, f *ImageFetch, sum []byte) (int64, error) {
	var id int64
	err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
		var err error
		id, err = linkImage(ctx, tx, f, sum, 0)
		return err
	})
	return id, err
}

// linkImage links an image to the fetch's product at the fetch's position
// and records it on the fetch, in tx. newID is the media row just written
// for the fetch, or 0 to link an image the library has already. Images
// are matched by their bytes: the product's own first, then any in the
// library, so that an image is never linked to a product twice nor kept
// twice by these fetches (a feed often gives many items the same
// picture). Fetches of the same bytes take turns (an advisory lock on
// the digest), so that two at once cannot both keep a copy: the second
// gets errSameImage and links the first's. The product is locked as the
// back office locks it to change its images, so that the count against
// media.MaxPerProduct holds.
func linkImage(ctx context.Context, tx pgx.Tx, f *ImageFetch, sum []byte, newID int64) (int64, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, advisoryImages, int32(binary.BigEndian.Uint32(sum))); err != nil {
		return 0, fmt.Errorf("wait for other fetches of the same image: %w", err)
	}
	err := tx.QueryRow(ctx, `SELECT true FROM products WHERE id = $1 FOR UPDATE`, f.ProductID).Scan(new(bool))
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, permanent{fmt.Errorf("product %d was deleted", f.ProductID)}
	}
	if err != nil {
		return 0, fmt.Errorf("lock product %d: %w", f.ProductID, err)
	}
	var same int64
	var linked bool
	err = tx.QueryRow(ctx, `SELECT m.id, pm.media_id IS NOT NULL FROM media m
			LEFT JOIN product_media pm ON pm.media_id = m.id AND pm.product_id = $1
		WHERE m.sha256 = $2 AND m.id <> $3
		ORDER BY pm.media_id IS NULL, m.id LIMIT 1
		FOR KEY SHARE OF m`, f.ProductID, sum, newID).Scan(&same, &linked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if newID == 0 {
			return 0, errNoSuchImage
		}
	case err != nil:
		return 0, fmt.Errorf("look for the same image: %w", err)
	case newID != 0:
		return 0, errSameImage
	}
	id := max(same, newID)
	if linked {
		// Linked by another of the item's links to the same picture: it
		// shows where the first of them puts it.
		if _, err := tx.Exec(ctx, `UPDATE product_media SET position = $3 WHERE product_id = $1 AND media_id = $2 AND position > $3`,
			f.ProductID, id, f.Position); err != nil {
			return 0, fmt.Errorf("move image %d of product %d: %w", id, f.ProductID, err)
		}
	} else {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM product_media WHERE product_id = $1`, f.ProductID).Scan(&n); err != nil {
			return 0, fmt.Errorf("count the images of product %d: %w", f.ProductID, err)
		}
		if n >= media.MaxPerProduct {
			return 0, permanent{fmt.Errorf("the product has %d images already, the most it can have", n)}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO product_media (product_id, media_id, position) VALUES ($1, $2, $3)`,
			f.ProductID, id, f.Position); err != nil {
			return 0, fmt.Errorf("link image %d to product %d: %w", id, f.ProductID, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE image_fetches SET media_id = $2 WHERE id = $1`, f.ID, id); err != nil {
		return 0, fmt.Errorf("record image %d on fetch %d: %w", id, f.ID, err)
	}
	return id, nil
}

// advisoryImages is the first key of the advisory locks on image digests
// (the second is the digest's first four bytes), apart from other users
// of advisory locks in a vendor's database.
const advisoryImages int32 = 0x696d6773 // "imgs"

// permanent marks a fetch failure that trying again cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// retryable reports whether a failed fetch may pass later: a server that
// is down, busy or slow, a network that failed, the platform's own
// storage. A link that is refused, gone, or leads to something that is
// not an acceptable image fails at once.
func retryable(err error) bool {
	var st *HTTPStatusError
	var dns *net.DNSError
	var p permanent
	switch {
	case errors.As(err, &p), errors.Is(err, ErrBadURL), errors.Is(err, errTooBig), errors.Is(err, media.ErrPermanent):
		return false
	case errors.As(err, &st):
		return st.Temporary()
	case errors.As(err, &dns):
		return !dns.IsNotFound
	}
	return true
}

// fetchMessage says why a fetch failed, for the vendor.
func fetchMessage(err error) string {
	var we *web.Error
	switch {
	case errors.As(err, &we):
		return we.Message // the media checks speak to people already
	case errors.Is(err, errTooBig):
		return fmt.Sprintf("The image is larger than %s, the most the media library keeps.", media.HumanBytes(media.MaxBytes))
	}
	return err.Error()
}

// finishImageFetch records a fetch that kept its image.
func finishImageFetch(ctx context.Context, pool *pgxpool.Pool, f *ImageFetch, note string) error {
	_, err := pool.Exec(ctx, `UPDATE image_fetches SET state = 'done', locked_until = NULL, last_error = $2, media_id = $3
		WHERE id = $1`, f.ID, trim(note, 2000), f.MediaID)
	if err != nil {
		return fmt.Errorf("record image fetch %d as done: %w", f.ID, err)
	}
	return nil
}

// failImageFetch records a failed attempt: the fetch waits for its next
// attempt (imageBackoff), or, after the last attempt or a failure that
// retrying cannot fix, is failed for good.
func failImageFetch(ctx context.Context, pool *pgxpool.Pool, f *ImageFetch, fetchErr error) error {
	msg := trim(fetchMessage(fetchErr), 2000)
	var err error
	if !retryable(fetchErr) || f.Attempts >= maxImageAttempts {
		_, err = pool.Exec(ctx, `UPDATE image_fetches SET state = 'failed', locked_until = NULL, last_error = $2 WHERE id = $1`, f.ID, msg)
	} else {
		delay := imageBackoff[min(f.Attempts, len(imageBackoff))-1]
		_, err = pool.Exec(ctx, `UPDATE image_fetches SET state = 'pending', locked_until = NULL, last_error = $2,
			run_after = now() + make_interval(secs => $3) WHERE id = $1`, f.ID, msg, delay.Seconds())
	}
	if err != nil {
		return fmt.Errorf("record the failure of image fetch %d: %w", f.ID, err)
	}
	return nil
}

// releaseImageFetch puts a fetch that was stopped midway (the drain is
// ending) back in the queue, due at once, without counting the attempt.
func releaseImageFetch(ctx context.Context, pool *pgxpool.Pool, id int64) error {
	_, err := pool.Exec(ctx, `UPDATE image_fetches SET state = 'pending', locked_until = NULL, run_after = now(),
			attempts = greatest(attempts - 1, 0)
		WHERE id = $1 AND state = 'running'`, id)
	if err != nil {
		return fmt.Errorf("put image fetch %d back: %w", id, err)
	}
	return nil
}
