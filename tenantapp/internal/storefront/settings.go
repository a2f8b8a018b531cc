package storefront

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
)

// Settings are the shop's settings and theme (the shop_profile row).
type Settings struct {
	DisplayName    string // shown instead of the platform's name for the shop, if set
	LogoMediaID    *int64
	AccentColor    string // #rrggbb, lower case
	AccentInkColor string // text on the accent colour
	BackgroundColor,
	TextColor string
	Font           string // a key of Fonts
	Currency       string // ISO 4217, one of Currencies
	Language       string // a key of Languages
	ContactEmail   string
	ContactPhone   string
	ContactAddress string
	Imprint        string // plain text
	Terms          string
	Privacy        string
	UpdatedAt      time.Time
}

// Choice is an option of a setting.
type Choice struct {
	Key, Label string
	// Stack is a font's CSS font-family list (fonts only). Fonts are the
	// visitor's own, so nothing is downloaded from anywhere.
	Stack string
}

// Fonts are the shop fonts to choose from.
var Fonts = []Choice{
	{"system", "Clean sans-serif (system)", `"Inter", system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`},
	{"humanist", "Friendly sans-serif", `Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, sans-serif`},
	{"serif", "Classic serif", `"Iowan Old Style", "Palatino Linotype", "URW Palladio L", P052, Georgia, serif`},
	{"rounded", "Rounded", `ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, Manjari, "Arial Rounded MT", sans-serif`},
	{"mono", "Monospace", `ui-monospace, "Cascadia Code", "Source Code Pro", Menlo, Consolas, "DejaVu Sans Mono", monospace`},
}

// Languages are the shop languages (also the language of its search).
var Languages = []Choice{
	{Key: "en", Label: "English"}, {Key: "fr", Label: "Français"}, {Key: "de", Label: "Deutsch"},
	{Key: "lb", Label: "Lëtzebuergesch"}, {Key: "nl", Label: "Nederlands"}, {Key: "it", Label: "Italiano"},
	{Key: "es", Label: "Español"}, {Key: "pt", Label: "Português"},
}

// Currencies are the shop currencies.
var Currencies = []string{"EUR", "USD", "GBP", "CHF", "SEK", "DKK", "NOK", "PLN", "CZK", "HUF", "CAD", "AUD", "JPY"}

// DefaultSettings are a new shop's settings (as in migration 00009).
func DefaultSettings() Settings {
	return Settings{AccentColor: "#0b7285", AccentInkColor: "#ffffff", BackgroundColor: "#fbfaf8", TextColor: "#22211f",
		Font: "system", Currency: "EUR", Language: "en"}
}

const settingsColumns = `display_name, logo_media_id, accent_color, accent_ink_color, background_color, text_color, font,
	currency, language, contact_email, contact_phone, contact_address, imprint, terms, privacy, updated_at`

// Querier runs a query: a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// LoadSettings reads the shop's settings. A shop whose schema has no
// settings yet gets the defaults.
func LoadSettings(ctx context.Context, db Querier) (Settings, error) {
	s := DefaultSettings()
	err := db.QueryRow(ctx, `SELECT `+settingsColumns+` FROM shop_profile`).Scan(&s.DisplayName, &s.LogoMediaID,
		&s.AccentColor, &s.AccentInkColor, &s.BackgroundColor, &s.TextColor, &s.Font, &s.Currency, &s.Language,
		&s.ContactEmail, &s.ContactPhone, &s.ContactAddress, &s.Imprint, &s.Terms, &s.Privacy, &s.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) || database.Code(err) == "42P01" { // no row, or no table yet
		return DefaultSettings(), nil
	}
	if err != nil {
		return s, fmt.Errorf("load shop settings: %w", err)
	}
	return s, nil
}

// SaveSettings writes the shop's settings (validated first by Validate).
func SaveSettings(ctx context.Context, tx pgx.Tx, s Settings, staffID int64) error {
	var by *int64
	if staffID != 0 {
		by = &staffID
	}
	_, err := tx.Exec(ctx, `INSERT INTO shop_profile (id, display_name, logo_media_id, accent_color, accent_ink_color,
			background_color, text_color, font, currency, language, contact_email, contact_phone, contact_address,
			imprint, terms, privacy, updated_at, updated_by)
		VALUES (true, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now(), $16)
		ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, logo_media_id = excluded.logo_media_id,
			accent_color = excluded.accent_color, accent_ink_color = excluded.accent_ink_color,
			background_color = excluded.background_color, text_color = excluded.text_color, font = excluded.font,
			currency = excluded.currency, language = excluded.language, contact_email = excluded.contact_email,
			contact_phone = excluded.contact_phone, contact_address = excluded.contact_address, imprint = excluded.imprint,
			terms = excluded.terms, privacy = excluded.privacy, updated_at = now(), updated_by = excluded.updated_by`,
		s.DisplayName, s.LogoMediaID, s.AccentColor, s.AccentInkColor, s.BackgroundColor, s.TextColor, s.Font,
		s.Currency, s.Language, s.ContactEmail, s.ContactPhone, s.ContactAddress, s.Imprint, s.Terms, s.Privacy, by)
	if err != nil {
		return fmt.Errorf("save shop settings: %w", err)
	}
	return nil
}

var (
	hexColor = regexp.MustCompile(`^#[0-9a-f]{6}$`)
	phone    = regexp.MustCompile(`^[0-9+()./ -]{3,40}$`)
)

// Normalize trims the fields and writes colours in lower case.
func (s *Settings) Normalize() {
	for _, p := range []*string{&s.DisplayName, &s.AccentColor, &s.AccentInkColor, &s.BackgroundColor, &s.TextColor, &s.Font,
		&s.Currency, &s.Language, &s.ContactEmail, &s.ContactPhone} {
		*p = strings.TrimSpace(*p)
	}
	for _, p := range []*string{&s.AccentColor, &s.AccentInkColor, &s.BackgroundColor, &s.TextColor} {
		*p = strings.ToLower(*p)
	}
	s.Currency = strings.ToUpper(s.Currency)
	for _, p := range []*string{&s.ContactAddress, &s.Imprint, &s.Terms, &s.Privacy} {
		*p = strings.TrimSpace(strings.ReplaceAll(*p, "\r\n", "\n"))
	}
}

// Validate returns what is wrong with each field, by form field name.
func (s *Settings) Validate() map[string]string {
	errs := map[string]string{}
	textField := func(field, v string, maxRunes int, multiline bool) {
		switch {
		case utf8.RuneCountInString(v) > maxRunes:
			errs[field] = fmt.Sprintf("Use at most %d characters.", maxRunes)
		case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool {
			return r < 0x20 && !(multiline && (r == '\n' || r == '\t')) || r == 0x7f
		}):
			errs[field] = "Remove the control characters."
		}
	}
	textField("display_name", s.DisplayName, 100, false)
	for field, v := range map[string]string{"accent_color": s.AccentColor, "accent_ink_color": s.AccentInkColor,
		"background_color": s.BackgroundColor, "text_color": s.TextColor} {
		if !hexColor.MatchString(v) {
			errs[field] = fmt.Sprintf("Use a colour written as #rrggbb, such as #0b7285 (not %q).", v)
		}
	}
	if _, ok := FontStack(s.Font); !ok {
		errs["font"] = "Choose one of the fonts in the list."
	}
	if !validCurrency(s.Currency) {
		errs["currency"] = "Choose one of the currencies in the list."
	}
	if !validLanguage(s.Language) {
		errs["language"] = "Choose one of the languages in the list."
	}
	if s.ContactEmail != "" {
		a, err := mail.ParseAddress(s.ContactEmail)
		if err != nil || a.Address != s.ContactEmail || len(s.ContactEmail) > 254 {
			errs["contact_email"] = "Write one e-mail address, such as hello@example.com."
		}
	}
	if s.ContactPhone != "" && !phone.MatchString(s.ContactPhone) {
		errs["contact_phone"] = "Use digits, spaces and + ( ) . / - only, at most 40 characters."
	}
	textField("contact_address", s.ContactAddress, 500, true)
	textField("imprint", s.Imprint, 20000, true)
	textField("terms", s.Terms, 50000, true)
	textField("privacy", s.Privacy, 50000, true)
	return errs
}

func validCurrency(c string) bool {
	for _, v := range Currencies {
		if v == c {
			return true
		}
	}
	return false
}

func validLanguage(l string) bool {
	for _, v := range Languages {
		if v.Key == l {
			return true
		}
	}
	return false
}

// FontStack returns the CSS font-family list of a font key.
func FontStack(key string) (string, bool) {
	for _, f := range Fonts {
		if f.Key == key {
			return f.Stack, true
		}
	}
	return "", false
}

// ThemeCSS is the shop's theme as CSS custom properties for an inline
// <style> element. Only values that pass the checks again here go in
// (colours #rrggbb, fonts from Fonts), so nothing typed by staff reaches
// the style sheet as text.
func (s Settings) ThemeCSS() template.CSS {
	var b strings.Builder
	b.WriteString(":root {")
	for _, p := range [][2]string{{"--shop-accent", s.AccentColor}, {"--shop-accent-ink", s.AccentInkColor},
		{"--shop-bg", s.BackgroundColor}, {"--shop-text", s.TextColor}} {
		if hexColor.MatchString(p[1]) {
			fmt.Fprintf(&b, " %s: %s;", p[0], p[1])
		}
	}
	if stack, ok := FontStack(s.Font); ok {
		fmt.Fprintf(&b, " --shop-font: %s;", stack)
	}
	b.WriteString(" }")
	return template.CSS(b.String()) //nolint:gosec // built from checked values only
}

// Paragraphs splits plain text into paragraphs (at blank lines) of lines,
// for templates to show with their own escaping.
func Paragraphs(text string) [][]string {
	var out [][]string
	for _, block := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		block = strings.Trim(block, "\n")
		if strings.TrimSpace(block) == "" {
			continue
		}
		out = append(out, strings.Split(block, "\n"))
	}
	return out
}
