package marketplace

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/storefleet/storefleet/internal/feed"
)

// Import settings.
const (
	// batchRows is how many rows are loaded per transaction; progress and
	// the cancel flag are read between batches. A batch is also cut when
	// its rows' text passes batchBytes, so that feeds of long rows do not
	// hold hundreds of megabytes per batch.
	batchRows = 5000
	// feedDownloadTimeout bounds the download of a feed given as a link.
	feedDownloadTimeout = 30 * time.Minute
	batchBytes          = 16 << 20
	// maxImportAttempts is how often an import interrupted by a dying
	// worker is started again before it is marked failed.
	maxImportAttempts = 3
	// Limits of the staging table that are tighter than the feed's: the id
	// becomes the product's SKU and the title its title.
	maxStagedID    = 64
	maxStagedTitle = 300
)

// errCancelled stops an import whose cancel was asked for.
var errCancelled = errors.New("cancelled")

// errLostLease stops a worker whose import another worker has claimed
// since (its lease ran out while it was cut off).
var errLostLease = errors.New("the import was taken over by another worker")

func (r *Runner) drainImports(ctx context.Context, v *Vendor) (time.Time, error) {
	for ctx.Err() == nil {
		imp, err := claimImport(ctx, v.Pool)
		if errors.Is(err, pgx.ErrNoRows) {
			break
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("claim an import: %w", err)
		}
		r.report(ctx, v, imp.ID)
		err = r.runImport(ctx, v, imp)
		r.report(ctx, v, imp.ID)
		if err != nil {
			return time.Time{}, err
		}
	}
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	return nextDue(ctx, v.Pool, `SELECT min(locked_until) FROM imports WHERE state = 'running'`)
}

// report tells the Reporter how an import stands now.
func (r *Runner) report(ctx context.Context, v *Vendor, id int64) {
	if r.cfg.Reporter == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	imp, err := GetImport(ctx, v.Pool, id)
	if err == nil {
		err = r.cfg.Reporter.ReportImport(ctx, v.ID, imp)
	}
	if err != nil {
		v.Log.Warn("cannot report an import to the platform", "import", id, "err", err)
	}
}

// claimImport takes the oldest queued import, or a running one whose
// worker's lease ran out, and starts it (again) from the beginning.
func claimImport(ctx context.Context, pool *pgxpool.Pool) (*Import, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	var id int64
	// One import of a vendor runs at a time, in the order they were
	// asked for: two jobs draining one vendor (a new request while one
	// runs) must not load two feeds into staging side by side.
	err = tx.QueryRow(ctx, `SELECT id FROM imports
		WHERE (state = 'queued' OR (state = 'running' AND locked_until < now()))
		  AND NOT EXISTS (SELECT 1 FROM imports WHERE state = 'running' AND locked_until >= now())
		ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`).Scan(&id)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM import_rejections WHERE import_id = $1`, id); err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `UPDATE imports SET state = 'running', attempts = attempts + 1,
			locked_until = now() + make_interval(secs => $2), started_at = COALESCE(started_at, now()),
			rows_read = 0, rows_imported = 0, rows_rejected = 0, rows_new = 0, rows_changed = 0, error = ''
		WHERE id = $1`, id, lease.Seconds())
	if err != nil {
		return nil, err
	}
	imp, err := scanImport(tx.QueryRow(ctx, `SELECT `+importColumns+importFrom+` WHERE i.id = $1`, id))
	if err != nil {
		return nil, err
	}
	return imp, tx.Commit(ctx)
}

// runImport reads one feed into staging and records how it ended. Only a
// failure to reach the vendor's database is returned (the job tries the
// vendor again later); everything else ends the import as failed, with
// the reason for the vendor to read.
func (r *Runner) runImport(ctx context.Context, v *Vendor, imp *Import) error {
	log := v.Log.With("import", imp.ID)
	if imp.Attempts > maxImportAttempts {
		return endImport(ctx, v.Pool, imp.ID, imp.Attempts, StateFailed,
			fmt.Sprintf("The import was interrupted %d times and has been stopped. Start it again.", maxImportAttempts))
	}
	if imp.CancelRequested {
		return endImport(ctx, v.Pool, imp.ID, imp.Attempts, StateCancelled, "")
	}
	workCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := keepLease(workCtx, v.Pool, "imports", imp.ID, imp.Attempts, cancel)
	start := time.Now()
	err := r.load(workCtx, v, imp)
	stop()
	switch {
	case err == nil:
		log.Info("import finished", "took", time.Since(start).Round(time.Millisecond))
		return endImport(ctx, v.Pool, imp.ID, imp.Attempts, StateFinished, "")
	case errors.Is(err, errCancelled):
		return endImport(ctx, v.Pool, imp.ID, imp.Attempts, StateCancelled, "")
	case errors.Is(err, errLostLease):
		log.Warn("import taken over by another worker; this one stops")
		return nil
	case ctx.Err() != nil:
		return ctx.Err() // stopping: the lease runs out and the import starts again
	case workCtx.Err() != nil:
		return fmt.Errorf("import %d lost its lease: %w", imp.ID, err)
	}
	log.Warn("import failed", "err", err)
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.SQLState(), "08") {
		return err // the database connection: try again later
	}
	return endImport(ctx, v.Pool, imp.ID, imp.Attempts, StateFailed, failureMessage(err))
}

// failureMessage says why an import failed, for the vendor.
func failureMessage(err error) string {
	var st *HTTPStatusError
	switch {
	case errors.Is(err, feed.ErrNotAFeed):
		return "This file is not a product feed: " + strings.TrimPrefix(err.Error(), feed.ErrNotAFeed.Error()+": ") +
			". Nothing was imported. A feed is a tab- or comma-separated file whose first line names its columns (id, title, price, ...)."
	case errors.Is(err, errTooBig):
		return "The feed is too big: " + err.Error() + "."
	case errors.Is(err, ErrBadURL):
		return "The feed's link cannot be fetched: " + err.Error() + "."
	case errors.As(err, &st):
		return "The feed could not be downloaded: " + st.Error() + "."
	}
	return trim("The import stopped: "+err.Error(), 2000)
}

// endImport records how the attempt-th attempt of an import ended, unless
// the import is another worker's by now.
func endImport(ctx context.Context, pool *pgxpool.Pool, id int64, attempt int, state, msg string) error {
	_, err := pool.Exec(context.WithoutCancel(ctx), `UPDATE imports SET state = $2, error = $3, finished_at = now(), locked_until = NULL
		WHERE id = $1 AND attempts = $4 AND state = 'running'`, id, state, trim(msg, 2000), attempt)
	if err != nil {
		return fmt.Errorf("record the end of import %d: %w", id, err)
	}
	return nil
}

// load fetches the feed (for a URL import, into the bucket first) and
// reads it into staging in batches.
func (r *Runner) load(ctx context.Context, v *Vendor, imp *Import) error {
	if imp.ObjectKey == "" {
		if err := r.fetchFeed(ctx, v, imp); err != nil {
			return err
		}
	}
	obj, err := v.Objects.GetObject(ctx, v.Bucket, imp.ObjectKey, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("open the feed file: %w", err)
	}
	defer obj.Close()
	var shopLang, currency string
	if err := v.Pool.QueryRow(ctx, `SELECT language, currency FROM shop_profile`).Scan(&shopLang, &currency); err != nil {
		return fmt.Errorf("read the shop's language and currency: %w", err)
	}
	rd, err := feed.NewReader(obj, feed.Options{Language: imp.Language, DefaultCurrency: currency})
	if err != nil {
		var me minio.ErrorResponse
		if errors.As(err, &me) {
			return fmt.Errorf("read the feed file: %w", err)
		}
		return err
	}
	conn, err := v.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	translation := imp.Language != "" && imp.Language != shopLang
	l := &loader{conn: conn.Conn(), importID: imp.ID, attempt: imp.Attempts, translation: translation}
	if err := l.prepare(ctx); err != nil {
		return err
	}
	// The file is read and checked a batch ahead of the database, so
	// parsing and loading overlap; the hand-over is unbuffered, so no more
	// than two batches are in memory at once.
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan *batch)
	g.Go(func() error {
		defer close(batches)
		bt := &batcher{importID: imp.ID, translation: translation, lang: imp.Language, ids: map[string]bool{}}
		send := func() error {
			if b := bt.take(); b != nil {
				select {
				case batches <- b:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		}
		for {
			it, err := rd.Next()
			if err == io.EOF {
				return send()
			}
			if err != nil {
				return err
			}
			if bt.add(it) >= batchRows || bt.bytes >= batchBytes {
				if err := send(); err != nil {
					return err
				}
			}
		}
	})
	g.Go(func() error {
		for b := range batches {
			if err := l.flush(gctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// fetchFeed downloads a URL import's feed into the bucket, so that a
// restart reads the same file.
func (r *Runner) fetchFeed(ctx context.Context, v *Vendor, imp *Import) error {
	// A server that trickles the file must not hold a worker for hours.
	ctx, cancel := context.WithTimeout(ctx, feedDownloadTimeout)
	defer cancel()
	body, _, err := r.get(ctx, imp.SourceURL, r.cfg.MaxFeedBytes)
	if err != nil {
		return err
	}
	defer body.Close()
	key := newObjectKey(time.Now())
	// Of unknown size, the object is sent in parts of 16 MiB: the client
	// would otherwise buffer a part of half a gigabyte.
	info, err := v.Objects.PutObject(ctx, v.Bucket, key, body, -1, minio.PutObjectOptions{ContentType: "text/plain", PartSize: 16 << 20})
	if err != nil {
		_ = v.Objects.RemoveObject(context.WithoutCancel(ctx), v.Bucket, key, minio.RemoveObjectOptions{})
		if errors.Is(err, errTooBig) {
			return err
		}
		return fmt.Errorf("download the feed: %w", err)
	}
	if _, err := v.Pool.Exec(ctx, `UPDATE imports SET object_key = $2, size_bytes = $3 WHERE id = $1`, imp.ID, key, info.Size); err != nil {
		return err
	}
	imp.ObjectKey, imp.SizeBytes = key, info.Size
	return nil
}

// loader loads batches into staging through a temporary table on its
// own connection: COPY the batch in, then one upsert that leaves
// unchanged rows alone.
type loader struct {
	conn        *pgx.Conn
	importID    int64
	attempt     int  // the claim's attempt: a batch of an older one is not loaded
	translation bool // the feed is in another language than the shop's
}

// batch is the rows read since the last batch, ready to load.
type batch struct {
	rows     [][]any
	rejected [][]any
	read     int64 // rows of the file read so far
}

// batcher turns read items into batches: rows to stage and rows
// rejected with their reasons.
type batcher struct {
	importID    int64
	translation bool
	lang        string
	ids         map[string]bool // ids in the batch (the reader reports repeats across the file)
	read        int64
	cur         batch
	bytes       int // of the text in cur, roughly
}

// take hands over the batch so far, or nil if nothing was read since the
// last one.
func (bt *batcher) take() *batch {
	if len(bt.cur.rows)+len(bt.cur.rejected) == 0 {
		return nil
	}
	b := bt.cur
	b.read = bt.read
	bt.cur, bt.bytes = batch{}, 0
	clear(bt.ids)
	return &b
}

const stagingColumns = `external_id, title, description, link, image_link, additional_image_links, availability,
	price_minor, sale_price_minor, currency, brand, gtin, mpn, condition, google_product_category, product_type,
	item_group_id, color, size, attributes, translations`

// batchColumnNames are the columns of import_batch: the staging columns
// and the digest the loader computes.
var batchColumnNames = append(strings.Fields(strings.ReplaceAll(stagingColumns, ",", " ")), "content_hash")

func (l *loader) prepare(ctx context.Context) error {
	_, err := l.conn.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS import_batch (
			external_id text, title text, description text, link text, image_link text, additional_image_links text[],
			availability text, price_minor bigint, sale_price_minor bigint, currency text, brand text, gtin text, mpn text,
			condition text, google_product_category text, product_type text, item_group_id text, color text, size text,
			attributes jsonb, translations jsonb, content_hash bytea
		) ON COMMIT DELETE ROWS`)
	if err != nil {
		return fmt.Errorf("prepare the import: %w", err)
	}
	return nil
}

// add puts a read item in the batch, or among the rejected rows, and
// returns the batch's size.
func (l *batcher) add(it *feed.Item) int {
	defer func() { l.read++ }()
	var reasons []string
	for _, e := range it.Errors {
		reasons = append(reasons, e.Msg)
	}
	if it.ID != "" && len(it.ID) > maxStagedID {
		reasons = append(reasons, fmt.Sprintf("id is longer than %d characters (it becomes the product's SKU)", maxStagedID))
	}
	if len([]rune(it.Title)) > maxStagedTitle {
		reasons = append(reasons, fmt.Sprintf("title is longer than %d characters", maxStagedTitle))
	}
	if len(reasons) == 0 && l.ids[it.ID] {
		reasons = append(reasons, "id "+it.ID+" appears more than once in the file")
	}
	if len(reasons) > 0 {
		l.cur.rejected = append(l.cur.rejected, []any{l.importID, int64(max(it.Line, 1)), trim(it.ID, 200), trim(strings.Join(reasons, "; "), 2000)})
		return len(l.cur.rows) + len(l.cur.rejected)
	}
	l.ids[it.ID] = true
	var sale *int64
	if it.SalePrice != nil {
		sale = &it.SalePrice.Minor
	}
	var price *int64
	var currency *string
	if !it.Price.IsZero() {
		price, currency = &it.Price.Minor, &it.Price.Currency
	}
	var gtinCode *string
	if it.GTIN != "" {
		gtinCode = &it.GTIN
	}
	attrs := it.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	trans := map[string]feed.Translation{}
	if l.translation {
		trans[l.lang] = feed.Translation{Title: it.Title, Description: it.Description}
	}
	links := it.AdditionalImageLinks
	if links == nil {
		links = []string{}
	}
	hash := digest(it, links, attrs)
	l.bytes += len(it.Title) + len(it.Description) + len(it.Link) + len(it.ImageLink) + 64
	for _, v := range links {
		l.bytes += len(v)
	}
	for k, v := range attrs {
		l.bytes += len(k) + len(v) + 32
	}
	l.cur.rows = append(l.cur.rows, []any{it.ID, it.Title, it.Description, it.Link, it.ImageLink, links, string(it.Availability),
		price, sale, currency, it.Brand, gtinCode, it.MPN, string(it.Condition), it.GoogleProductCategory, it.ProductType,
		it.ItemGroupID, it.Color, it.Size, attrs, translationsJSON(trans), hash})
	return len(l.cur.rows) + len(l.cur.rejected)
}

// digest is the content digest of a staged item: every column staging
// keeps of it but the translations (which a publish does not carry), each
// written with its length so that no two items share an encoding.
func digest(it *feed.Item, links []string, attrs map[string]string) []byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	str := func(s string) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	num := func(set bool, v int64) {
		if !set {
			str("")
			return
		}
		str(strconv.FormatInt(v, 10))
	}
	for _, s := range []string{it.ID, it.Title, it.Description, it.Link, it.ImageLink, string(it.Availability), it.Brand,
		it.GTIN, it.MPN, string(it.Condition), it.GoogleProductCategory, it.ProductType, it.ItemGroupID, it.Color, it.Size,
		it.Price.Currency} {
		str(s)
	}
	num(!it.Price.IsZero(), it.Price.Minor)
	num(it.SalePrice != nil, func() int64 {
		if it.SalePrice == nil {
			return 0
		}
		return it.SalePrice.Minor
	}())
	num(true, int64(len(links)))
	for _, l := range links {
		str(l)
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	num(true, int64(len(keys)))
	for _, k := range keys {
		str(k)
		str(attrs[k])
	}
	return h.Sum(nil)
}

// translationsJSON is the translations column's shape.
func translationsJSON(t map[string]feed.Translation) map[string]map[string]string {
	out := make(map[string]map[string]string, len(t))
	for lang, tr := range t {
		out[lang] = map[string]string{"title": tr.Title, "description": tr.Description}
	}
	return out
}

// upsertSQL merges a batch of a feed in the shop's language into
// staging: every column but the translations is set, and rows whose
// digest (computed by the loader) did not change are not written at all.
const upsertSQL = `
INSERT INTO marketplace_products AS m (` + stagingColumns + `, content_hash, last_import_id)
SELECT ` + stagingColumns + `, content_hash, $1 FROM import_batch
ON CONFLICT (external_id) DO UPDATE SET
	title = EXCLUDED.title, description = EXCLUDED.description,
	link = EXCLUDED.link, image_link = EXCLUDED.image_link, additional_image_links = EXCLUDED.additional_image_links,
	availability = EXCLUDED.availability, price_minor = EXCLUDED.price_minor, sale_price_minor = EXCLUDED.sale_price_minor,
	currency = EXCLUDED.currency, brand = EXCLUDED.brand, gtin = EXCLUDED.gtin, mpn = EXCLUDED.mpn,
	condition = EXCLUDED.condition, google_product_category = EXCLUDED.google_product_category,
	product_type = EXCLUDED.product_type, item_group_id = EXCLUDED.item_group_id, color = EXCLUDED.color,
	size = EXCLUDED.size, attributes = EXCLUDED.attributes,
	content_hash = EXCLUDED.content_hash, last_import_id = $1, changed_at = now()
WHERE m.content_hash <> EXCLUDED.content_hash
RETURNING (xmax = 0)`

// upsertTranslationSQL merges a batch of a feed in another language: for
// items staged already it only adds the feed's title and description to
// their translations (the shop-language feed owns every other column);
// items it brings that are not staged yet are staged from it, its text
// standing in for the shop's language until a feed in that language comes.
const upsertTranslationSQL = `
INSERT INTO marketplace_products AS m (` + stagingColumns + `, content_hash, last_import_id)
SELECT ` + stagingColumns + `, content_hash, $1 FROM import_batch
ON CONFLICT (external_id) DO UPDATE SET
	translations = m.translations || EXCLUDED.translations, last_import_id = $1, changed_at = now()
WHERE m.translations IS DISTINCT FROM m.translations || EXCLUDED.translations
RETURNING (xmax = 0)`

// flush loads the batch and the rejected rows, and records the progress,
// in one transaction; it stops with errCancelled if a cancel was asked.
func (l *loader) flush(ctx context.Context, b *batch) error {
	tx, err := l.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	// A batch lost in a crash is loaded again when the import starts over
	// (the upsert is idempotent), so its commit need not wait for the disk.
	// The import's end is committed durably, and that flushes the log up to
	// it, every batch before included.
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return err
	}
	var created, changed int64
	if len(b.rows) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_batch"}, batchColumnNames, pgx.CopyFromRows(b.rows)); err != nil {
			return fmt.Errorf("load a batch: %w", err)
		}
		upsert := upsertSQL
		if l.translation {
			upsert = upsertTranslationSQL
		}
		rows, err := tx.Query(ctx, upsert, l.importID)
		if err != nil {
			return fmt.Errorf("merge a batch into staging: %w", err)
		}
		for rows.Next() {
			var inserted bool
			if err := rows.Scan(&inserted); err != nil {
				rows.Close()
				return err
			}
			if inserted {
				created++
			} else {
				changed++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("merge a batch into staging: %w", err)
		}
	}
	if len(b.rejected) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rejections"}, []string{"import_id", "line", "item_id", "reason"},
			pgx.CopyFromRows(b.rejected)); err != nil {
			return fmt.Errorf("record rejected rows: %w", err)
		}
	}
	var cancel bool
	err = tx.QueryRow(ctx, `UPDATE imports SET rows_read = $2, rows_imported = rows_imported + $3,
			rows_rejected = rows_rejected + $4, rows_new = rows_new + $5, rows_changed = rows_changed + $6
		WHERE id = $1 AND attempts = $7 AND state = 'running' RETURNING cancel_requested`,
		l.importID, b.read, len(b.rows), len(b.rejected), created, changed, l.attempt).Scan(&cancel)
	if errors.Is(err, pgx.ErrNoRows) {
		return errLostLease // rolled back: the worker that has the import now loads it
	}
	if err != nil {
		return fmt.Errorf("record progress: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if cancel {
		return errCancelled
	}
	return nil
}
