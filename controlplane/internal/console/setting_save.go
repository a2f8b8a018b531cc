package console

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// POST /admin/settings/{key} value=...
//
// A refused value is shown again next to its field (never a secret's); a
// secret is sealed with the master key before it is stored, and the page
// and the flash only say that it was set.
func (h *Handler) settingSave(w http.ResponseWriter, r *http.Request) error {
	key := mux.Vars(r)["key"]
	def, err := h.store.SettingDef(key)
	if err != nil {
		return web.Errorf(http.StatusNotFound, "There is no setting %q.", key)
	}
	value := r.PostForm.Get("value")
	if err := h.store.SaveSetting(r.Context(), h.prov, actor(r), key, value); err != nil {
		var se *platform.SettingError
		if errors.As(err, &se) {
			return h.renderSettings(w, r, http.StatusUnprocessableEntity, &settingRow{
				SettingState: platform.SettingState{Setting: def}, Input: value, Error: httperr.Sentence(se.Message) + "."})
		}
		return err
	}
	if def.Secret() {
		h.flashOK(r.Context(), "The secret %s is set. It is stored encrypted and will not be shown again.", key)
	} else {
		h.flashOK(r.Context(), "Saved %s.", key)
	}
	return redirect(w, r, "/admin/settings#setting-"+key)
}
