package notify

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is a pool or a transaction of the vendor's database.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ErrUnknownKind means a kind of e-mail that does not exist.
var ErrUnknownKind = errors.New("no such kind of e-mail")

// Templates returns the template of every kind: the shop's own version
// where it has one, the default otherwise; in the order of Kinds.
func Templates(ctx context.Context, db DB) ([]Template, error) {
	custom, err := customTemplates(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]Template, 0, len(Kinds))
	for _, k := range Kinds {
		if t, ok := custom[k.Name]; ok {
			out = append(out, t)
			continue
		}
		d, _ := Default(k.Name)
		out = append(out, d)
	}
	return out, nil
}

// customTemplates returns the shop's own templates by kind.
func customTemplates(ctx context.Context, db DB) (map[string]Template, error) {
	rows, err := db.Query(ctx, `SELECT kind, subject, body, updated_at FROM notification_templates`)
	if err != nil {
		return nil, fmt.Errorf("read e-mail templates: %w", err)
	}
	defer rows.Close()
	out := map[string]Template{}
	for rows.Next() {
		t := Template{Custom: true}
		if err := rows.Scan(&t.Kind, &t.Subject, &t.Body, &t.UpdatedAt); err != nil {
			return nil, fmt.Errorf("read e-mail templates: %w", err)
		}
		out[t.Kind] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read e-mail templates: %w", err)
	}
	return out, nil
}

// TemplateFor returns the template the shop sends for kind: its own
// version, or the default.
func TemplateFor(ctx context.Context, db DB, kind string) (Template, error) {
	d, ok := Default(kind)
	if !ok {
		return Template{}, ErrUnknownKind
	}
	t := Template{Kind: kind, Custom: true}
	err := db.QueryRow(ctx, `SELECT subject, body, updated_at FROM notification_templates WHERE kind = $1`, kind).
		Scan(&t.Subject, &t.Body, &t.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, nil
	}
	if err != nil {
		return Template{}, fmt.Errorf("read the %s template: %w", kind, err)
	}
	return t, nil
}

// SaveTemplate checks a template (Check) and stores it as the shop's own
// version of kind. It returns what is wrong by field, and stores nothing,
// if the template is refused. staffID (0: none) is recorded as the
// author.
func SaveTemplate(ctx context.Context, db DB, kind, subject, body string, staffID int64) (map[string]string, error) {
	if _, ok := KindByName(kind); !ok {
		return nil, ErrUnknownKind
	}
	if errs := Check(kind, subject, body); errs != nil {
		return errs, nil
	}
	_, err := db.Exec(ctx, `INSERT INTO notification_templates (kind, subject, body, updated_by) VALUES ($1, $2, $3, nullif($4, 0))
		ON CONFLICT (kind) DO UPDATE SET subject = EXCLUDED.subject, body = EXCLUDED.body, updated_at = now(), updated_by = EXCLUDED.updated_by`,
		kind, subject, body, staffID)
	if err != nil {
		return nil, fmt.Errorf("save the %s template: %w", kind, err)
	}
	return nil, nil
}

// ResetTemplate drops the shop's own version of kind, so that the default
// is sent again; it reports whether there was one.
func ResetTemplate(ctx context.Context, db DB, kind string) (bool, error) {
	if _, ok := KindByName(kind); !ok {
		return false, ErrUnknownKind
	}
	tag, err := db.Exec(ctx, `DELETE FROM notification_templates WHERE kind = $1`, kind)
	if err != nil {
		return false, fmt.Errorf("reset the %s template: %w", kind, err)
	}
	return tag.RowsAffected() > 0, nil
}

// Shop is what e-mails take from the shop's settings (shop_profile).
type Shop struct {
	DisplayName  string
	Accent       string
	AccentInk    string
	ContactEmail string
}

// LoadShop reads the shop's settings that e-mails use.
func LoadShop(ctx context.Context, db DB) (Shop, error) {
	var s Shop
	err := db.QueryRow(ctx, `SELECT display_name, accent_color, accent_ink_color, contact_email FROM shop_profile`).
		Scan(&s.DisplayName, &s.Accent, &s.AccentInk, &s.ContactEmail)
	if errors.Is(err, pgx.ErrNoRows) {
		return Shop{}, nil
	}
	if err != nil {
		return Shop{}, fmt.Errorf("read the shop's settings for e-mail: %w", err)
	}
	return s, nil
}

// Theme is the shop's look for e-mails; platformName is the shop's name
// as the control plane knows it, shown when no display name is set.
func (s Shop) Theme(platformName string) Theme {
	name := s.DisplayName
	if name == "" {
		name = platformName
	}
	return Theme{ShopName: name, Accent: s.Accent, AccentInk: s.AccentInk}
}
