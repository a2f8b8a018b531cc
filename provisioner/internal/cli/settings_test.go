package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/testenv"
)

func TestSettingsCommand(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	r := run(t, e, nil, "settings")
	if r.code != 0 || !strings.Contains(r.stdout, "backup.schedule") || !strings.Contains(r.stdout, "KIND") {
		t.Fatalf("settings: %+v", r)
	}
	r = run(t, e, nil, "settings", "--set", "backup.parallel=4", "--json")
	var values map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &values); r.code != 0 || err != nil || values["backup.parallel"] != "4" {
		t.Fatalf("settings --set backup.parallel=4 --json: %+v (%v)", r, err)
	}
	for _, bad := range [][]string{
		{"--set", "backup.parallel=99"},
		{"--set", "backup.schedule=every night"},
		{"--set", "no.such=1"},
		{"--set", "backup.parallel"},
		{"--set-secret", "backup.parallel"},
		{"--set", "backup.parallel=3", "--clear", "backup.parallel"},
	} {
		r := run(t, e, nil, append([]string{"settings"}, bad...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "fix:") && !strings.Contains(r.stderr, "usage") {
			t.Errorf("settings %v: %+v", bad, r)
		}
	}
	r = run(t, e, nil, "settings", "--clear", "backup.parallel", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &values); r.code != 0 || err != nil || values["backup.parallel"] != "2" {
		t.Fatalf("settings --clear: %+v (%v)", r, err)
	}
}
