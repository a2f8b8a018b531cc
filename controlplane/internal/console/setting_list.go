package console

import (
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/internal/platform"
)

// settingRow is one setting on the settings page.
type settingRow struct {
	platform.SettingState
	// Input is what the form shows: the value in force, or what was typed
	// when it was refused. Always empty for a secret.
	Input string
	// Error says why a value was refused.
	Error string
	// Bounds describes the allowed values ("from 1 to 16").
	Bounds string
}

// settingGroup is a titled card of settings.
type settingGroup struct {
	Key, Title string
	Settings   []settingRow
}

// GET /admin/settings
func (h *Handler) settingList(w http.ResponseWriter, r *http.Request) error {
	return h.renderSettings(w, r, http.StatusOK, nil)
}

// renderSettings shows every setting, grouped in the list's order; failed,
// if set, is a refused change to show next to its field.
func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, status int, failed *settingRow) error {
	states, err := h.store.SettingStates(r.Context())
	if err != nil {
		return err
	}
	var groups []*settingGroup
	byKey := map[string]*settingGroup{}
	for _, st := range states {
		row := settingRow{SettingState: st, Input: st.Value, Bounds: settingBounds(st.Setting)}
		if failed != nil && failed.Key == st.Key {
			row.Error = failed.Error
			if !st.Secret() {
				row.Input = failed.Input
			}
		}
		g := byKey[st.Group()]
		if g == nil {
			g = &settingGroup{Key: st.Group(), Title: platform.GroupTitle(st.Group())}
			byKey[g.Key] = g
			groups = append(groups, g)
		}
		g.Settings = append(g.Settings, row)
	}
	return h.render(w, r, status, "setting_list", map[string]any{"Title": "Settings", "Nav": "settings", "Groups": groups})
}

// settingBounds says which values a setting takes, for its hint.
func settingBounds(s platform.Setting) string {
	switch s.Kind {
	case platform.KindInt:
		if s.Max > 0 {
			return fmt.Sprintf("a whole number from %d to %d", s.Min, s.Max)
		}
		return fmt.Sprintf("a whole number of at least %d", s.Min)
	case platform.KindDuration:
		switch {
		case s.MaxDuration > 0:
			return fmt.Sprintf("a duration from %s to %s, e.g. 90s, 15m, 2h30m", platform.ShortDuration(s.MinDuration), platform.ShortDuration(s.MaxDuration))
		case s.MinDuration > 0:
			return fmt.Sprintf("a duration of at least %s, e.g. 90s, 15m, 2h30m", platform.ShortDuration(s.MinDuration))
		}
		return "a duration, e.g. 90s, 15m, 2h30m"
	case platform.KindCron:
		return "a cron expression: minute hour day-of-month month day-of-week, in UTC (e.g. 0 2 * * *)"
	case platform.KindSecret:
		return "stored encrypted; it is never shown again"
	}
	return ""
}
