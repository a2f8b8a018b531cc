package platform_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
)

// testSettings has one setting of every kind.
var testSettings = []platform.Setting{
	{Key: "t.text", Kind: platform.KindText, Default: "hello", MaxLen: 10, Help: "a text"},
	{Key: "t.int", Kind: platform.KindInt, Default: "2", Min: 1, Max: 16, Help: "a number"},
	{Key: "t.open_int", Kind: platform.KindInt, Default: "0", Min: 0, Help: "a number without a maximum"},
	{Key: "t.bool", Kind: platform.KindBool, Default: "false", Help: "yes or no"},
	{Key: "t.duration", Kind: platform.KindDuration, Default: "15m", MinDuration: time.Minute, MaxDuration: 24 * time.Hour, Help: "a duration"},
	{Key: "t.cron", Kind: platform.KindCron, Default: "0 2 * * *", Help: "a schedule"},
	{Key: "t.secret", Kind: platform.KindSecret, Help: "a secret"},
}

func TestSettingKindsValidate(t *testing.T) {
	t.Parallel()
	def := func(key string) platform.Setting {
		for _, s := range testSettings {
			if s.Key == key {
				return s
			}
		}
		t.Fatalf("no test setting %s", key)
		return platform.Setting{}
	}
	for _, tc := range []struct {
		key, value, want string // want "" means refused
		msg              string // part of the refusal
	}{
		{"t.text", "  Storefleet ", "Storefleet", ""},
		{"t.text", "", "", ""},
		{"t.text", "ünïcödé", "ünïcödé", ""},
		{"t.text", "eleven chars", "", "at most 10"},
		{"t.text", "two\nlines", "", "control characters"},
		{"t.text", "\xff\xfe", "", "UTF-8"},
		{"t.int", " 8 ", "8", ""},
		{"t.int", "1", "1", ""},
		{"t.int", "16", "16", ""},
		{"t.int", "0", "", "from 1 to 16"},
		{"t.int", "17", "", "from 1 to 16"},
		{"t.int", "2.5", "", "not a whole number"},
		{"t.int", "ten", "", "not a whole number"},
		{"t.open_int", "1000000", "1000000", ""},
		{"t.open_int", "-1", "", "at least 0"},
		{"t.bool", "yes", "true", ""},
		{"t.bool", "No", "false", ""},
		{"t.bool", "on", "true", ""},
		{"t.bool", "0", "false", ""},
		{"t.bool", "maybe", "", "neither yes nor no"},
		{"t.duration", "90s", "90s", ""},
		{"t.duration", "2h30m", "2h30m", ""},
		{"t.duration", "24h", "24h", ""},
		{"t.duration", "59s", "", "from 1m to 24h"},
		{"t.duration", "25h", "", "from 1m to 24h"},
		{"t.duration", "-5m", "", "from 1m to 24h"},
		{"t.duration", "15", "", "not a duration"},
		{"t.duration", "a week", "", "not a duration"},
		{"t.cron", "15 3 * * 1-5", "15 3 * * 1-5", ""},
		{"t.cron", "@daily", "@daily", ""},
		{"t.cron", "every night", "", "not a cron expression"},
		{"t.cron", "61 * * * *", "", "not a cron expression"},
		{"t.cron", "", "", "not a cron expression"},
		{"t.secret", " sk_live_abc ", "sk_live_abc", ""},
		{"t.secret", "", "", "is empty"},
		{"t.secret", "with\ttab", "", "control characters"},
		{"t.secret", strings.Repeat("x", 4097), "", "at most 4096"},
	} {
		got, err := def(tc.key).Check(tc.value)
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%s = %q refused: %v", tc.key, tc.value, err)
		case tc.msg == "" && got != tc.want:
			t.Errorf("%s = %q stored as %q, want %q", tc.key, tc.value, got, tc.want)
		case tc.msg != "" && err == nil:
			t.Errorf("%s = %q accepted as %q", tc.key, tc.value, got)
		case tc.msg != "":
			var se *platform.SettingError
			if !errors.As(err, &se) || se.Key != tc.key || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s = %q: error %v, want a SettingError saying %q", tc.key, tc.value, err, tc.msg)
			}
			if tc.key == "t.secret" && tc.value != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.value)[:3]) {
				t.Errorf("the refusal of a secret quotes it: %v", err)
			}
		}
	}
	// Every default of the platform's own list is valid.
	for _, s := range platform.Settings {
		if s.Secret() {
			continue
		}
		if err := s.Validate(s.Default); err != nil {
			t.Errorf("default of %s: %v", s.Key, err)
		}
	}
}

func TestSettingsStoreSecretsAndAudit(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	store := e.Store.WithSettings(testSettings)
	actor := platform.Actor{Kind: "cli", Name: "tester"}
	const secret = "sk_live_TopSecret-4711"

	for key, value := range map[string]string{"t.text": "Storefleet", "t.int": "8", "t.bool": "yes", "t.duration": "2h", "t.cron": "15 3 * * 1-5"} {
		if err := store.SetSetting(ctx, actor, key, value); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
	}
	if err := store.SetSetting(ctx, actor, "t.int", "99"); err == nil {
		t.Fatal("an out-of-range number was saved")
	}
	if err := store.SetSetting(ctx, actor, "t.secret", secret); err == nil {
		t.Fatal("a secret was saved without the master key")
	}
	if err := store.SaveSetting(ctx, e.Box, actor, "t.secret", secret); err != nil {
		t.Fatal(err)
	}
	if err := store.SetSetting(ctx, actor, "no.such", "1"); !errors.Is(err, platform.ErrUnknownSetting) {
		t.Fatalf("unknown setting: %v", err)
	}

	values, err := store.SettingValues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if values["t.int"] != "8" || values["t.bool"] != "true" || platform.SettingBool(values, "t.bool") != true ||
		platform.SettingDuration(values, "t.duration") != 2*time.Hour || values["t.open_int"] != "0" {
		t.Errorf("values %v", values)
	}
	if _, ok := values["t.secret"]; ok {
		t.Error("SettingValues holds the secret")
	}

	// Stored sealed: the row does not hold the secret, and it opens for
	// its consumer with the master key.
	var raw string
	if err := e.CP.QueryRow(ctx, `SELECT value::text FROM platform_settings WHERE key = 't.secret'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "TopSecret") || !strings.Contains(raw, "sealed") {
		t.Errorf("stored secret: %s", raw)
	}
	got, ok, err := store.SecretSetting(ctx, e.Box, "t.secret")
	if err != nil || !ok || got != secret {
		t.Fatalf("SecretSetting = %q, %v, %v", got, ok, err)
	}
	// A sealed value copied to another key does not open there.
	if _, err := e.CP.Exec(ctx, `INSERT INTO platform_settings (key, value) SELECT 't.secret2', value FROM platform_settings WHERE key = 't.secret'`); err != nil {
		t.Fatal(err)
	}
	other := e.Store.WithSettings(append(append([]platform.Setting{}, testSettings...), platform.Setting{Key: "t.secret2", Kind: platform.KindSecret}))
	if _, _, err := other.SecretSetting(ctx, e.Box, "t.secret2"); err == nil {
		t.Error("a sealed secret opened under another key")
	}

	states, err := store.SettingStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if st.Key == "t.secret" && (!st.Stored || st.Value != "" || st.UpdatedBy != "cli:tester" || st.UpdatedAt == nil) {
			t.Errorf("secret state %+v", st)
		}
		if st.Key == "t.open_int" && st.Stored {
			t.Errorf("%s is stored", st.Key)
		}
	}

	// Replace, then clear.
	if err := store.SaveSetting(ctx, e.Box, actor, "t.secret", secret+"-2"); err != nil {
		t.Fatal(err)
	}
	if err := store.ClearSetting(ctx, actor, "t.secret"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.SecretSetting(ctx, e.Box, "t.secret"); ok || err != nil {
		t.Errorf("cleared secret: %v %v", ok, err)
	}
	if err := store.ClearSetting(ctx, actor, "t.int"); err != nil {
		t.Fatal(err)
	}
	if values, _ := store.SettingValues(ctx); values["t.int"] != "2" {
		t.Errorf("t.int after clear: %q", values["t.int"])
	}

	// Every change is audited; non-secrets with before and after, the
	// secret only as set or not.
	rows, err := e.Store.RecentAudit(ctx, platform.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range rows {
		all := string(r.Before) + string(r.After)
		if strings.Contains(all, "TopSecret") || strings.Contains(all, "sealed") {
			t.Errorf("audit row %s %s holds the secret: %s / %s", r.Action, r.TargetID, r.Before, r.After)
		}
		if r.TargetType == "setting" {
			n[r.Action+" "+r.TargetID]++
		}
		if r.Action == "setting.clear" && r.TargetID == "t.int" && (string(r.Before) != `"8"` || string(r.After) != `"2"`) {
			t.Errorf("t.int clear audited as %s → %s", r.Before, r.After)
		}
		if r.Action == "setting.set" && r.TargetID == "t.int" && string(r.After) != `"8"` {
			t.Errorf("t.int set audited as %s → %s", r.Before, r.After)
		}
	}
	want := map[string]int{"setting.set t.text": 1, "setting.set t.int": 1, "setting.set t.bool": 1, "setting.set t.duration": 1,
		"setting.set t.cron": 1, "setting.set t.secret": 2, "setting.clear t.secret": 1, "setting.clear t.int": 1}
	for k, v := range want {
		if n[k] != v {
			t.Errorf("%d audit rows %s, want %d (all: %v)", n[k], k, v, n)
		}
	}
}

func TestFlagPrecedence(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	a := e.CreateVendor(t, "flag-a", "A")
	b := e.CreateVendor(t, "flag-b", "B")
	actor := platform.Actor{Kind: "cli", Name: "tester"}
	effective := func(v *platform.Vendor, name string) (bool, bool) {
		var on bool
		err := e.CP.QueryRow(ctx, `SELECT enabled FROM vendor_feature_flags($1) WHERE name = $2`, v.ID, name).Scan(&on)
		return on, err == nil
	}

	if _, _, err := e.Store.SetFlag(ctx, actor, "Bad Name", true, nil); err == nil {
		t.Fatal("a bad flag name was accepted")
	}
	desc := "new checkout"
	f, created, err := e.Store.SetFlag(ctx, actor, "checkout.v2", false, &desc)
	if err != nil || !created || f.Enabled || f.Description != desc {
		t.Fatalf("create: %+v %v %v", f, created, err)
	}
	if on, ok := effective(a, "checkout.v2"); !ok || on {
		t.Fatalf("global off: a sees %v (%v)", on, ok)
	}
	if _, err := e.Store.SetFlagOverride(ctx, actor, "checkout.v2", "flag-a", true); err != nil {
		t.Fatal(err)
	}
	if on, _ := effective(a, "checkout.v2"); !on {
		t.Error("override on does not win over global off")
	}
	if on, _ := effective(b, "checkout.v2"); on {
		t.Error("another vendor's override leaks")
	}
	if _, _, err := e.Store.SetFlag(ctx, actor, "checkout.v2", true, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.SetFlagOverride(ctx, actor, "checkout.v2", "flag-b", false); err != nil {
		t.Fatal(err)
	}
	if on, _ := effective(b, "checkout.v2"); on {
		t.Error("override off does not win over global on")
	}
	f, err = e.Store.Flag(ctx, "checkout.v2")
	if err != nil || f.Description != desc || !f.EnabledFor(a.ID) || f.EnabledFor(b.ID) || len(f.Overrides) != 2 {
		t.Fatalf("flag %+v, %v", f, err)
	}
	if _, err := e.Store.DeleteFlagOverride(ctx, actor, "checkout.v2", "flag-b"); err != nil {
		t.Fatal(err)
	}
	if on, _ := effective(b, "checkout.v2"); !on {
		t.Error("without its override b does not follow the global value")
	}
	if _, err := e.Store.SetFlagOverride(ctx, actor, "checkout.v2", "no-such-shop", true); !errors.Is(err, platform.ErrNotFound) {
		t.Errorf("override for an unknown vendor: %v", err)
	}
	if _, err := e.Store.SetFlagOverride(ctx, actor, "no.such", "flag-a", true); !errors.Is(err, platform.ErrNotFound) {
		t.Errorf("override of an unknown flag: %v", err)
	}
	if err := e.Store.DeleteFlag(ctx, actor, "checkout.v2"); err != nil {
		t.Fatal(err)
	}
	if _, ok := effective(a, "checkout.v2"); ok {
		t.Error("a deleted flag is still listed")
	}

	rows, err := e.Store.RecentAudit(ctx, platform.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range rows {
		n[r.Action]++
	}
	if n["flag.create"] != 1 || n["flag.set"] != 1 || n["flag.override"] != 3 || n["flag.delete"] != 1 {
		t.Errorf("flag audit rows %v", n)
	}
}
