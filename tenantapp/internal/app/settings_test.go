package app_test

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// settingsForm is a valid settings form; tests change fields of it.
func settingsForm() url.Values {
	return url.Values{
		"display_name": {""}, "logo_media_id": {""}, "accent_color": {"#0b7285"}, "accent_ink_color": {"#ffffff"},
		"background_color": {"#fbfaf8"}, "text_color": {"#22211f"}, "font": {"system"}, "currency": {"EUR"},
		"language": {"en"}, "contact_email": {""}, "contact_phone": {""}, "contact_address": {""},
		"imprint": {""}, "terms": {""}, "privacy": {""},
	}
}

// fieldError finds the error shown after a field's input and before the
// next field.
func fieldError(body, field string) string {
	parts := strings.Split(body, `name="`)
	for _, p := range parts[1:] {
		if strings.HasPrefix(p, field+`"`) {
			if m := regexp.MustCompile(`<p class="field-error"[^>]*>([^<]*)</p>`).FindStringSubmatch(p); m != nil {
				return html.UnescapeString(m[1])
			}
		}
	}
	return ""
}

func TestSettingsValidationAndTheme(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a, alice := signedInOwner(t, s, "acme", "Acme Tools")
	s.e.CreateVendor(t, "bravo", "Bravo Books")
	pool := s.e.VendorPool(t, a)
	ctx := context.Background()

	if code, body, _ := alice.do("GET", "/admin/settings", nil); code != 200 || !strings.Contains(body, `name="accent_color"`) {
		t.Fatalf("settings page: %d %s", code, body)
	}

	// Bad values: 422, each message next to its field, nothing saved.
	bad := settingsForm()
	bad.Set("display_name", "Evil shop")
	bad.Set("accent_color", "red; } body { display: none")
	bad.Set("text_color", "#12345")
	bad.Set("font", "comic-sans")
	bad.Set("language", "xx")
	bad.Set("currency", "BTC")
	bad.Set("contact_email", "not an address")
	bad.Set("logo_media_id", "999999")
	code, body, _ := alice.do("POST", "/admin/settings", bad)
	if code != 422 {
		t.Fatalf("bad settings: %d %s", code, body)
	}
	for field, want := range map[string]string{
		"accent_color": "#rrggbb", "text_color": "#rrggbb", "font": "Choose one of the fonts", "language": "Choose one of the languages",
		"currency": "Choose one of the currencies", "contact_email": "Write one e-mail address",
	} {
		if got := fieldError(body, field); !strings.Contains(got, want) {
			t.Errorf("%s: error %q next to the field, want %q", field, got, want)
		}
	}
	if fieldError(body, "display_name") != "" {
		t.Error("an error next to a good field")
	}
	var accent, name string
	if err := pool.QueryRow(ctx, `SELECT accent_color, display_name FROM shop_profile`).Scan(&accent, &name); err != nil {
		t.Fatal(err)
	}
	if accent != "#0b7285" || name != "" {
		t.Fatalf("a refused form changed the settings: %q %q", accent, name)
	}
	// A logo that is not in the library: refused after the other checks.
	onlyLogo := settingsForm()
	onlyLogo.Set("logo_media_id", "999999")
	if code, body, _ := alice.do("POST", "/admin/settings", onlyLogo); code != 422 || !strings.Contains(fieldError(body, "logo_media_id"), "not in the media library") {
		t.Fatalf("unknown logo: %d %s", code, fieldError(body, "logo_media_id"))
	}
	if n := countRows(t, s, a, `SELECT count(*) FROM audit_log WHERE action = 'settings.updated'`); n != 0 {
		t.Fatalf("refused forms were audited: %d", n)
	}

	// Good values, with a logo from the library.
	code, _, h := uploadImage(alice, "logo.png", testPNG(t, 300, 100))
	if code != 303 {
		t.Fatalf("upload logo: %d", code)
	}
	logoID := h.Get("Location")[strings.LastIndex(h.Get("Location"), "/")+1:]
	alice.do("GET", "/admin/settings", nil)
	good := settingsForm()
	good.Set("display_name", "Acme & Sons <b>")
	good.Set("logo_media_id", logoID)
	good.Set("accent_color", "#AA3300")
	good.Set("font", "serif")
	good.Set("language", "fr")
	good.Set("currency", "CHF")
	good.Set("contact_email", "hello@acme.example")
	good.Set("contact_phone", "+352 123 456")
	good.Set("contact_address", "1 Rue de la Gare\r\nL-1234 Luxembourg")
	good.Set("imprint", "<script>alert('imprint')</script>\r\nAcme S.à r.l.\r\n\r\nSecond paragraph")
	if code, body, _ := alice.do("POST", "/admin/settings", good); code != 303 {
		t.Fatalf("save settings: %d %s", code, body)
	}
	if code, body, _ := alice.do("GET", "/admin/settings", nil); code != 200 || !strings.Contains(body, "Settings saved") || !strings.Contains(body, `value="#aa3300"`) {
		t.Fatalf("settings after saving: %d %s", code, body)
	}

	// The storefront applies the theme and shows the name, logo, contact
	// details and a link to the imprint.
	code, home := s.get(t, "acme.localhost", "/")
	if code != 200 {
		t.Fatalf("home: %d", code)
	}
	for _, want := range []string{
		`<html lang="fr">`,
		`<style>:root { --shop-accent: #aa3300; --shop-accent-ink: #ffffff; --shop-bg: #fbfaf8; --shop-text: #22211f; --shop-font: "Iowan Old Style"`,
		`Acme &amp; Sons &lt;b&gt;`,
		`<img class="logo" src="/media/` + logoID + `/200"`,
		`hello@acme.example`, `&#43;352 123 456`, `1 Rue de la Gare<br>L-1234 Luxembourg`,
		`href="/legal/imprint"`,
	} {
		if !strings.Contains(home, want) {
			t.Errorf("home page lacks %s\n%s", want, home)
		}
	}
	if strings.Contains(home, "/legal/terms") || strings.Contains(home, "Acme Tools") {
		t.Errorf("home shows a link to an empty page, or the platform's name:\n%s", home)
	}
	code, imprint := s.get(t, "acme.localhost", "/legal/imprint")
	if code != 200 || !strings.Contains(imprint, "&lt;script&gt;alert(&#39;imprint&#39;)&lt;/script&gt;<br>Acme S.à r.l.</p>") ||
		!strings.Contains(imprint, "<p>Second paragraph</p>") || strings.Contains(imprint, "<script>alert") {
		t.Fatalf("imprint: %d %s", code, imprint)
	}
	if code, _ := s.get(t, "acme.localhost", "/legal/terms"); code != 404 {
		t.Errorf("an empty legal page: %d", code)
	}
	// Another shop keeps its own look.
	if _, other := s.get(t, "bravo.localhost", "/"); strings.Contains(other, "#aa3300") || strings.Contains(other, "Acme") || !strings.Contains(other, `lang="en"`) {
		t.Errorf("bravo's storefront shows acme's settings:\n%s", other)
	}

	// The logo is in use: it cannot be deleted.
	alice.do("GET", "/admin/media/"+logoID, nil)
	if code, body, _ := alice.do("POST", "/admin/media/"+logoID+"/delete", url.Values{}); code != 409 || !strings.Contains(body, "Shop logo") {
		t.Fatalf("delete the logo: %d %s", code, body)
	}

	// The change is audited with what changed only.
	var before, after []byte
	if err := pool.QueryRow(ctx, `SELECT before, after FROM audit_log WHERE action = 'settings.updated'`).Scan(&before, &after); err != nil {
		t.Fatal(err)
	}
	var b, af map[string]any
	_ = json.Unmarshal(before, &b)
	_ = json.Unmarshal(after, &af)
	if af["accent_color"] != "#aa3300" || b["accent_color"] != "#0b7285" || af["language"] != "fr" {
		t.Errorf("audit: before %s after %s", before, after)
	}
	if _, ok := af["text_color"]; ok {
		t.Errorf("an unchanged field is in the audit entry: %s", after)
	}
}
