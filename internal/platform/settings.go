package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/robfig/cron/v3"
)

// Setting is a typed platform setting with its default.
type Setting struct {
	Key     string `json:"key"`
	Kind    string `json:"kind"` // "cron" or "int"
	Default string `json:"default"`
	Help    string `json:"help"`
	Min     int    `json:"min,omitempty"`
	Max     int    `json:"max,omitempty"`
}

// Settings lists the settings the platform knows.
var Settings = []Setting{
	{Key: "backup.schedule", Kind: "cron", Default: "0 2 * * *", Help: "when every vendor is backed up (cron, UTC)"},
	{Key: "backup.parallel", Kind: "int", Default: "2", Min: 1, Max: 16, Help: "vendors backed up at once by the schedule"},
	{Key: "backup.verify_schedule", Kind: "cron", Default: "30 4 * * *", Help: "when a random sample of backups is verified (cron, UTC)"},
	{Key: "backup.verify_sample", Kind: "int", Default: "3", Min: 0, Max: 1000, Help: "how many vendors' newest backups each verification run checks"},
	{Key: "backup.retention_daily", Kind: "int", Default: "7", Min: 1, Max: 365, Help: "keep the newest backup of each of this many days"},
	{Key: "backup.retention_weekly", Kind: "int", Default: "4", Min: 0, Max: 520, Help: "and of each of this many weeks"},
	{Key: "payments.commission_bp", Kind: "int", Default: "500", Min: 0, Max: 5000, Help: "the platform's commission on every order, in basis points of its total (500 = 5 %), taken as the Stripe application fee"},
	{Key: "reconcile.schedule", Kind: "cron", Default: "*/15 * * * *", Help: "when reconcile finishes stuck vendors and drops expired copies (cron, UTC)"},
}

// ErrUnknownSetting means there is no setting with that key.
var ErrUnknownSetting = errors.New("no such setting")

// SettingDef returns a setting's definition.
func SettingDef(key string) (Setting, error) {
	for _, s := range Settings {
		if s.Key == key {
			return s, nil
		}
	}
	return Setting{}, fmt.Errorf("%q: %w (see `provisioner settings list`)", key, ErrUnknownSetting)
}

// Validate checks a value for the setting.
func (s Setting) Validate(value string) error {
	switch s.Kind {
	case "cron":
		if _, err := cron.ParseStandard(value); err != nil {
			return fmt.Errorf("%s: %q is not a cron expression like \"0 2 * * *\": %v", s.Key, value, err)
		}
	case "int":
		n, err := strconv.Atoi(value)
		if err != nil || n < s.Min || (s.Max > 0 && n > s.Max) {
			return fmt.Errorf("%s: %q must be a whole number from %d to %d", s.Key, value, s.Min, s.Max)
		}
	}
	return nil
}

// SettingValues returns every setting's current value (defaults filled in).
func (s *Store) SettingValues(ctx context.Context) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT key, value #>> '{}' FROM platform_settings`)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	stored := map[string]string{}
	var k, v string
	if _, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error { stored[k] = v; return nil }); err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	out := map[string]string{}
	for _, def := range Settings {
		out[def.Key] = def.Default
		if v, ok := stored[def.Key]; ok && def.Validate(v) == nil {
			out[def.Key] = v
		}
	}
	return out, nil
}

// SettingInt returns an int setting from values.
func SettingInt(values map[string]string, key string) int {
	n, _ := strconv.Atoi(values[key])
	return n
}

// SetSetting validates and saves a setting, with an audit row.
func (s *Store) SetSetting(ctx context.Context, actor Actor, key, value string) error {
	def, err := SettingDef(key)
	if err != nil {
		return err
	}
	if err := def.Validate(value); err != nil {
		return err
	}
	return s.Transact(ctx, func(tx pgx.Tx) error {
		var before *string
		_ = tx.QueryRow(ctx, `SELECT value #>> '{}' FROM platform_settings WHERE key = $1`, key).Scan(&before)
		v, _ := json.Marshal(value)
		if _, err := tx.Exec(ctx, `INSERT INTO platform_settings (key, value, updated_by) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by`,
			key, v, actor.String()); err != nil {
			return fmt.Errorf("save setting %s: %w", key, err)
		}
		return Audit(ctx, tx, actor, AuditEntry{Action: "setting.set", TargetType: "setting", TargetID: key,
			Before: before, After: value})
	})
}

// SortedSettingKeys lists setting keys in order.
func SortedSettingKeys() []string {
	keys := make([]string, len(Settings))
	for i, s := range Settings {
		keys[i] = s.Key
	}
	sort.Strings(keys)
	return keys
}
