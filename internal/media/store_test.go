package media_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/media"
	"github.com/storefleet/storefleet/internal/testenv"
)

func TestStoreAndThumbnails(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	v, pool := e.TenantDB(t)
	cl, err := e.Objects.VendorClient(v.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	b := media.Bucket{Client: cl, Name: v.Bucket}
	ctx := context.Background()
	exists := func(key string) bool {
		t.Helper()
		_, err := cl.StatObject(ctx, b.Name, key, minio.StatObjectOptions{})
		if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Fatal(err)
		}
		return err == nil
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1000, 500)))
	data := buf.Bytes()
	c, err := media.Check("wide.png", data)
	if err != nil {
		t.Fatal(err)
	}

	// Stored: the object under a key of the server's, the row, and what
	// the caller records in the same transaction.
	var recorded int64
	m, err := media.Store(ctx, pool, b, media.Original{Checked: c, Data: data}, func(tx pgx.Tx, m *media.Media) error {
		recorded = m.ID
		return nil
	})
	if err != nil || recorded != m.ID || m.Name != "wide.png" || m.ThumbsState != "pending" || m.Size != int64(len(data)) || len(m.SHA256) != 32 {
		t.Fatalf("stored %+v, %v (recorded %d)", m, err, recorded)
	}
	if !exists(m.ObjectKey) {
		t.Fatalf("%s is not in the bucket", m.ObjectKey)
	}
	if err := media.MakeThumbnails(ctx, pool, b, m.ID); err != nil {
		t.Fatal(err)
	}
	got, err := media.Get(ctx, pool, m.ID)
	if err != nil || got.ThumbsState != "ready" {
		t.Fatalf("after thumbnails: %+v %v", got, err)
	}
	rows, _ := pool.Query(ctx, `SELECT object_key, width FROM media_variants WHERE media_id = $1 ORDER BY size DESC`, m.ID)
	type size struct {
		Key   string
		Width int
	}
	sizes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[size])
	if err != nil || len(sizes) != len(media.Sizes) || sizes[0].Width != 800 || sizes[1].Width != 200 {
		t.Fatalf("sizes %+v %v", sizes, err)
	}
	for _, s := range sizes {
		if !exists(s.Key) {
			t.Errorf("%s is not in the bucket", s.Key)
		}
	}

	// A failure in the transaction leaves neither row nor object.
	boom := errors.New("boom")
	var key string
	_, err = media.Store(ctx, pool, b, media.Original{Checked: c, Data: data}, func(tx pgx.Tx, m *media.Media) error {
		key = m.ObjectKey
		return boom
	})
	if !errors.Is(err, boom) || key == "" || exists(key) {
		t.Errorf("a failed store: %v; object %s left: %v", err, key, key != "" && exists(key))
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM media`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d media rows after a failed store", n)
	}

	// An image whose header passes but whose pixels cannot be read fails
	// for good.
	var cut bytes.Buffer
	_ = png.Encode(&cut, image.NewGray(image.Rect(0, 0, 40, 40)))
	short := cut.Bytes()[:60]
	cs, err := media.Check("cut.png", short)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := media.Store(ctx, pool, b, media.Original{Checked: cs, Data: short}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := media.MakeThumbnails(ctx, pool, b, bad.ID); !errors.Is(err, media.ErrPermanent) {
		t.Errorf("thumbnails of a cut image: %v", err)
	}

	// Purge removes objects; ones already gone are fine.
	if err := media.Purge(ctx, b, []string{m.ObjectKey, sizes[0].Key, "media/2026/neverthereatall1.png"}); err != nil {
		t.Fatal(err)
	}
	if exists(m.ObjectKey) || exists(sizes[0].Key) || !exists(sizes[1].Key) {
		t.Error("purge removed the wrong objects")
	}
}
