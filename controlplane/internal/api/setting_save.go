package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// settingRequest is the body of a setting change. value may be a JSON
// string, number or boolean; it is checked as text against the setting's
// kind.
type settingRequest struct {
	Value json.RawMessage `json:"value"`
}

// PUT /api/v1/settings/{key} {value}
//
// A secret is sealed with the master key before it is stored; the answer
// says only that it is set.
func (h *Handler) settingSave(w http.ResponseWriter, r *http.Request) error {
	key := mux.Vars(r)["key"]
	if _, err := h.store.SettingDef(key); err != nil {
		return web.Errorf(http.StatusNotFound, "There is no setting %q; GET /api/v1/settings lists them.", key)
	}
	var req settingRequest
	if err := web.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	value, ok := scalarText(req.Value)
	if !ok {
		return web.FieldError("value", "value is required: a string (or a number or boolean)")
	}
	if err := h.store.SaveSetting(r.Context(), h.prov, actor(r), key, value); err != nil {
		var se *platform.SettingError
		if errors.As(err, &se) {
			return web.FieldError("value", httperr.Sentence(se.Message))
		}
		return err
	}
	out, err := h.settingState(r, key)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// scalarText is a JSON string's text, or a number's or boolean's literal.
func scalarText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		if b {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
