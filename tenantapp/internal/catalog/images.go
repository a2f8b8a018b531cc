package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/media"
	"github.com/storefleet/storefleet/internal/staff"
)

// MaxImages is the most images a product can have (the control plane's
// marketplace image fetches keep to it too).
const MaxImages = media.MaxPerProduct

// Image is one of a product's images from the media library, in the
// order the shop shows them (the first is the one on product cards).
type Image struct {
	MediaID     int64
	Position    int // 0 for the first
	Name        string
	AltText     string
	Width       int
	Height      int
	ThumbsState string // pending, ready, failed
}

// Images returns a product's images in order.
func Images(ctx context.Context, db Querier, productID int64) ([]Image, error) {
	rows, err := db.Query(ctx, `SELECT pm.media_id, m.original_name, m.alt_text, m.width, m.height, m.thumbs_state
		FROM product_media pm JOIN media m ON m.id = pm.media_id
		WHERE pm.product_id = $1 ORDER BY pm.position, pm.media_id`, productID)
	if err != nil {
		return nil, fmt.Errorf("images of product %d: %w", productID, err)
	}
	images, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Image, error) {
		var im Image
		return im, r.Scan(&im.MediaID, &im.Name, &im.AltText, &im.Width, &im.Height, &im.ThumbsState)
	})
	if err != nil {
		return nil, fmt.Errorf("images of product %d: %w", productID, err)
	}
	for i := range images {
		images[i].Position = i
	}
	return images, nil
}

func imageIDs(images []Image) []int64 {
	ids := make([]int64, len(images))
	for i, im := range images {
		ids[i] = im.MediaID
	}
	return ids
}

// SetImages replaces a product's images with the media ids, in that
// order (none removes them all). See EditImages for the checks.
func SetImages(ctx context.Context, db *pgxpool.Pool, productID int64, ids []int64, audit staff.Entry) ([]Image, error) {
	return EditImages(ctx, db, productID, func([]int64) ([]int64, error) { return ids, nil }, audit)
}

// EditImages changes a product's list of images: edit gets the media ids
// it has now, in order, and returns the new list (or an error, which is
// returned as is). The new list must have at most MaxImages ids, no id
// twice, and only ids of images in this shop's media library; otherwise
// the error is FieldErrors{"media_ids": ...} and nothing is written. The
// product is locked while its list is read and written, so edits made at
// the same moment apply one after the other, and the images are kept
// from deletion until the change is committed. A change is recorded in
// the audit log as product.images_updated; an unchanged list writes
// nothing. It returns the product's images afterwards.
func EditImages(ctx context.Context, db *pgxpool.Pool, productID int64, edit func(ids []int64) ([]int64, error), audit staff.Entry) ([]Image, error) {
	var after []Image
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT true FROM products WHERE id = $1 FOR UPDATE`, productID).Scan(new(bool))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("lock product %d: %w", productID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("lock product %d: %w", productID, err)
		}
		before, err := Images(ctx, tx, productID)
		if err != nil {
			return err
		}
		old := imageIDs(before)
		ids, err := edit(slices.Clone(old))
		if err != nil {
			return err
		}
		if errs := checkImageIDs(ids); len(errs) > 0 {
			return errs
		}
		if slices.Equal(ids, old) {
			after = before
			return nil
		}
		if err := lockMedia(ctx, tx, ids); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM product_media WHERE product_id = $1`, productID); err != nil {
			return fmt.Errorf("clear images of product %d: %w", productID, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO product_media (product_id, media_id, position)
			SELECT $1, u.id, u.n - 1 FROM unnest($2::bigint[]) WITH ORDINALITY AS u(id, n)`, productID, ids)
		if err != nil {
			return fmt.Errorf("set images of product %d: %w", productID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET updated_at = now(), updated_by = $2 WHERE id = $1`, productID, staffID(audit)); err != nil {
			return fmt.Errorf("touch product %d: %w", productID, err)
		}
		if after, err = Images(ctx, tx, productID); err != nil {
			return err
		}
		audit.Action, audit.TargetType, audit.TargetID = "product.images_updated", "product", fmt.Sprint(productID)
		audit.Before, audit.After = map[string][]int64{"media_ids": old}, map[string][]int64{"media_ids": imageIDs(after)}
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

// checkImageIDs checks the shape of a list of images.
func checkImageIDs(ids []int64) FieldErrors {
	if len(ids) > MaxImages {
		return FieldErrors{"media_ids": fmt.Sprintf("A product can have at most %d images; this would make %d. Remove some first.", MaxImages, len(ids))}
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		switch {
		case id <= 0:
			return FieldErrors{"media_ids": fmt.Sprintf("%d is not an image id. Choose images from the media library.", id)}
		case seen[id]:
			return FieldErrors{"media_ids": fmt.Sprintf("Image %d is in the list twice; a product shows each image once.", id)}
		}
		seen[id] = true
	}
	return nil
}

// lockMedia checks that every id is an image of the shop's library and
// keeps those images from being deleted until the transaction ends (a
// deletion waits, then finds them in use).
func lockMedia(ctx context.Context, tx pgx.Tx, ids []int64) error {
	rows, err := tx.Query(ctx, `SELECT id FROM media WHERE id = ANY($1) FOR KEY SHARE`, ids)
	if err != nil {
		return fmt.Errorf("look up images: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("look up images: %w", err)
	}
	var missing []string
	for _, id := range ids {
		if !slices.Contains(found, id) {
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return FieldErrors{"media_ids": fmt.Sprintf("There is no image %s in this shop's media library (it may have been deleted). Nothing was changed.", missing[0])}
	}
	return FieldErrors{"media_ids": fmt.Sprintf("There are no images %s in this shop's media library (they may have been deleted). Nothing was changed.", strings.Join(missing, ", "))}
}
