package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"golang.org/x/image/draw"
)

// variant is one size made of an image.
type variant struct {
	size          int
	key, ctype    string
	width, height int
	data          []byte
}

// MakeThumbnails makes every size of an image and records them, and marks
// the image's thumbnails ready. Sizes are re-encoded from the decoded
// pixels, so they carry none of the original's metadata (camera,
// location). JPEG originals give JPEG sizes; the others PNG (keeping
// transparency; a GIF's first frame). Running it again replaces the sizes;
// an image deleted meanwhile is left alone. An image that cannot be
// decoded is ErrPermanent.
func MakeThumbnails(ctx context.Context, pool *pgxpool.Pool, b Bucket, id int64) error {
	m, err := Get(ctx, pool, id)
	if errors.Is(err, ErrNotFound) {
		return nil // deleted since: nothing to do
	}
	if err != nil {
		return err
	}
	obj, err := b.Client.GetObject(ctx, b.Name, m.ObjectKey, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("read %s: %w", m.ObjectKey, err)
	}
	data, err := io.ReadAll(io.LimitReader(obj, MaxBytes+1))
	obj.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", m.ObjectKey, err)
	}
	// The pixel limit again, before decoding: the object is what counts.
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: read the image header: %v", ErrPermanent, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return fmt.Errorf("%w: %d × %d pixels is over the limit", ErrPermanent, cfg.Width, cfg.Height)
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: decode the image: %v", ErrPermanent, err)
	}
	base := strings.TrimSuffix(m.ObjectKey, m.ObjectKey[strings.LastIndexByte(m.ObjectKey, '.'):])
	var made []variant
	orientation := 1
	if m.ContentType == "image/jpeg" {
		orientation = jpegOrientation(data)
	}
	from := src
	for i, size := range Sizes { // largest first: each smaller size is made from the one before
		img := fit(from, size)
		if i == 0 {
			img = orient(img, orientation) // fit's box is square: turning after scaling is the same
		}
		from = img
		v := variant{size: size, width: img.Bounds().Dx(), height: img.Bounds().Dy()}
		var buf bytes.Buffer
		if m.ContentType == "image/jpeg" {
			v.ctype, v.key = "image/jpeg", fmt.Sprintf("%s_%d.jpg", base, size)
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
		} else {
			v.ctype, v.key = "image/png", fmt.Sprintf("%s_%d.png", base, size)
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
		}
		if err != nil {
			return fmt.Errorf("encode size %d: %w", size, err)
		}
		v.data = buf.Bytes()
		made = append(made, v)
	}
	for _, v := range made {
		_, err := b.Client.PutObject(ctx, b.Name, v.key, bytes.NewReader(v.data), int64(len(v.data)),
			minio.PutObjectOptions{ContentType: v.ctype, DisableMultipart: true})
		if err != nil {
			return fmt.Errorf("store %s: %w", v.key, err)
		}
	}
	gone := false
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	// Locks the row against a deletion running at the same time: either
	// the deletion sees these sizes and purges them, or this sees the row
	// gone and removes them itself.
	if err := tx.QueryRow(ctx, `SELECT true FROM media WHERE id = $1 FOR UPDATE`, id).Scan(new(bool)); errors.Is(err, pgx.ErrNoRows) {
		gone = true
	} else if err != nil {
		return err
	}
	if !gone {
		for _, v := range made {
			_, err := tx.Exec(ctx, `INSERT INTO media_variants (media_id, size, object_key, content_type, width, height, size_bytes)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (media_id, size) DO UPDATE SET object_key = excluded.object_key, content_type = excluded.content_type,
					width = excluded.width, height = excluded.height, size_bytes = excluded.size_bytes`,
				id, v.size, v.key, v.ctype, v.width, v.height, len(v.data))
			if err != nil {
				return fmt.Errorf("record size %d: %w", v.size, err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE media SET thumbs_state = 'ready' WHERE id = $1`, id); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	if gone {
		keys := make([]string, len(made))
		for i, v := range made {
			keys[i] = v.key
		}
		return Purge(ctx, b, keys)
	}
	return nil
}

// fit scales img down so that its longest side is at most size pixels
// (never up), with a Catmull-Rom filter.
func fit(img image.Image, size int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= size && h <= size {
		// Still re-encoded (no metadata), at its own size.
		dst := image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
		return dst
	}
	nw, nh := size, size
	if w >= h {
		nh = max(1, int(int64(h)*int64(size)/int64(w)))
	} else {
		nw = max(1, int(int64(w)*int64(size)/int64(h)))
	}
	dst := image.NewNRGBA(image.Rect(0, 0, nw, nh))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// Purge removes objects from a bucket (a deleted image's original and
// sizes); objects already gone are fine.
func Purge(ctx context.Context, b Bucket, keys []string) error {
	for _, k := range keys {
		if err := b.Client.RemoveObject(ctx, b.Name, k, minio.RemoveObjectOptions{}); err != nil {
			var resp minio.ErrorResponse
			if errors.As(err, &resp) && resp.Code == "NoSuchKey" {
				continue
			}
			return fmt.Errorf("remove %s: %w", k, err)
		}
	}
	return nil
}

// MarkThumbsFailed records that an image's sizes cannot be made (the
// original is served in their place).
func MarkThumbsFailed(ctx context.Context, db Execer, id int64) error {
	if _, err := db.Exec(ctx, `UPDATE media SET thumbs_state = 'failed' WHERE id = $1`, id); err != nil {
		return fmt.Errorf("mark the sizes of media %d failed: %w", id, err)
	}
	return nil
}
