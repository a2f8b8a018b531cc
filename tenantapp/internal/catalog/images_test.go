package catalog_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
)

// media records n images without files and returns their ids.
func media(t *testing.T, db *pgxpool.Pool, n int) []int64 {
	t.Helper()
	var ids []int64
	err := db.QueryRow(context.Background(), `WITH m AS (
		INSERT INTO media (object_key, content_type, size_bytes, width, height, sha256)
		SELECT 'media/2026/img' || md5(random()::text) || '.png', 'image/png', 1, 1, 1, sha256(g::text::bytea)
		FROM generate_series(1, $1) g RETURNING id)
		SELECT array_agg(id ORDER BY id) FROM m`, n).Scan(&ids)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestImagesEditedAtOnceAreAllKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	p, err := catalog.Create(ctx, db, fields("IMG-1", 100), who)
	if err != nil {
		t.Fatal(err)
	}
	ids := media(t, db, 10)
	// Ten people each add an image at the same moment: every one is kept,
	// each once, in positions 0 to 9.
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = catalog.EditImages(ctx, db, p.ID, func(cur []int64) ([]int64, error) { return append(cur, id), nil }, who)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	images, err := catalog.Images(ctx, db, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for i, im := range images {
		if im.Position != i {
			t.Errorf("image %d at position %d", im.MediaID, im.Position)
		}
		got = append(got, im.MediaID)
	}
	slices.Sort(got)
	if !slices.Equal(got, ids) {
		t.Fatalf("images %v, want %v", got, ids)
	}
	if n := count(t, db, `SELECT count(DISTINCT position) FROM product_media WHERE product_id = $1`, p.ID); n != 10 {
		t.Fatalf("%d distinct positions", n)
	}
	if n := count(t, db, `SELECT count(*) FROM audit_log WHERE action = 'product.images_updated'`); n != 10 {
		t.Fatalf("%d audit entries", n)
	}
	// An unknown product is ErrNotFound; a refused list writes nothing.
	if _, err := catalog.SetImages(ctx, db, 999999, ids[:1], who); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("unknown product: %v", err)
	}
	if _, err := catalog.SetImages(ctx, db, p.ID, []int64{ids[0], 424242}, who); err == nil {
		t.Fatal("an unknown image was accepted")
	} else if fe, ok := catalog.AsFieldErrors(err); !ok || fe["media_ids"] == "" {
		t.Fatalf("unknown image: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM product_media WHERE product_id = $1`, p.ID); n != 10 {
		t.Fatalf("a refused list changed the images: %d", n)
	}
}
