package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// ErrNotFound means no such media in this shop.
var ErrNotFound = errors.New("media: not found")

// Querier runs queries: a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Media is one image of the library.
type Media struct {
	ID          int64
	ObjectKey   string
	Name        string // display name, from the uploaded file's name
	AltText     string
	ContentType string
	Size        int64
	Width       int
	Height      int
	SHA256      []byte
	ThumbsState string // pending, ready, failed
	CreatedBy   *int64
	CreatedAt   time.Time
}

// Megapixels is the image's size for people.
func (m *Media) Megapixels() string {
	return fmt.Sprintf("%.1f MP", float64(m.Width)*float64(m.Height)/1e6)
}

// SizeText is the file size for people.
func (m *Media) SizeText() string { return HumanBytes(m.Size) }

// Label is the image's type for people ("JPEG").
func (m *Media) Label() string {
	for _, f := range formats {
		if f.contentType == m.ContentType {
			return f.label
		}
	}
	return m.ContentType
}

const mediaColumns = `id, object_key, original_name, alt_text, content_type, size_bytes, width, height, sha256,
	thumbs_state, created_by, created_at`

func scanMedia(row pgx.Row) (*Media, error) {
	var m Media
	err := row.Scan(&m.ID, &m.ObjectKey, &m.Name, &m.AltText, &m.ContentType, &m.Size, &m.Width, &m.Height, &m.SHA256,
		&m.ThumbsState, &m.CreatedBy, &m.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &m, err
}

// Get returns one image.
func Get(ctx context.Context, db Querier, id int64) (*Media, error) {
	m, err := scanMedia(db.QueryRow(ctx, `SELECT `+mediaColumns+` FROM media WHERE id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get media %d: %w", id, err)
	}
	return m, err
}

// ListOptions filter and page a list of media.
type ListOptions struct {
	Query  string // part of the name or alt text
	Before int64  // only ids below this (the next page); 0 for the first
	Limit  int    // default 48
}

// List returns media newest first, and the Before of the next page (0 if
// this is the last).
func List(ctx context.Context, db Querier, o ListOptions) ([]*Media, int64, error) {
	if o.Limit <= 0 || o.Limit > 500 {
		o.Limit = 48
	}
	where, args := []string{"true"}, []any{}
	if q := strings.TrimSpace(o.Query); q != "" {
		args = append(args, "%"+likeEscape(q)+"%")
		where = append(where, fmt.Sprintf("(original_name ILIKE $%d OR alt_text ILIKE $%[1]d)", len(args)))
	}
	if o.Before > 0 {
		args = append(args, o.Before)
		where = append(where, fmt.Sprintf("id < $%d", len(args)))
	}
	args = append(args, o.Limit+1)
	rows, err := db.Query(ctx, `SELECT `+mediaColumns+` FROM media WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list media: %w", err)
	}
	defer rows.Close()
	var out []*Media
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list media: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list media: %w", err)
	}
	var next int64
	if len(out) > o.Limit {
		out = out[:o.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Use is one place where an image is used.
type Use struct {
	Kind  string // "product" or "logo"
	ID    int64  // the product's id
	Label string // for people: the product's title and SKU, or "Shop logo"
}

// Usage lists where an image is used: products (product_media) and the
// shop's logo.
func Usage(ctx context.Context, db Querier, id int64) ([]Use, error) {
	rows, err := db.Query(ctx, `
		SELECT 'product', p.id, p.title || ' (SKU ' || p.sku || ')' FROM product_media pm JOIN products p ON p.id = pm.product_id
		WHERE pm.media_id = $1
		UNION ALL
		SELECT 'logo', 0, 'Shop logo (Settings)' FROM shop_profile WHERE logo_media_id = $1
		ORDER BY 1 DESC, 2`, id)
	if err != nil {
		return nil, fmt.Errorf("usage of media %d: %w", id, err)
	}
	uses, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Use, error) {
		var u Use
		return u, r.Scan(&u.Kind, &u.ID, &u.Label)
	})
	if err != nil {
		return nil, fmt.Errorf("usage of media %d: %w", id, err)
	}
	return uses, nil
}

// InUseError means an image cannot be deleted because it is used.
type InUseError struct{ Uses []Use }

func (e *InUseError) Error() string {
	labels := make([]string, len(e.Uses))
	for i, u := range e.Uses {
		labels[i] = u.Label
	}
	return "this image is still used by: " + strings.Join(labels, "; ")
}

// newKey makes an object key: media/<yyyy>/<26 random characters>.<ext>.
func newKey(now time.Time, ext string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("media/%04d/%s.%s", now.UTC().Year(),
		strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), ext)
}

// Upload checks an uploaded file, stores it in the shop's bucket and
// records it with a thumbnails job and an audit entry, all or nothing: a
// file that fails a check leaves no row and no object. The worker is told.
func (s *Service) Upload(ctx context.Context, t *tenant.Tenant, name string, data []byte, audit staff.Entry) (*Media, error) {
	c, err := Check(name, data)
	if err != nil {
		return nil, err
	}
	cl, err := s.objects.client(t.Entry.Bucket)
	if err != nil {
		return nil, unavailable(err)
	}
	sum := sha256.Sum256(data)
	key := newKey(time.Now(), c.Ext)
	_, err = cl.PutObject(ctx, t.Entry.Bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType: c.ContentType, SendContentMd5: false, DisableMultipart: true,
	})
	if err != nil {
		return nil, unavailable(fmt.Errorf("store %s in bucket %s: %w", key, t.Entry.Bucket, err))
	}
	var m *Media
	err = database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		var createdBy *int64
		if audit.StaffID != 0 {
			createdBy = &audit.StaffID
		}
		var err error
		m, err = scanMedia(tx.QueryRow(ctx, `INSERT INTO media (object_key, original_name, content_type, size_bytes, width, height, sha256, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+mediaColumns,
			key, c.Name, c.ContentType, len(data), c.Width, c.Height, sum[:], createdBy))
		if err != nil {
			return fmt.Errorf("record media: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO media_jobs (kind, media_id) VALUES ('thumbnails', $1)`, m.ID); err != nil {
			return fmt.Errorf("queue thumbnails: %w", err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "media.uploaded", "media", fmt.Sprint(m.ID)
		audit.After = map[string]any{"name": c.Name, "content_type": c.ContentType, "size": len(data),
			"width": c.Width, "height": c.Height, "object_key": key}
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		// Nothing recorded: take the object back out.
		if rerr := cl.RemoveObject(context.WithoutCancel(ctx), t.Entry.Bucket, key, minio.RemoveObjectOptions{}); rerr != nil {
			s.log.Warn("media: remove the object of a failed upload", "bucket", t.Entry.Bucket, "key", key, "err", rerr)
		}
		return nil, err
	}
	s.Worker.Enqueue(t)
	return m, nil
}

// unavailable turns an object store failure into a 503 for people.
func unavailable(err error) error {
	return &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 10,
		Message: "The shop's file storage cannot be reached right now; nothing was saved. Please try again in a moment.", Err: err}
}

// Details are what staff may change about an image.
type Details struct {
	Name    string
	AltText string
}

// Validate returns what is wrong with each field.
func (d *Details) Validate() map[string]string {
	errs := map[string]string{}
	d.Name = strings.TrimSpace(d.Name)
	d.AltText = strings.TrimSpace(d.AltText)
	if n, err := CleanName(d.Name); err != nil || n != d.Name {
		errs["name"] = "Use a plain name: no slashes, no control characters, at most 200 characters."
	}
	if d.Name == "" {
		errs["name"] = "Give the image a name."
	}
	if utf8.RuneCountInString(d.AltText) > 500 {
		errs["alt_text"] = "Use at most 500 characters."
	}
	return errs
}

// UpdateDetails changes an image's name and alternative text.
func UpdateDetails(ctx context.Context, db database.Beginner, id int64, d Details, audit staff.Entry) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		m, err := scanMedia(tx.QueryRow(ctx, `SELECT `+mediaColumns+` FROM media WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if m.Name == d.Name && m.AltText == d.AltText {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE media SET original_name = $2, alt_text = $3 WHERE id = $1`, id, d.Name, d.AltText); err != nil {
			return fmt.Errorf("update media %d: %w", id, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "media.updated", "media", fmt.Sprint(id)
		audit.Before = map[string]string{"name": m.Name, "alt_text": m.AltText}
		audit.After = map[string]string{"name": d.Name, "alt_text": d.AltText}
		return staff.Audit(ctx, tx, audit)
	})
}

// Delete removes an image unless something uses it (then *InUseError
// lists what). The row goes at once; its objects (the original and its
// sizes) are removed by the worker through a durable purge job.
func (s *Service) Delete(ctx context.Context, t *tenant.Tenant, id int64, audit staff.Entry) error {
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		m, err := scanMedia(tx.QueryRow(ctx, `SELECT `+mediaColumns+` FROM media WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		uses, err := Usage(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(uses) > 0 {
			return &InUseError{Uses: uses}
		}
		var keys []string
		rows, err := tx.Query(ctx, `SELECT object_key FROM media_variants WHERE media_id = $1 ORDER BY size`, id)
		if err != nil {
			return fmt.Errorf("sizes of media %d: %w", id, err)
		}
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("sizes of media %d: %w", id, err)
		}
		keys = append([]string{m.ObjectKey}, keys...)
		if _, err := tx.Exec(ctx, `DELETE FROM media WHERE id = $1`, id); err != nil {
			if database.Code(err) == "23503" { // used since the check
				return &InUseError{Uses: []Use{{Kind: "product", Label: "a product that was just linked to it"}}}
			}
			return fmt.Errorf("delete media %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO media_jobs (kind, object_keys) VALUES ('purge', $1)`, keys); err != nil {
			return fmt.Errorf("queue removal of media %d: %w", id, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "media.deleted", "media", fmt.Sprint(id)
		audit.Before = map[string]any{"name": m.Name, "content_type": m.ContentType, "size": m.Size, "object_key": m.ObjectKey}
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		return err
	}
	s.Worker.Enqueue(t)
	return nil
}
