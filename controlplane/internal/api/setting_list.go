package api

import (
	"net/http"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// settingJSON is a setting as the API shows it. A secret has no value and
// no default: only whether it is set.
type settingJSON struct {
	Key         string     `json:"key"`
	Kind        string     `json:"kind"`
	Group       string     `json:"group"`
	Help        string     `json:"help"`
	Value       *string    `json:"value,omitempty"`
	Default     *string    `json:"default,omitempty"`
	Set         bool       `json:"set"`
	Min         *int       `json:"min,omitempty"`
	Max         *int       `json:"max,omitempty"`
	MinDuration string     `json:"min_duration,omitempty"`
	MaxDuration string     `json:"max_duration,omitempty"`
	MaxLength   int        `json:"max_length,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
	UpdatedBy   string     `json:"updated_by,omitempty"`
}

func toSettingJSON(st platform.SettingState) settingJSON {
	out := settingJSON{Key: st.Key, Kind: st.Kind, Group: st.Group(), Help: st.Help, Set: st.Stored,
		UpdatedAt: st.UpdatedAt, UpdatedBy: st.UpdatedBy}
	if !st.Secret() {
		value, def := st.Value, st.Default
		out.Value, out.Default = &value, &def
	}
	switch st.Kind {
	case platform.KindInt:
		lo, hi := st.Min, st.Max
		out.Min = &lo
		if hi > 0 {
			out.Max = &hi
		}
	case platform.KindDuration:
		if st.MinDuration > 0 {
			out.MinDuration = platform.ShortDuration(st.MinDuration)
		}
		if st.MaxDuration > 0 {
			out.MaxDuration = platform.ShortDuration(st.MaxDuration)
		}
	case platform.KindText, platform.KindSecret:
		out.MaxLength = st.MaxLen
	}
	return out
}

// GET /api/v1/settings
func (h *Handler) settingList(w http.ResponseWriter, r *http.Request) error {
	states, err := h.store.SettingStates(r.Context())
	if err != nil {
		return err
	}
	out := make([]settingJSON, len(states))
	for i, st := range states {
		out[i] = toSettingJSON(st)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"settings": out})
	return nil
}

// settingState returns one setting as it is now.
func (h *Handler) settingState(r *http.Request, key string) (settingJSON, error) {
	states, err := h.store.SettingStates(r.Context())
	if err != nil {
		return settingJSON{}, err
	}
	for _, st := range states {
		if st.Key == key {
			return toSettingJSON(st), nil
		}
	}
	return settingJSON{}, platform.ErrNotFound
}
