// Package media is the core of a vendor's media library, shared by the
// programs that put images into it: the tenant app (staff uploads) and the
// control plane (images of marketplace items, fetched from their links).
// It checks an image from its content (Check), keeps it in the vendor's
// bucket under a key the server makes with its media row (Store), and makes
// its smaller sizes (MakeThumbnails), so that an image is held to the same
// rules whichever way it came in.
//
// Everything takes the vendor's pool (its own role) and a Bucket whose
// client reaches that vendor's bucket only. Serving images, the tenant
// app's durable media_jobs worker and the back office's wiring stay in the
// tenant app (tenantapp/internal/media).
package media

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/minio/minio-go/v7"
)

// Sizes are the thumbnail sizes made of every image: the longest side is
// at most this many pixels.
var Sizes = []int{800, 200}

// MaxPerProduct is the most images a product can have (product_media).
const MaxPerProduct = 20

// Bucket is a vendor's bucket with a client whose credentials reach that
// bucket only (storage.Admin.VendorClient).
type Bucket struct {
	Client *minio.Client
	Name   string
}

// Errors.
var (
	// ErrNotFound means no such media in this shop.
	ErrNotFound = errors.New("media: not found")
	// ErrUnavailable means the object store cannot be used.
	ErrUnavailable = errors.New("media: object store unavailable")
	// ErrPermanent marks failures that retrying cannot fix (an image that
	// cannot be decoded).
	ErrPermanent = errors.New("permanent")
)

// Querier runs queries: a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Execer runs statements: a pool or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
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

// Columns are the columns ScanMedia reads, for queries that return whole
// media rows.
const Columns = `id, object_key, original_name, alt_text, content_type, size_bytes, width, height, sha256,
	thumbs_state, created_by, created_at`

// ScanMedia reads a row of Columns; no row is ErrNotFound.
func ScanMedia(row pgx.Row) (*Media, error) {
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
	m, err := ScanMedia(db.QueryRow(ctx, `SELECT `+Columns+` FROM media WHERE id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get media %d: %w", id, err)
	}
	return m, err
}
