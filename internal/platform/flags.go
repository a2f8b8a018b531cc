package platform

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Flag is a feature flag: its global value and the vendors that override
// it. The tenant app reads a vendor's effective value (its override, else
// the global value; a flag that does not exist is off) through the router
// role's vendor_feature_flags function.
type Flag struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Enabled     bool           `json:"enabled"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	UpdatedBy   string         `json:"updated_by"`
	Overrides   []FlagOverride `json:"overrides"`
}

// FlagOverride is one vendor's own value of a flag.
type FlagOverride struct {
	VendorID  int64     `json:"vendor_id"`
	Vendor    string    `json:"vendor"` // the vendor's slug
	State     State     `json:"vendor_state"`
	Enabled   bool      `json:"enabled"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// EnabledFor is the flag's value for a vendor.
func (f *Flag) EnabledFor(vendorID int64) bool {
	for _, o := range f.Overrides {
		if o.VendorID == vendorID {
			return o.Enabled
		}
	}
	return f.Enabled
}

var flagName = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// CheckFlag validates a flag's name and description (errors are
// *SettingError naming the field).
func CheckFlag(name, description string) error {
	switch {
	case name == "":
		return &SettingError{Key: "name", Message: "is required, e.g. storefront.search_suggestions"}
	case len(name) > 100:
		return &SettingError{Key: "name", Message: "is longer than 100 characters"}
	case !flagName.MatchString(name):
		return &SettingError{Key: "name", Message: fmt.Sprintf("%q must be lower-case words of letters, digits and _ joined by dots, e.g. storefront.search_suggestions", name)}
	case utf8.RuneCountInString(description) > 500:
		return &SettingError{Key: "description", Message: "is longer than 500 characters"}
	case hasControl(description):
		return &SettingError{Key: "description", Message: "must be a single line of text"}
	}
	return nil
}

const flagOverridesSQL = `SELECT o.flag, o.vendor_id, v.slug, v.state, o.enabled, o.updated_at, o.updated_by
	FROM feature_flag_overrides o JOIN vendors v ON v.id = o.vendor_id`

// Flags lists every flag with its overrides, by name.
func (s *Store) Flags(ctx context.Context) ([]*Flag, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, description, enabled, created_at, updated_at, updated_by
		FROM feature_flags ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list flags: %w", err)
	}
	flags, err := pgx.CollectRows(rows, scanFlag)
	if err != nil {
		return nil, fmt.Errorf("list flags: %w", err)
	}
	byName := map[string]*Flag{}
	for _, f := range flags {
		byName[f.Name] = f
	}
	rows, err = s.pool.Query(ctx, flagOverridesSQL+` ORDER BY v.slug`)
	if err != nil {
		return nil, fmt.Errorf("list flag overrides: %w", err)
	}
	var name string
	var o FlagOverride
	if _, err := pgx.ForEachRow(rows, []any{&name, &o.VendorID, &o.Vendor, &o.State, &o.Enabled, &o.UpdatedAt, &o.UpdatedBy}, func() error {
		if f := byName[name]; f != nil {
			f.Overrides = append(f.Overrides, o)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list flag overrides: %w", err)
	}
	return flags, nil
}

func scanFlag(row pgx.CollectableRow) (*Flag, error) {
	f := &Flag{Overrides: []FlagOverride{}}
	err := row.Scan(&f.Name, &f.Description, &f.Enabled, &f.CreatedAt, &f.UpdatedAt, &f.UpdatedBy)
	return f, err
}

// Flag returns one flag with its overrides, or ErrNotFound.
func (s *Store) Flag(ctx context.Context, name string) (*Flag, error) {
	return flagTx(ctx, s.pool, name, false)
}

func flagTx(ctx context.Context, q Querier, name string, lock bool) (*Flag, error) {
	sql := `SELECT name, description, enabled, created_at, updated_at, updated_by FROM feature_flags WHERE name = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	rows, err := q.Query(ctx, sql, name)
	if err != nil {
		return nil, fmt.Errorf("read flag %s: %w", name, err)
	}
	f, err := pgx.CollectExactlyOneRow(rows, scanFlag)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("flag %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read flag %s: %w", name, err)
	}
	rows, err = q.Query(ctx, flagOverridesSQL+` WHERE o.flag = $1 ORDER BY v.slug`, name)
	if err != nil {
		return nil, fmt.Errorf("read overrides of flag %s: %w", name, err)
	}
	f.Overrides, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (FlagOverride, error) {
		var o FlagOverride
		var flag string
		err := row.Scan(&flag, &o.VendorID, &o.Vendor, &o.State, &o.Enabled, &o.UpdatedAt, &o.UpdatedBy)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("read overrides of flag %s: %w", name, err)
	}
	return f, nil
}

// flagAudit is a flag's global part as the audit log records it.
type flagAudit struct {
	Enabled     bool   `json:"enabled"`
	Description string `json:"description"`
}

// SetFlag sets a flag's global value, creating the flag if it does not
// exist; description, if not nil, replaces its description. It returns
// the flag and whether it was created. Audited as flag.create or flag.set.
func (s *Store) SetFlag(ctx context.Context, actor Actor, name string, enabled bool, description *string) (*Flag, bool, error) {
	desc := ""
	if description != nil {
		desc = strings.TrimSpace(*description)
		description = &desc
	}
	if err := CheckFlag(name, desc); err != nil {
		return nil, false, err
	}
	var out *Flag
	created := false
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		before, err := flagTx(ctx, tx, name, true)
		switch {
		case errors.Is(err, ErrNotFound):
			created = true
			if _, err := tx.Exec(ctx, `INSERT INTO feature_flags (name, description, enabled, updated_by) VALUES ($1, $2, $3, $4)`,
				name, desc, enabled, actor.String()); err != nil {
				return fmt.Errorf("create flag %s: %w", name, err)
			}
		case err != nil:
			return err
		default:
			if _, err := tx.Exec(ctx, `UPDATE feature_flags SET enabled = $2, description = COALESCE($3, description),
				updated_at = now(), updated_by = $4 WHERE name = $1`, name, enabled, description, actor.String()); err != nil {
				return fmt.Errorf("set flag %s: %w", name, err)
			}
		}
		if out, err = flagTx(ctx, tx, name, false); err != nil {
			return err
		}
		e := AuditEntry{Action: "flag.set", TargetType: "flag", TargetID: name,
			After: flagAudit{Enabled: out.Enabled, Description: out.Description}}
		if created {
			e.Action = "flag.create"
		} else {
			e.Before = flagAudit{Enabled: before.Enabled, Description: before.Description}
		}
		return Audit(ctx, tx, actor, e)
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// DeleteFlag deletes a flag and its overrides (the tenant app then treats
// it as off). Audited as flag.delete with what was deleted.
func (s *Store) DeleteFlag(ctx context.Context, actor Actor, name string) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		before, err := flagTx(ctx, tx, name, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM feature_flags WHERE name = $1`, name); err != nil {
			return fmt.Errorf("delete flag %s: %w", name, err)
		}
		return Audit(ctx, tx, actor, AuditEntry{Action: "flag.delete", TargetType: "flag", TargetID: name, Before: before})
	})
}

// overrideAudit is a vendor's override as the audit log records it.
type overrideAudit struct {
	Flag    string `json:"flag"`
	Enabled *bool  `json:"enabled"` // nil: no override, the global value applies
}

// SetFlagOverride gives a live vendor its own value of a flag. Audited as
// flag.override on the vendor.
func (s *Store) SetFlagOverride(ctx context.Context, actor Actor, name, slug string, enabled bool) (*Flag, error) {
	return s.changeOverride(ctx, actor, name, slug, &enabled)
}

// DeleteFlagOverride removes a vendor's own value of a flag: the global
// value applies to it again. Audited as flag.override on the vendor.
func (s *Store) DeleteFlagOverride(ctx context.Context, actor Actor, name, slug string) (*Flag, error) {
	return s.changeOverride(ctx, actor, name, slug, nil)
}

func (s *Store) changeOverride(ctx context.Context, actor Actor, name, slug string, enabled *bool) (*Flag, error) {
	var out *Flag
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		f, err := flagTx(ctx, tx, name, true)
		if err != nil {
			return err
		}
		var v *Vendor
		if enabled == nil { // a deleted vendor's override may still be removed
			for _, o := range f.Overrides {
				if o.Vendor == slug {
					v = &Vendor{ID: o.VendorID, Slug: o.Vendor}
				}
			}
		}
		if v == nil {
			if v, err = VendorBySlug(ctx, tx, slug); err != nil {
				return err
			}
		}
		before := overrideAudit{Flag: name}
		for _, o := range f.Overrides {
			if o.VendorID == v.ID {
				was := o.Enabled
				before.Enabled = &was
			}
		}
		if enabled == nil {
			_, err = tx.Exec(ctx, `DELETE FROM feature_flag_overrides WHERE flag = $1 AND vendor_id = $2`, name, v.ID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO feature_flag_overrides (flag, vendor_id, enabled, updated_by) VALUES ($1, $2, $3, $4)
				ON CONFLICT (flag, vendor_id) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now(), updated_by = EXCLUDED.updated_by`,
				name, v.ID, *enabled, actor.String())
		}
		if err != nil {
			return fmt.Errorf("change flag %s for vendor %s: %w", name, slug, err)
		}
		if err := Audit(ctx, tx, actor, AuditEntry{Action: "flag.override", TargetType: "vendor", TargetID: fmt.Sprint(v.ID),
			Before: before, After: overrideAudit{Flag: name, Enabled: enabled}}); err != nil {
			return err
		}
		out, err = flagTx(ctx, tx, name, false)
		return err
	})
	return out, err
}
