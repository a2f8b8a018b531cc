package backoffice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/media"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type settingsPage struct {
	page
	S            storefront.Settings
	Logo         string // the logo field as typed ("" or a media id)
	PlatformName string
	Images       []*media.Media
	Fonts        []storefront.Choice
	Languages    []storefront.Choice
	Currencies   []string
	Errors       map[string]string
}

// GET /admin/settings: the shop's name, logo, theme, currency, language,
// contact details and legal pages.
func (h *Handler) settingsForm(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	s, err := storefront.LoadSettings(r.Context(), t.Pool)
	if err != nil {
		return err
	}
	logo := ""
	if s.LogoMediaID != nil {
		logo = strconv.FormatInt(*s.LogoMediaID, 10)
	}
	return h.renderSettings(w, r, http.StatusOK, s, logo, nil)
}

func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, status int, s storefront.Settings, logo string, errs map[string]string) error {
	t := tenant.FromContext(r.Context())
	images, _, err := media.List(r.Context(), t.Pool, media.ListOptions{Limit: 200})
	if err != nil {
		return err
	}
	return h.templates.Render(w, status, "admin_settings", settingsPage{page: h.page(r, "Settings"), S: s, Logo: logo,
		PlatformName: t.Entry.Name, Images: images, Fonts: storefront.Fonts, Languages: storefront.Languages,
		Currencies: storefront.Currencies, Errors: errs})
}

// settingsFields are the settings as audit entries show them.
func settingsFields(s storefront.Settings) map[string]any {
	var logo any
	if s.LogoMediaID != nil {
		logo = *s.LogoMediaID
	}
	return map[string]any{"display_name": s.DisplayName, "logo_media_id": logo, "accent_color": s.AccentColor,
		"accent_ink_color": s.AccentInkColor, "background_color": s.BackgroundColor, "text_color": s.TextColor,
		"font": s.Font, "currency": s.Currency, "language": s.Language, "contact_email": s.ContactEmail,
		"contact_phone": s.ContactPhone, "contact_address": s.ContactAddress, "imprint": s.Imprint, "terms": s.Terms,
		"privacy": s.Privacy}
}

// POST /admin/settings: validate every field, show what is wrong next to
// it (422, nothing saved), or save and record what changed.
func (h *Handler) settingsSave(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	f := r.PostFormValue
	logo := strings.TrimSpace(f("logo_media_id"))
	s, changed, errs, err := saveSettings(ctx, t, actor(r, Current(ctx)), func(s *storefront.Settings) map[string]string {
		*s = storefront.Settings{DisplayName: f("display_name"), AccentColor: f("accent_color"), AccentInkColor: f("accent_ink_color"),
			BackgroundColor: f("background_color"), TextColor: f("text_color"), Font: f("font"), Currency: f("currency"),
			Language: f("language"), ContactEmail: f("contact_email"), ContactPhone: f("contact_phone"),
			ContactAddress: f("contact_address"), Imprint: f("imprint"), Terms: f("terms"), Privacy: f("privacy")}
		if logo != "" {
			id, err := strconv.ParseInt(logo, 10, 64)
			if err != nil || id <= 0 {
				return map[string]string{"logo_media_id": "Choose an image from the media library."}
			}
			s.LogoMediaID = &id
		}
		return nil
	})
	if len(errs) > 0 {
		return h.renderSettings(w, r, http.StatusUnprocessableEntity, s, logo, errs)
	}
	if err != nil {
		return err
	}
	if changed {
		h.sessions.Put(ctx, keyFlash, "Settings saved. The shop shows them now.")
	} else {
		h.sessions.Put(ctx, keyFlash, "Nothing changed.")
	}
	http.Redirect(w, r, t.Base+"/admin/settings", http.StatusSeeOther)
	return nil
}

// errSettingsRefused rolls back a change of settings with field errors.
var errSettingsRefused = errors.New("settings refused")

// saveSettings changes the shop's settings, for the settings page and the
// API alike: change gets the saved settings to change, and returns what
// is wrong with its own input by field (or nil). The result is checked as
// the settings page always did (Normalize, Validate, a logo that is in the
// media library) and saved with an audit entry of the fields that
// changed; the settings row is locked meanwhile, so two changes made at
// the same moment do not undo each other. It returns the settings as
// changed (also when refused, to be shown again), whether anything
// changed, and, when refused, the errors by field (nothing is saved).
func saveSettings(ctx context.Context, t *tenant.Tenant, e staff.Entry, change func(*storefront.Settings) map[string]string) (storefront.Settings, bool, map[string]string, error) {
	var s storefront.Settings
	var errs map[string]string
	changed := false
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT FROM shop_profile FOR UPDATE`); err != nil {
			return fmt.Errorf("lock shop settings: %w", err)
		}
		before, err := storefront.LoadSettings(ctx, tx)
		if err != nil {
			return err
		}
		s, errs = before, map[string]string{}
		for k, v := range change(&s) {
			errs[k] = v
		}
		s.Normalize()
		for k, v := range s.Validate() {
			if _, ok := errs[k]; !ok {
				errs[k] = v
			}
		}
		if _, ok := errs["logo_media_id"]; !ok && s.LogoMediaID != nil {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM media WHERE id = $1)`, *s.LogoMediaID).Scan(&ok); err != nil {
				return fmt.Errorf("check logo: %w", err)
			}
			if !ok {
				errs["logo_media_id"] = "That image is not in the media library (any more). Choose another one."
			}
		}
		if len(errs) > 0 {
			return errSettingsRefused
		}
		b, a := settingsFields(before), settingsFields(s)
		for k := range a {
			if a[k] == b[k] {
				delete(a, k)
				delete(b, k)
			}
		}
		if changed = len(a) > 0; !changed {
			return nil
		}
		if err := storefront.SaveSettings(ctx, tx, s, e.StaffID); err != nil {
			return err
		}
		e.Action, e.TargetType, e.TargetID, e.Before, e.After = "settings.updated", "settings", "shop", b, a
		return staff.Audit(ctx, tx, e)
	})
	if errors.Is(err, errSettingsRefused) {
		return s, false, errs, nil
	}
	if err != nil {
		return s, false, nil, err
	}
	return s, changed, nil, nil
}
