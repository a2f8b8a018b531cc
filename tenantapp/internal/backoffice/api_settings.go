package backoffice

import (
	"net/http"
	"time"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// apiSettings are the shop's settings and theme, named as on the
// settings page.
type apiSettings struct {
	DisplayName     string    `json:"display_name"`
	LogoMediaID     *int64    `json:"logo_media_id"`
	AccentColor     string    `json:"accent_color"`
	AccentInkColor  string    `json:"accent_ink_color"`
	BackgroundColor string    `json:"background_color"`
	TextColor       string    `json:"text_color"`
	Font            string    `json:"font"`
	Currency        string    `json:"currency"`
	Language        string    `json:"language"`
	ContactEmail    string    `json:"contact_email"`
	ContactPhone    string    `json:"contact_phone"`
	ContactAddress  string    `json:"contact_address"`
	Imprint         string    `json:"imprint"`
	Terms           string    `json:"terms"`
	Privacy         string    `json:"privacy"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func settingsJSON(s storefront.Settings) apiSettings {
	return apiSettings{DisplayName: s.DisplayName, LogoMediaID: s.LogoMediaID, AccentColor: s.AccentColor,
		AccentInkColor: s.AccentInkColor, BackgroundColor: s.BackgroundColor, TextColor: s.TextColor, Font: s.Font,
		Currency: s.Currency, Language: s.Language, ContactEmail: s.ContactEmail, ContactPhone: s.ContactPhone,
		ContactAddress: s.ContactAddress, Imprint: s.Imprint, Terms: s.Terms, Privacy: s.Privacy, UpdatedAt: s.UpdatedAt.UTC()}
}

// apiSettingsInput is the body of a PATCH: only the properties to change.
// null clears the logo and the texts that may be empty.
type apiSettingsInput struct {
	DisplayName     jsonOptional[string] `json:"display_name"`
	LogoMediaID     jsonOptional[int64]  `json:"logo_media_id"`
	AccentColor     jsonOptional[string] `json:"accent_color"`
	AccentInkColor  jsonOptional[string] `json:"accent_ink_color"`
	BackgroundColor jsonOptional[string] `json:"background_color"`
	TextColor       jsonOptional[string] `json:"text_color"`
	Font            jsonOptional[string] `json:"font"`
	Currency        jsonOptional[string] `json:"currency"`
	Language        jsonOptional[string] `json:"language"`
	ContactEmail    jsonOptional[string] `json:"contact_email"`
	ContactPhone    jsonOptional[string] `json:"contact_phone"`
	ContactAddress  jsonOptional[string] `json:"contact_address"`
	Imprint         jsonOptional[string] `json:"imprint"`
	Terms           jsonOptional[string] `json:"terms"`
	Privacy         jsonOptional[string] `json:"privacy"`
}

// apply puts the properties that were sent onto s and returns what is
// wrong with them before validation (a null where none may be).
func (in *apiSettingsInput) apply(s *storefront.Settings) map[string]string {
	errs := map[string]string{}
	for _, p := range []struct {
		name     string
		in       jsonOptional[string]
		dst      *string
		nullable bool
	}{
		{"display_name", in.DisplayName, &s.DisplayName, true},
		{"accent_color", in.AccentColor, &s.AccentColor, false},
		{"accent_ink_color", in.AccentInkColor, &s.AccentInkColor, false},
		{"background_color", in.BackgroundColor, &s.BackgroundColor, false},
		{"text_color", in.TextColor, &s.TextColor, false},
		{"font", in.Font, &s.Font, false},
		{"currency", in.Currency, &s.Currency, false},
		{"language", in.Language, &s.Language, false},
		{"contact_email", in.ContactEmail, &s.ContactEmail, true},
		{"contact_phone", in.ContactPhone, &s.ContactPhone, true},
		{"contact_address", in.ContactAddress, &s.ContactAddress, true},
		{"imprint", in.Imprint, &s.Imprint, true},
		{"terms", in.Terms, &s.Terms, true},
		{"privacy", in.Privacy, &s.Privacy, true},
	} {
		switch {
		case !p.in.Set:
		case p.in.Value != nil:
			*p.dst = *p.in.Value
		case p.nullable:
			*p.dst = ""
		default:
			errs[p.name] = "This property cannot be null."
		}
	}
	if in.LogoMediaID.Set {
		s.LogoMediaID = in.LogoMediaID.Value
		if v := in.LogoMediaID.Value; v != nil && *v <= 0 {
			errs["logo_media_id"] = "Use the id of an image in the media library, or null for no logo."
		}
	}
	return errs
}

// GET /api/v1/vendor/settings
func (h *Handler) apiSettingsGet(w http.ResponseWriter, r *http.Request) error {
	s, err := storefront.LoadSettings(r.Context(), tenant.FromContext(r.Context()).Pool)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, settingsJSON(s))
	return nil
}

// PATCH /api/v1/vendor/settings: changes the properties sent, checked as
// the settings page checks them (saveSettings); any invalid property is a
// 422 naming each, and nothing is saved.
func (h *Handler) apiSettingsUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	var in apiSettingsInput
	if err := web.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	_, _, errs, err := saveSettings(ctx, t, apiActor(r), in.apply)
	if len(errs) > 0 {
		return apiFieldErrors(catalog.FieldErrors(errs))
	}
	if err != nil {
		return err
	}
	s, err := storefront.LoadSettings(ctx, t.Pool)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, settingsJSON(s))
	return nil
}
