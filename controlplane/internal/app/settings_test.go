package app_test

import (
	"bytes"
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
)

// lockedBuffer is a log sink that tests read while servers write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// settingsForTest has one setting of every kind, two of them secrets.
var settingsForTest = []platform.Setting{
	{Key: "site.banner", Kind: platform.KindText, Default: "", MaxLen: 80, Help: "a line shown to admins"},
	{Key: "site.parallel", Kind: platform.KindInt, Default: "2", Min: 1, Max: 16, Help: "how many at once"},
	{Key: "site.enabled", Kind: platform.KindBool, Default: "false", Help: "switch it on"},
	{Key: "site.timeout", Kind: platform.KindDuration, Default: "15m", MinDuration: time.Minute, MaxDuration: 24 * time.Hour, Help: "how long to wait"},
	{Key: "site.schedule", Kind: platform.KindCron, Default: "0 2 * * *", Help: "when it runs"},
	{Key: "mail.smtp_password", Kind: platform.KindSecret, Help: "the SMTP relay's password"},
	{Key: "mail.api_key", Kind: platform.KindSecret, Help: "the mail API's key"},
}

// TestSecretSettingNeverShown saves secrets through the console and the
// API and then looks for them in every page, every API answer, every log
// line (at debug level) and every audit row; the consumer still opens them.
func TestSecretSettingNeverShown(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	c := startWith(t, func(e *testenv.Env, m *app.Main) {
		e.Store = e.Store.WithSettings(settingsForTest)
		m.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	const consoleSecret = "pw-Console-7f3a9c1e"
	const apiSecret = "key-API-b84d2e6f"
	const badSecret = "bad-Secret-\x01-91ac"
	var seen []string // every page and answer
	keep := func(p page) page { seen = append(seen, p.Body); return p }

	b := c.browser()
	b.mustLogin()
	p := keep(b.get("/admin/settings"))
	wantStatus(t, "settings page", p, http.StatusOK)
	wantContains(t, "settings page", p.Body, "site.parallel", "a whole number from 1 to 16", "mail.smtp_password", "not set", "Site", "Mail")

	// The console: set a secret, then see only that it is set.
	p = keep(b.submit("/admin/settings", "/admin/settings/mail.smtp_password", url.Values{"value": {consoleSecret}}))
	wantStatus(t, "set the secret", p, http.StatusSeeOther)
	p = keep(b.get("/admin/settings"))
	wantContains(t, "settings page with a secret", p.Body, "The secret mail.smtp_password is set", `<span class="badge ok">set</span>`,
		"by admin:"+adminEmail, ">Replace<", ">Clear<")
	// A refused secret is not repeated either.
	p = keep(b.submit("/admin/settings", "/admin/settings/mail.api_key", url.Values{"value": {badSecret}}))
	wantStatus(t, "a bad secret", p, http.StatusUnprocessableEntity)
	wantContains(t, "a bad secret", p.Body, "Contains control characters")

	// Refused values of the other kinds, next to their field.
	for key, bad := range map[string]string{"site.parallel": "99", "site.enabled": "maybe", "site.timeout": "3d",
		"site.schedule": "every night", "site.banner": strings.Repeat("x", 81)} {
		p := keep(b.submit("/admin/settings", "/admin/settings/"+key, url.Values{"value": {bad}}))
		wantStatus(t, "bad "+key, p, http.StatusUnprocessableEntity)
		wantContains(t, "bad "+key, p.Body, `id="error-`+key+`"`, `aria-invalid="true"`)
	}
	for key, good := range map[string]string{"site.parallel": "8", "site.enabled": "true", "site.timeout": "90s",
		"site.schedule": "15 3 * * 1-5", "site.banner": "Maintenance on Sunday"} {
		wantStatus(t, "save "+key, keep(b.submit("/admin/settings", "/admin/settings/"+key, url.Values{"value": {good}})), http.StatusSeeOther)
	}
	p = keep(b.get("/admin/settings"))
	wantContains(t, "saved values", p.Body, `value="8"`, `value="90s"`, `value="15 3 * * 1-5"`, `value="Maintenance on Sunday"`, `<option value="true" selected>yes</option>`)
	wantStatus(t, "reset", keep(b.submit("/admin/settings", "/admin/settings/site.parallel/clear", nil)), http.StatusSeeOther)
	wantStatus(t, "unknown setting", keep(b.submit("/admin/settings", "/admin/settings/no.such", url.Values{"value": {"1"}})), http.StatusNotFound)

	// The API: a secret answers {"set": true} without a value.
	api := c.api(c.newToken())
	p = keep(api.do("PUT", "/api/v1/settings/mail.api_key", map[string]any{"value": apiSecret}))
	wantStatus(t, "PUT secret", p, http.StatusOK)
	got := decode[map[string]any](t, p)
	if got["set"] != true || got["kind"] != "secret" {
		t.Errorf("PUT secret answered %v", got)
	}
	if _, has := got["value"]; has {
		t.Errorf("PUT secret answered a value: %v", got)
	}
	p = keep(api.do("PUT", "/api/v1/settings/site.parallel", map[string]any{"value": 4}))
	if got := decode[map[string]any](t, p); p.Status != http.StatusOK || got["value"] != "4" {
		t.Errorf("PUT a number: %d %v", p.Status, got)
	}
	p = keep(api.do("PUT", "/api/v1/settings/site.parallel", map[string]any{"value": "17"}))
	if e := decode[apiError](t, p); p.Status != http.StatusUnprocessableEntity || e.Error.Field != "value" || !strings.Contains(e.Error.Message, "from 1 to 16") {
		t.Errorf("PUT out of range: %d %+v", p.Status, e)
	}
	p = keep(api.do("PUT", "/api/v1/settings/mail.api_key", map[string]any{"value": badSecret}))
	wantStatus(t, "PUT a bad secret", p, http.StatusUnprocessableEntity)
	p = keep(api.do("GET", "/api/v1/settings", nil))
	wantStatus(t, "GET settings", p, http.StatusOK)
	list := decode[struct {
		Settings []map[string]any `json:"settings"`
	}](t, p)
	if len(list.Settings) != len(settingsForTest) {
		t.Fatalf("%d settings listed", len(list.Settings))
	}
	for _, s := range list.Settings {
		if s["kind"] == "secret" {
			if s["set"] != true || s["value"] != nil || s["default"] != nil {
				t.Errorf("secret listed as %v", s)
			}
		}
	}
	keep(api.do("GET", "/api/v1/audit?limit=200", nil))
	keep(b.get("/admin/audit"))

	// Nowhere: pages, answers, logs, audit rows.
	for _, secret := range []string{consoleSecret, apiSecret, badSecret, "Console-7f3a", "API-b84d", "Secret-\\u0001"} {
		for i, body := range seen {
			if strings.Contains(body, secret) || strings.Contains(html.UnescapeString(body), secret) {
				t.Errorf("answer %d holds the secret %q", i, secret)
			}
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs hold the secret %q", secret)
		}
	}
	if !strings.Contains(logs.String(), "/admin/settings/mail.smtp_password") {
		t.Error("the request log is not captured (the test would prove nothing)")
	}
	rows, err := c.Store.RecentAudit(ctx, platform.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range rows {
		all := string(r.Before) + string(r.After)
		for _, secret := range []string{consoleSecret, apiSecret, "sealed"} {
			if strings.Contains(all, secret) {
				t.Errorf("audit row %s %s holds %q", r.Action, r.TargetID, secret)
			}
		}
		if r.TargetType == "setting" {
			n[r.Action+" "+r.TargetID]++
			if r.Actor != "admin:"+adminEmail || r.RequestID == "" {
				t.Errorf("audit row %+v: actor or request id missing", r)
			}
		}
	}
	for k, want := range map[string]int{"setting.set mail.smtp_password": 1, "setting.set mail.api_key": 1, "setting.set site.parallel": 2,
		"setting.clear site.parallel": 1, "setting.set site.timeout": 1, "setting.set site.schedule": 1, "setting.set site.enabled": 1, "setting.set site.banner": 1} {
		if n[k] != want {
			t.Errorf("%d audit rows %s, want %d", n[k], k, want)
		}
	}

	// The consumer opens both secrets with the master key.
	for key, want := range map[string]string{"mail.smtp_password": consoleSecret, "mail.api_key": apiSecret} {
		if got, ok, err := c.Store.SecretSetting(ctx, c.Box, key); err != nil || !ok || got != want {
			t.Errorf("SecretSetting(%s) = %q %v %v", key, got, ok, err)
		}
	}

	// Clearing a secret, in the API and in the console.
	p = api.do("DELETE", "/api/v1/settings/mail.api_key", nil)
	if got := decode[map[string]any](t, p); p.Status != http.StatusOK || got["set"] != false {
		t.Errorf("DELETE secret: %d %v", p.Status, got)
	}
	wantStatus(t, "clear in the console", b.submit("/admin/settings", "/admin/settings/mail.smtp_password/clear", nil), http.StatusSeeOther)
	if _, ok, _ := c.Store.SecretSetting(ctx, c.Box, "mail.smtp_password"); ok {
		t.Error("the console did not clear the secret")
	}
}

// TestFlagsConsoleAndAPI manages flags on the Flags page and through the
// API: global value, per-vendor override, removal, deletion, all audited.
func TestFlagsConsoleAndAPI(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	v := c.CreateVendor(t, "flagged", "Flagged")
	b := c.browser()
	b.mustLogin()

	p := b.get("/admin/flags")
	wantStatus(t, "flags page", p, http.StatusOK)
	wantContains(t, "flags page", p.Body, "storefront.search_suggestions", "Turn off for every vendor", `<option value="flagged">`)

	p = b.submit("/admin/flags", "/admin/flags", url.Values{"name": {"Not A Name"}, "enabled": {"false"}})
	wantStatus(t, "bad flag name", p, http.StatusUnprocessableEntity)
	wantContains(t, "bad flag name", p.Body, `id="flag-name-error"`, "lower-case words")
	p = b.submit("/admin/flags", "/admin/flags", url.Values{"name": {"checkout.express"}, "description": {"One-click checkout"}, "enabled": {"false"}})
	wantStatus(t, "create flag", p, http.StatusSeeOther)
	p = b.submit("/admin/flags", "/admin/flags", url.Values{"name": {"checkout.express"}, "enabled": {"true"}})
	wantStatus(t, "create it twice", p, http.StatusUnprocessableEntity)
	wantContains(t, "create it twice", p.Body, "exists already")

	p = b.submit("/admin/flags", "/admin/flags/checkout.express/overrides", url.Values{"vendor": {"nobody-here"}, "enabled": {"true"}})
	wantStatus(t, "override for an unknown vendor", p, http.StatusUnprocessableEntity)
	wantContains(t, "override for an unknown vendor", p.Body, "There is no live vendor with the slug nobody-here")
	wantStatus(t, "override", b.submit("/admin/flags", "/admin/flags/checkout.express/overrides", url.Values{"vendor": {"flagged"}, "enabled": {"true"}}), http.StatusSeeOther)
	wantStatus(t, "global on", b.submit("/admin/flags", "/admin/flags/checkout.express", url.Values{"enabled": {"true"}}), http.StatusSeeOther)
	f, err := c.Store.Flag(ctx, "checkout.express")
	if err != nil || !f.Enabled || len(f.Overrides) != 1 || f.Overrides[0].VendorID != v.ID || f.Description != "One-click checkout" {
		t.Fatalf("flag after the console: %+v %v", f, err)
	}
	p = b.get("/admin/flags")
	wantContains(t, "flags page", p.Body, `id="flag-checkout.express"`, "One-click checkout", "/admin/flags/checkout.express/overrides/flagged/delete")
	wantStatus(t, "remove override", b.submit("/admin/flags", "/admin/flags/checkout.express/overrides/flagged/delete", nil), http.StatusSeeOther)
	wantStatus(t, "flag of nothing", b.submit("/admin/flags", "/admin/flags/no.such", url.Values{"enabled": {"true"}}), http.StatusNotFound)

	api := c.api(c.newToken())
	p = api.do("PUT", "/api/v1/flags/search.facets", map[string]any{"enabled": true, "description": "Facets on search pages"})
	wantStatus(t, "PUT new flag", p, http.StatusCreated)
	p = api.do("PUT", "/api/v1/flags/search.facets/vendors/flagged", map[string]any{"enabled": false})
	wantStatus(t, "PUT override", p, http.StatusOK)
	got := decode[platform.Flag](t, p)
	if !got.Enabled || len(got.Overrides) != 1 || got.Overrides[0].Vendor != "flagged" || got.EnabledFor(v.ID) {
		t.Errorf("flag after the override: %+v", got)
	}
	p = api.do("PUT", "/api/v1/flags/search.facets", map[string]any{})
	wantStatus(t, "PUT without enabled", p, http.StatusUnprocessableEntity)
	p = api.do("PUT", "/api/v1/flags/search.facets/vendors/nobody-here", map[string]any{"enabled": true})
	wantStatus(t, "override for an unknown vendor", p, http.StatusNotFound)
	p = api.do("GET", "/api/v1/flags", nil)
	list := decode[struct{ Flags []platform.Flag }](t, p)
	if p.Status != http.StatusOK || len(list.Flags) != 3 {
		t.Errorf("GET flags: %d %+v", p.Status, list)
	}
	wantStatus(t, "DELETE override", api.do("DELETE", "/api/v1/flags/search.facets/vendors/flagged", nil), http.StatusOK)
	wantStatus(t, "DELETE flag", api.do("DELETE", "/api/v1/flags/search.facets", nil), http.StatusNoContent)
	wantStatus(t, "GET deleted flag", api.do("GET", "/api/v1/flags/search.facets", nil), http.StatusNotFound)
	wantStatus(t, "delete in the console", b.submit("/admin/flags", "/admin/flags/checkout.express/delete", nil), http.StatusSeeOther)

	n := map[string]int{}
	for _, r := range c.audit("") {
		n[r.Action]++
	}
	if n["flag.create"] != 2 || n["flag.set"] != 1 || n["flag.override"] != 4 || n["flag.delete"] != 2 {
		t.Errorf("flag audit rows: %v", n)
	}
}
