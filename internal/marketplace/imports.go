package marketplace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
)

// Import states.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateFinished  = "finished"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Import is one import job.
type Import struct {
	ID              int64      `json:"id"`
	Source          string     `json:"source"` // "upload" or "url"
	FileName        string     `json:"file_name,omitempty"`
	SourceURL       string     `json:"source_url,omitempty"`
	ObjectKey       string     `json:"-"`
	SizeBytes       int64      `json:"size_bytes"`
	Language        string     `json:"language,omitempty"`
	State           string     `json:"state"`
	CancelRequested bool       `json:"cancel_requested"`
	RowsRead        int64      `json:"rows_read"`
	RowsImported    int64      `json:"rows_imported"`
	RowsRejected    int64      `json:"rows_rejected"`
	RowsNew         int64      `json:"rows_new"`
	RowsChanged     int64      `json:"rows_changed"`
	Error           string     `json:"error,omitempty"`
	Attempts        int        `json:"attempts"`
	CreatedBy       *int64     `json:"created_by,omitempty"`
	CreatedByEmail  string     `json:"created_by_email,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
	LockedUntil     *time.Time `json:"-"`
}

// Open reports whether the import has not ended.
func (i *Import) Open() bool { return i.State == StateQueued || i.State == StateRunning }

// Stalled reports whether an open import has no live worker: queued for a
// while, or running under a lease that ran out. The back office asks the
// job system again for such imports.
func (i *Import) Stalled(now time.Time) bool {
	switch i.State {
	case StateQueued:
		return now.Sub(i.CreatedAt) > time.Minute
	case StateRunning:
		return i.LockedUntil == nil || now.After(*i.LockedUntil)
	}
	return false
}

const importColumns = `i.id, i.source, i.file_name, i.source_url, i.object_key, i.size_bytes, i.language, i.state,
	i.cancel_requested, i.rows_read, i.rows_imported, i.rows_rejected, i.rows_new, i.rows_changed, i.error, i.attempts,
	i.created_by, COALESCE(s.email, ''), i.created_at, i.started_at, i.finished_at, i.locked_until`

const importFrom = ` FROM imports i LEFT JOIN staff s ON s.id = i.created_by`

func scanImport(row pgx.Row) (*Import, error) {
	var i Import
	err := row.Scan(&i.ID, &i.Source, &i.FileName, &i.SourceURL, &i.ObjectKey, &i.SizeBytes, &i.Language, &i.State,
		&i.CancelRequested, &i.RowsRead, &i.RowsImported, &i.RowsRejected, &i.RowsNew, &i.RowsChanged, &i.Error, &i.Attempts,
		&i.CreatedBy, &i.CreatedByEmail, &i.CreatedAt, &i.StartedAt, &i.FinishedAt, &i.LockedUntil)
	return &i, err
}

// ErrNotFound means there is no such import (or publish) in this shop.
var ErrNotFound = errors.New("not found")

// GetImport returns one import.
func GetImport(ctx context.Context, db *pgxpool.Pool, id int64) (*Import, error) {
	i, err := scanImport(db.QueryRow(ctx, `SELECT `+importColumns+importFrom+` WHERE i.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("import %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read import %d: %w", id, err)
	}
	return i, nil
}

// ListImports returns the newest imports, at most limit, before the id
// before (0: from the newest).
func ListImports(ctx context.Context, db *pgxpool.Pool, before int64, limit int) ([]*Import, error) {
	rows, err := db.Query(ctx, `SELECT `+importColumns+importFrom+`
		WHERE $1 = 0 OR i.id < $1 ORDER BY i.id DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	defer rows.Close()
	var out []*Import
	for rows.Next() {
		i, err := scanImport(rows)
		if err != nil {
			return nil, fmt.Errorf("list imports: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// NewImport is what an import is made from: an uploaded file (Body) or a
// URL that the job fetches.
type NewImport struct {
	FileName  string
	Body      io.Reader // the upload; nil for a URL import
	Size      int64     // the upload's size, -1 if unknown
	SourceURL string
	Language  string // "" for the shop's own language, else a two-letter code
}

// FieldError is a problem with one field of a request.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// MaxUploadBytes bounds a feed uploaded through the back office or the
// API (a bigger feed is given as a URL).
const MaxUploadBytes = 512 << 20

// CreateImport stores an uploaded feed in the vendor's bucket (under a
// key the server makes) and queues its import; or queues the import of a
// feed URL. The caller then asks the job system to run it.
func CreateImport(ctx context.Context, db *pgxpool.Pool, objects *minio.Client, bucket string, req NewImport, audit staff.Entry) (*Import, error) {
	req.Language = strings.ToLower(strings.TrimSpace(req.Language))
	if req.Language != "" && !validLanguage(req.Language) {
		return nil, &FieldError{"language", "Choose a language from the list, or none for the shop's own."}
	}
	source, key, name := "upload", "", cleanName(req.FileName)
	var size int64
	switch {
	case req.Body != nil:
		if objects == nil {
			return nil, errors.New("store the feed: the shop has no file storage")
		}
		key = newObjectKey(time.Now())
		lr := &limitedBody{r: io.NopCloser(req.Body), left: MaxUploadBytes}
		info, err := objects.PutObject(ctx, bucket, key, lr, req.Size, minio.PutObjectOptions{ContentType: "text/plain"})
		if errors.Is(err, errTooBig) || lr.left <= 0 && req.Size > MaxUploadBytes {
			_ = objects.RemoveObject(context.WithoutCancel(ctx), bucket, key, minio.RemoveObjectOptions{})
			return nil, &FieldError{"file", fmt.Sprintf("The file is bigger than %d MB. Give a link to it instead.", MaxUploadBytes>>20)}
		}
		if err != nil {
			return nil, fmt.Errorf("store the feed: %w", err)
		}
		if info.Size == 0 {
			_ = objects.RemoveObject(context.WithoutCancel(ctx), bucket, key, minio.RemoveObjectOptions{})
			return nil, &FieldError{"file", "The file is empty."}
		}
		size = info.Size
	case strings.TrimSpace(req.SourceURL) != "":
		u, err := CheckURL(req.SourceURL)
		if err != nil {
			return nil, &FieldError{"url", strings.TrimPrefix(err.Error(), ErrBadURL.Error()+": ")}
		}
		source, req.SourceURL = "url", u.String()
		if name == "" {
			name = cleanName(path.Base(u.Path))
		}
	default:
		return nil, &FieldError{"file", "Choose a feed file to upload, or give a link to one."}
	}
	var imp *Import
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO imports (source, file_name, source_url, object_key, size_bytes, language, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, 0)) RETURNING id`,
			source, name, req.SourceURL, key, size, req.Language, audit.StaffID).Scan(&id)
		if err != nil {
			return fmt.Errorf("record the import: %w", err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "import.create", "import", fmt.Sprint(id)
		audit.After = map[string]any{"source": source, "file_name": name, "url": req.SourceURL, "size": size, "language": req.Language}
		if err := staff.Audit(ctx, tx, audit); err != nil {
			return err
		}
		imp, err = scanImport(tx.QueryRow(ctx, `SELECT `+importColumns+importFrom+` WHERE i.id = $1`, id))
		return err
	})
	if err != nil {
		if key != "" {
			_ = objects.RemoveObject(context.WithoutCancel(ctx), bucket, key, minio.RemoveObjectOptions{})
		}
		return nil, err
	}
	return imp, nil
}

// ErrNotCancellable means the import has ended already.
var ErrNotCancellable = errors.New("the import has ended already")

// CancelImport asks a queued or running import to stop. A queued one is
// cancelled at once; a running one stops after the batch it is loading
// (rows loaded before stay in staging).
func CancelImport(ctx context.Context, db *pgxpool.Pool, id int64, audit staff.Entry) (*Import, error) {
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		var state string
		err := tx.QueryRow(ctx, `SELECT state FROM imports WHERE id = $1 FOR UPDATE`, id).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("import %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("cancel import %d: %w", id, err)
		}
		switch state {
		case StateQueued:
			_, err = tx.Exec(ctx, `UPDATE imports SET state = 'cancelled', cancel_requested = true, finished_at = now() WHERE id = $1`, id)
		case StateRunning:
			_, err = tx.Exec(ctx, `UPDATE imports SET cancel_requested = true WHERE id = $1`, id)
		default:
			return ErrNotCancellable
		}
		if err != nil {
			return fmt.Errorf("cancel import %d: %w", id, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "import.cancel", "import", fmt.Sprint(id)
		audit.Before = map[string]any{"state": state}
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return GetImport(ctx, db, id)
}

// Rejection is one row of a feed that was not imported.
type Rejection struct {
	Line   int64  `json:"line"`
	ItemID string `json:"item_id,omitempty"`
	Reason string `json:"reason"`
}

// Rejections returns an import's rejected rows from line after, at most
// limit of them.
func Rejections(ctx context.Context, db *pgxpool.Pool, importID, after int64, limit int) ([]Rejection, error) {
	rows, err := db.Query(ctx, `SELECT line, item_id, reason FROM import_rejections
		WHERE import_id = $1 AND line > $2 ORDER BY line LIMIT $3`, importID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list rejected rows: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Rejection])
	if err != nil {
		return nil, fmt.Errorf("list rejected rows: %w", err)
	}
	return out, nil
}

// EachRejection calls fn for every rejected row of an import, in line
// order, reading them a page at a time (for the CSV download).
func EachRejection(ctx context.Context, db *pgxpool.Pool, importID int64, fn func(Rejection) error) error {
	var after int64
	for {
		page, err := Rejections(ctx, db, importID, after, 5000)
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < 5000 {
			return nil
		}
		after = page[len(page)-1].Line
	}
}

// Languages a feed can be in (two-letter codes), with their names.
var Languages = []struct{ Code, Name string }{
	{"en", "English"}, {"fr", "French"}, {"de", "German"}, {"lb", "Luxembourgish"},
	{"nl", "Dutch"}, {"it", "Italian"}, {"es", "Spanish"}, {"pt", "Portuguese"},
}

func validLanguage(code string) bool {
	for _, l := range Languages {
		if l.Code == code {
			return true
		}
	}
	return false
}

// newObjectKey makes the bucket key of an uploaded feed: never from the
// file's name.
func newObjectKey(now time.Time) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic("marketplace: no randomness: " + err.Error())
	}
	return fmt.Sprintf("imports/%04d/%s.feed", now.UTC().Year(), hex.EncodeToString(b))
}

// cleanName keeps a file name for people: its last path element, printable
// characters only, at most 200 bytes.
func cleanName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base("/" + name)
	if name == "/" || name == "." || name == ".." {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	return trim(strings.TrimSpace(name), 200)
}
