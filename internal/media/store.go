package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/database"
)

// newKey makes an object key: media/<yyyy>/<26 random characters>.<ext>.
// Keys never come from a file's name or a link, so nobody outside chooses
// where an object goes.
func newKey(now time.Time, ext string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("media/%04d/%s.%s", now.UTC().Year(),
		strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), ext)
}

// Original is an image to keep: a file that passed Check.
type Original struct {
	Checked   *Checked
	Data      []byte
	CreatedBy *int64 // the staff member who uploaded it; nil for the platform's own jobs
}

// Store keeps an image: the file goes into the bucket under a key the
// server makes, then its media row is written in a transaction that also
// runs record (if not nil) for what the caller keeps with the row (a
// thumbnails job and an audit entry; a product's link). All or nothing: if
// the transaction fails, the object is taken out again, so that no object
// is left without a row (a removal that fails as well is joined to the
// error). A failure to store the object is ErrUnavailable. The row's
// thumbnails are pending: the caller makes them (MakeThumbnails) or queues
// that.
func Store(ctx context.Context, db database.Beginner, b Bucket, o Original, record func(tx pgx.Tx, m *Media) error) (*Media, error) {
	c := o.Checked
	sum := sha256.Sum256(o.Data)
	key := newKey(time.Now(), c.Ext)
	_, err := b.Client.PutObject(ctx, b.Name, key, bytes.NewReader(o.Data), int64(len(o.Data)), minio.PutObjectOptions{
		ContentType: c.ContentType, SendContentMd5: false, DisableMultipart: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: store %s in bucket %s: %w", ErrUnavailable, key, b.Name, err)
	}
	var m *Media
	err = database.Transact(ctx, db, func(tx pgx.Tx) error {
		var err error
		m, err = ScanMedia(tx.QueryRow(ctx, `INSERT INTO media (object_key, original_name, content_type, size_bytes, width, height, sha256, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+Columns,
			key, c.Name, c.ContentType, len(o.Data), c.Width, c.Height, sum[:], o.CreatedBy))
		if err != nil {
			return fmt.Errorf("record media: %w", err)
		}
		if record == nil {
			return nil
		}
		return record(tx, m)
	})
	if err != nil {
		// Nothing recorded: take the object back out.
		if rerr := b.Client.RemoveObject(context.WithoutCancel(ctx), b.Name, key, minio.RemoveObjectOptions{}); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove %s from bucket %s again: %w", key, b.Name, rerr))
		}
		return nil, err
	}
	return m, nil
}
