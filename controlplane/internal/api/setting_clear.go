package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// DELETE /api/v1/settings/{key}
//
// The setting goes back to its default; a secret is removed.
func (h *Handler) settingClear(w http.ResponseWriter, r *http.Request) error {
	key := mux.Vars(r)["key"]
	if _, err := h.store.SettingDef(key); err != nil {
		return web.Errorf(http.StatusNotFound, "There is no setting %q; GET /api/v1/settings lists them.", key)
	}
	if err := h.store.ClearSetting(r.Context(), actor(r), key); err != nil {
		return err
	}
	out, err := h.settingState(r, key)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
