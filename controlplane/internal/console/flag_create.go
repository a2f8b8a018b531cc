package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/flags name=... description=... enabled=true|false
func (h *Handler) flagCreate(w http.ResponseWriter, r *http.Request) error {
	form := flagForm{
		Name:        strings.TrimSpace(r.PostForm.Get("name")),
		Description: strings.TrimSpace(r.PostForm.Get("description")),
		Errors:      map[string]string{},
	}
	on, ok := parseOnOff(r.PostForm.Get("enabled"))
	form.Enabled = on
	if !ok {
		form.Errors["enabled"] = "Choose on or off."
		return h.renderFlags(w, r, http.StatusUnprocessableEntity, form, nil)
	}
	if err := platform.CheckFlag(form.Name, form.Description); err != nil {
		return h.flagFormError(w, r, form, err)
	}
	if _, err := h.store.Flag(r.Context(), form.Name); err == nil {
		form.Errors["name"] = "A flag with this name exists already; change it in the list below."
		return h.renderFlags(w, r, http.StatusUnprocessableEntity, form, nil)
	} else if !errors.Is(err, platform.ErrNotFound) {
		return err
	}
	if _, _, err := h.store.SetFlag(r.Context(), actor(r), form.Name, on, &form.Description); err != nil {
		return h.flagFormError(w, r, form, err)
	}
	h.flashOK(r.Context(), "Created the flag %s, %s for every vendor.", form.Name, onOff(on))
	return redirect(w, r, "/admin/flags#flag-"+form.Name)
}

// flagFormError shows a refused new flag with the message next to its field.
func (h *Handler) flagFormError(w http.ResponseWriter, r *http.Request, form flagForm, err error) error {
	var se *platform.SettingError
	if !errors.As(err, &se) {
		return err
	}
	form.Errors[se.Key] = "The " + se.Key + " " + se.Message + "."
	if se.Key != "name" && se.Key != "description" {
		form.Errors["name"] = httperr.Sentence(se.Message) + "."
	}
	return h.renderFlags(w, r, http.StatusUnprocessableEntity, form, nil)
}

// parseOnOff reads a yes/no form value.
func parseOnOff(v string) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "on", "yes", "1":
		return true, true
	case "false", "off", "no", "0":
		return false, true
	}
	return false, false
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
