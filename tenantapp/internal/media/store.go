package media

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	core "github.com/storefleet/storefleet/internal/media"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

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
	rows, err := db.Query(ctx, `SELECT `+core.Columns+` FROM media WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list media: %w", err)
	}
	defer rows.Close()
	var out []*Media
	for rows.Next() {
		m, err := core.ScanMedia(rows)
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

// Upload checks an uploaded file, stores it in the shop's bucket and
// records it with a thumbnails job and an audit entry, all or nothing: a
// file that fails a check leaves no row and no object. The worker is told.
func (s *Service) Upload(ctx context.Context, t *tenant.Tenant, name string, data []byte, audit staff.Entry) (*Media, error) {
	c, err := core.Check(name, data)
	if err != nil {
		return nil, err
	}
	b, err := s.bucket(t.Entry.Bucket)
	if err != nil {
		return nil, unavailable(err)
	}
	var createdBy *int64
	if audit.StaffID != 0 {
		createdBy = &audit.StaffID
	}
	m, err := core.Store(ctx, t.Pool, b, core.Original{Checked: c, Data: data, CreatedBy: createdBy}, func(tx pgx.Tx, m *Media) error {
		if _, err := tx.Exec(ctx, `INSERT INTO media_jobs (kind, media_id) VALUES ('thumbnails', $1)`, m.ID); err != nil {
			return fmt.Errorf("queue thumbnails: %w", err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "media.uploaded", "media", fmt.Sprint(m.ID)
		audit.After = map[string]any{"name": c.Name, "content_type": c.ContentType, "size": len(data),
			"width": c.Width, "height": c.Height, "object_key": m.ObjectKey}
		return staff.Audit(ctx, tx, audit)
	})
	if errors.Is(err, core.ErrUnavailable) {
		return nil, unavailable(err)
	}
	if err != nil {
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
	if n, err := core.CleanName(d.Name); err != nil || n != d.Name {
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
		m, err := core.ScanMedia(tx.QueryRow(ctx, `SELECT `+core.Columns+` FROM media WHERE id = $1 FOR UPDATE`, id))
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
		m, err := core.ScanMedia(tx.QueryRow(ctx, `SELECT `+core.Columns+` FROM media WHERE id = $1 FOR UPDATE`, id))
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
