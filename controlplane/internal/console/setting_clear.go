package console

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/web"
)

// POST /admin/settings/{key}/clear
//
// A setting goes back to its default; a secret is removed.
func (h *Handler) settingClear(w http.ResponseWriter, r *http.Request) error {
	key := mux.Vars(r)["key"]
	def, err := h.store.SettingDef(key)
	if err != nil {
		return web.Errorf(http.StatusNotFound, "There is no setting %q.", key)
	}
	if err := h.store.ClearSetting(r.Context(), actor(r), key); err != nil {
		return err
	}
	if def.Secret() {
		h.flashOK(r.Context(), "The secret %s is cleared.", key)
	} else {
		h.flashOK(r.Context(), "%s is back to its default, %q.", key, def.Default)
	}
	return redirect(w, r, "/admin/settings#setting-"+key)
}
