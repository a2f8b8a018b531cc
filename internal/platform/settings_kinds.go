package platform

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/robfig/cron/v3"
)

// The kinds of setting. A value is always stored and handed around as a
// string; Check turns what a person typed into that string.
const (
	// KindText is a line of text (surrounding spaces dropped), at most
	// MaxLen characters (default 500), without control characters.
	KindText = "text"
	// KindInt is a whole number from Min to Max.
	KindInt = "int"
	// KindBool is yes or no, stored as "true" or "false" (yes/no, on/off,
	// true/false and 1/0 are understood).
	KindBool = "bool"
	// KindDuration is a Go duration ("90s", "15m", "2h30m") from
	// MinDuration to MaxDuration.
	KindDuration = "duration"
	// KindCron is a cron expression in the standard five fields (robfig/cron,
	// UTC), or a descriptor such as "@daily".
	KindCron = "cron"
	// KindSecret is a password, token or key: sealed with the master key
	// before it is stored, and never shown again (pages and the API say
	// only whether it is set). Read it with Store.SecretSetting.
	KindSecret = "secret"
)

// SettingGroups titles the groups of settings on the settings page; a
// group is the part of a key before its first dot. A group without a title
// here is shown under its name, capitalised.
var SettingGroups = map[string]string{
	"backup":    "Backups",
	"payments":  "Payments",
	"reconcile": "Reconcile",
	"audit":     "Audit log",
	"cleanup":   "Clean-ups",
	"alerts":    "Alerts",
}

// Group is the setting's group: its key up to the first dot.
func (s Setting) Group() string {
	g, _, _ := strings.Cut(s.Key, ".")
	return g
}

// GroupTitle is the group's title for people.
func GroupTitle(group string) string {
	if t, ok := SettingGroups[group]; ok {
		return t
	}
	if group == "" {
		return "Other"
	}
	r, n := utf8.DecodeRuneInString(group)
	return string(unicode.ToUpper(r)) + group[n:]
}

// Secret reports whether the setting's value is a secret.
func (s Setting) Secret() bool { return s.Kind == KindSecret }

// ErrUnknownSetting means there is no setting with that key.
var ErrUnknownSetting = errors.New("no such setting")

// SettingError says why a value does not suit a setting. Its message
// never contains a secret's value.
type SettingError struct {
	Key     string
	Message string
}

func (e *SettingError) Error() string { return e.Key + ": " + e.Message }

// SettingDef returns a setting's definition from the Settings list.
func SettingDef(key string) (Setting, error) {
	return findSetting(Settings, key)
}

func findSetting(defs []Setting, key string) (Setting, error) {
	for _, s := range defs {
		if s.Key == key {
			return s, nil
		}
	}
	return Setting{}, fmt.Errorf("%q: %w (see `provisioner settings`)", key, ErrUnknownSetting)
}

// Validate checks a value for the setting.
func (s Setting) Validate(value string) error {
	_, err := s.Check(value)
	return err
}

// Check validates a value for the setting and returns it as it is stored
// (spaces around it dropped, yes/no as true/false). Errors are
// *SettingError.
func (s Setting) Check(value string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", &SettingError{Key: s.Key, Message: fmt.Sprintf(format, args...)}
	}
	v := strings.TrimSpace(value)
	if !utf8.ValidString(v) {
		return bad("is not valid UTF-8 text")
	}
	switch s.Kind {
	case KindText:
		if n, max := utf8.RuneCountInString(v), orDefault(s.MaxLen, 500); n > max {
			return bad("is %d characters long; at most %d are allowed", n, max)
		}
		if hasControl(v) {
			return bad("contains control characters (line breaks, tabs, ...); use a single line of text")
		}
	case KindInt:
		n, err := strconv.Atoi(v)
		switch {
		case err != nil && s.Max > 0:
			return bad("%q is not a whole number; use one from %d to %d", v, s.Min, s.Max)
		case err != nil:
			return bad("%q is not a whole number; use one of at least %d", v, s.Min)
		case n < s.Min || (s.Max > 0 && n > s.Max):
			if s.Max > 0 {
				return bad("must be a whole number from %d to %d, not %d", s.Min, s.Max, n)
			}
			return bad("must be a whole number of at least %d, not %d", s.Min, n)
		}
		v = strconv.Itoa(n)
	case KindBool:
		switch strings.ToLower(v) {
		case "yes", "true", "on", "1":
			v = "true"
		case "no", "false", "off", "0":
			v = "false"
		default:
			return bad("%q is neither yes nor no", v)
		}
	case KindDuration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return bad("%q is not a duration like \"90s\", \"15m\" or \"2h30m\" (units: ms, s, m, h)", v)
		}
		if d < s.MinDuration || (s.MaxDuration > 0 && d > s.MaxDuration) {
			if s.MaxDuration > 0 {
				return bad("must be from %s to %s, not %s", ShortDuration(s.MinDuration), ShortDuration(s.MaxDuration), ShortDuration(d))
			}
			return bad("must be at least %s, not %s", ShortDuration(s.MinDuration), ShortDuration(d))
		}
	case KindCron:
		if _, err := cron.ParseStandard(v); err != nil || v == "" {
			return bad("%q is not a cron expression like \"0 2 * * *\" (minute hour day-of-month month day-of-week, UTC)", v)
		}
	case KindSecret:
		// Never quote the value: this message may reach a page or a log.
		if v == "" {
			return bad("is empty; to remove the secret, clear it instead")
		}
		if n, max := utf8.RuneCountInString(v), orDefault(s.MaxLen, 4096); n > max {
			return bad("is %d characters long; at most %d are allowed", n, max)
		}
		if hasControl(v) {
			return bad("contains control characters (line breaks, tabs, ...); paste the secret on one line")
		}
	default:
		return bad("has an unknown kind %q", s.Kind)
	}
	return v, nil
}

func orDefault(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// ShortDuration writes a duration as people write it: "2h", "1h30m",
// "90s", "250ms".
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// SettingInt returns an int setting from values.
func SettingInt(values map[string]string, key string) int {
	n, _ := strconv.Atoi(values[key])
	return n
}

// SettingBool returns a yes/no setting from values.
func SettingBool(values map[string]string, key string) bool {
	b, _ := strconv.ParseBool(values[key])
	return b
}

// SettingDuration returns a duration setting from values.
func SettingDuration(values map[string]string, key string) time.Duration {
	d, _ := time.ParseDuration(values[key])
	return d
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
