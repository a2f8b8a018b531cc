package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Sealer seals and opens secret values under the platform's master key;
// *secretbox.Box is one, and so is *provision.Provisioner.
type Sealer interface {
	Seal(plaintext []byte, context string) []byte
	Open(sealed []byte, context string) ([]byte, error)
}

// SecretContext is what a secret setting is sealed for, so a sealed value
// copied to another key does not open there.
func SecretContext(key string) string { return "setting:" + key }

// sealedValue is how a secret setting is stored in platform_settings.
type sealedValue struct {
	Sealed []byte `json:"sealed"`
}

// WithSettings returns a Store over the same database that knows defs
// instead of the Settings list (for tests and tools).
func (s *Store) WithSettings(defs []Setting) *Store {
	return &Store{pool: s.pool, settings: defs}
}

// SettingDefs lists the settings this Store knows, in the list's order.
func (s *Store) SettingDefs() []Setting {
	if s.settings != nil {
		return s.settings
	}
	return Settings
}

// SettingDef returns the definition of one of this Store's settings.
func (s *Store) SettingDef(key string) (Setting, error) {
	return findSetting(s.SettingDefs(), key)
}

// SettingState is a setting as the settings page and the API show it.
type SettingState struct {
	Setting
	// Value is the value in force (the default if none is saved); always
	// "" for a secret.
	Value string
	// Stored says a value is saved; for a secret, that it is set.
	Stored    bool
	UpdatedAt *time.Time
	UpdatedBy string
}

type storedSetting struct {
	raw       []byte
	updatedAt time.Time
	updatedBy string
}

func (s *Store) storedSettings(ctx context.Context) (map[string]storedSetting, error) {
	rows, err := s.pool.Query(ctx, `SELECT key, value, updated_at, updated_by FROM platform_settings`)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	out := map[string]storedSetting{}
	var k string
	var st storedSetting
	if _, err := pgx.ForEachRow(rows, []any{&k, &st.raw, &st.updatedAt, &st.updatedBy}, func() error {
		out[k] = storedSetting{raw: append([]byte(nil), st.raw...), updatedAt: st.updatedAt, updatedBy: st.updatedBy}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	return out, nil
}

// plainValue decodes a stored non-secret value; ok is false if it is not
// a valid value for def (then the default is in force).
func plainValue(def Setting, raw []byte) (string, bool) {
	var v string
	if err := json.Unmarshal(raw, &v); err != nil || def.Validate(v) != nil {
		return "", false
	}
	return v, true
}

func isSealed(raw []byte) bool {
	var sv sealedValue
	return json.Unmarshal(raw, &sv) == nil && len(sv.Sealed) > 0
}

// SettingValues returns every non-secret setting's current value, with
// defaults filled in. Secrets are left out: read them with SecretSetting.
func (s *Store) SettingValues(ctx context.Context) (map[string]string, error) {
	stored, err := s.storedSettings(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, def := range s.SettingDefs() {
		if def.Secret() {
			continue
		}
		out[def.Key] = def.Default
		if st, ok := stored[def.Key]; ok {
			if v, ok := plainValue(def, st.raw); ok {
				out[def.Key] = v
			}
		}
	}
	return out, nil
}

// SettingStates returns every setting with its value (never a secret's)
// and who changed it last, in the list's order.
func (s *Store) SettingStates(ctx context.Context) ([]SettingState, error) {
	stored, err := s.storedSettings(ctx)
	if err != nil {
		return nil, err
	}
	defs := s.SettingDefs()
	out := make([]SettingState, 0, len(defs))
	for _, def := range defs {
		st := SettingState{Setting: def}
		if !def.Secret() {
			st.Value = def.Default
		}
		if row, ok := stored[def.Key]; ok {
			if def.Secret() {
				st.Stored = isSealed(row.raw)
			} else if v, ok := plainValue(def, row.raw); ok {
				st.Value, st.Stored = v, true
			}
			if st.Stored {
				at := row.updatedAt
				st.UpdatedAt, st.UpdatedBy = &at, row.updatedBy
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// SetSetting validates and saves a setting that is not a secret, with an
// audit row. Secrets need the master key: use SaveSetting.
func (s *Store) SetSetting(ctx context.Context, actor Actor, key, value string) error {
	return s.SaveSetting(ctx, nil, actor, key, value)
}

// SaveSetting validates and saves a setting, with an audit row that holds
// the value before and after, or for a secret only that it was set. A
// secret is sealed with box before it is stored; box may be nil for other
// kinds.
func (s *Store) SaveSetting(ctx context.Context, box Sealer, actor Actor, key, value string) error {
	def, err := s.SettingDef(key)
	if err != nil {
		return err
	}
	v, err := def.Check(value)
	if err != nil {
		return err
	}
	var stored []byte
	switch {
	case def.Secret() && box == nil:
		return fmt.Errorf("save setting %s: a secret needs the master key to be sealed", key)
	case def.Secret():
		stored, err = json.Marshal(sealedValue{Sealed: box.Seal([]byte(v), SecretContext(key))})
	default:
		stored, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("save setting %s: %w", key, err)
	}
	return s.Transact(ctx, func(tx pgx.Tx) error {
		before, err := lockSetting(ctx, tx, key)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO platform_settings (key, value, updated_by) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by`,
			key, stored, actor.String()); err != nil {
			return fmt.Errorf("save setting %s: %w", key, err)
		}
		e := AuditEntry{Action: "setting.set", TargetType: "setting", TargetID: key}
		if def.Secret() {
			e.Before, e.After = secretAudit(before), secretAudit(stored)
		} else {
			e.Before, e.After = plainAudit(def, before), v
		}
		return Audit(ctx, tx, actor, e)
	})
}

// ClearSetting removes a setting's saved value: the default is in force
// again, and a secret is no longer set. The audit row records the value
// removed (for a secret, that one was set).
func (s *Store) ClearSetting(ctx context.Context, actor Actor, key string) error {
	def, err := s.SettingDef(key)
	if err != nil {
		return err
	}
	return s.Transact(ctx, func(tx pgx.Tx) error {
		before, err := lockSetting(ctx, tx, key)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM platform_settings WHERE key = $1`, key); err != nil {
			return fmt.Errorf("clear setting %s: %w", key, err)
		}
		e := AuditEntry{Action: "setting.clear", TargetType: "setting", TargetID: key}
		if def.Secret() {
			e.Before, e.After = secretAudit(before), secretAudit(nil)
		} else {
			e.Before, e.After = plainAudit(def, before), def.Default
		}
		return Audit(ctx, tx, actor, e)
	})
}

// lockSetting reads a setting's stored value (nil if none) and locks its
// row, so that concurrent changes are audited in order.
func lockSetting(ctx context.Context, tx pgx.Tx, key string) ([]byte, error) {
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT value FROM platform_settings WHERE key = $1 FOR UPDATE`, key).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", key, err)
	}
	return raw, nil
}

// secretAudit is what the audit log holds of a secret: whether it is set.
func secretAudit(raw []byte) map[string]bool {
	return map[string]bool{"set": raw != nil && isSealed(raw)}
}

// plainAudit is a stored non-secret value for the audit log (nil: none).
func plainAudit(def Setting, raw []byte) any {
	if raw == nil {
		return nil
	}
	var v string
	if json.Unmarshal(raw, &v) == nil {
		return v
	}
	return json.RawMessage(raw) // stored by an older release; kept as it was
}

// SecretSetting opens a secret setting with box, for the code that uses
// it. ok is false when it is not set.
func (s *Store) SecretSetting(ctx context.Context, box Sealer, key string) (value string, ok bool, err error) {
	def, err := s.SettingDef(key)
	if err != nil {
		return "", false, err
	}
	if !def.Secret() {
		return "", false, fmt.Errorf("setting %s is not a secret", key)
	}
	var raw []byte
	err = s.pool.QueryRow(ctx, `SELECT value FROM platform_settings WHERE key = $1`, key).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", key, err)
	}
	var sv sealedValue
	if err := json.Unmarshal(raw, &sv); err != nil || len(sv.Sealed) == 0 {
		return "", false, nil
	}
	plain, err := box.Open(sv.Sealed, SecretContext(key))
	if err != nil {
		return "", false, fmt.Errorf("open secret setting %s: %w", key, err)
	}
	return string(plain), true, nil
}
