package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/testenv"
)

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.UseOwnTemplate(t, migrate.Tenant, migrate.Tenant.Head())
	for _, s := range []string{"alpha", "bravo", "charlie"} {
		e.CreateVendor(t, s, s)
	}
	if r := run(t, e, nil, "status"); r.code != 0 || !strings.Contains(r.stdout, "newest tenant version") {
		t.Fatalf("status at head: %+v", r)
	}
	// Roll two vendors back; status now fails and says what to do.
	for _, s := range []string{"alpha", "bravo"} {
		if r := run(t, e, nil, "rollback", "--vendor", s, "--to", "1"); r.code != 0 || !strings.Contains(r.stdout, "→ 1") {
			t.Fatalf("rollback %s: %+v", s, r)
		}
	}
	if r := run(t, e, nil, "rollback", "--vendor", "alpha"); r.code != 2 || !strings.Contains(r.stderr, "--to is required") {
		t.Errorf("rollback without --to: %+v", r)
	}
	if r := run(t, e, nil, "migrate", "--vendor", "alpha", "--to", "999"); r.code != 2 || !strings.Contains(r.stderr, "not a tenant migration") {
		t.Errorf("migrate to unknown version: %+v", r)
	}
	r := run(t, e, nil, "status")
	if r.code != 1 || !strings.Contains(r.stdout, "(behind)") || !strings.Contains(r.stderr, "provisioner migrate-all") {
		t.Fatalf("status behind: %+v", r)
	}
	r = run(t, e, nil, "migrate-all", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "dry run: 2 vendors") || !strings.Contains(r.stdout, fmt.Sprintf("pending %v", pendingFrom(1))) {
		t.Fatalf("dry run: %+v", r)
	}
	if r := run(t, e, nil, "migrate", "--vendor", "alpha", "--to", "2"); r.code != 0 || !strings.Contains(r.stdout, "1 → 2") {
		t.Fatalf("migrate one: %+v", r)
	}
	r = run(t, e, nil, "migrate-all", "--json", "--parallel", "2", "--canary", "1")
	if r.code != 0 {
		t.Fatalf("migrate-all: %+v", r)
	}
	var last map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	lines := 0
	for sc.Scan() {
		lines++
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("not JSON lines: %q", sc.Text())
		}
	}
	sum, _ := last["summary"].(map[string]any)
	if lines < 3 || last["kind"] != "summary" || sum["migrated"] != float64(2) || sum["skipped"] != float64(1) {
		t.Fatalf("JSON lines: %d lines, last %v", lines, last)
	}
	if r := run(t, e, nil, "status", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"last_run"`) {
		t.Fatalf("status after: %+v", r)
	}
}

// pendingFrom lists the tenant versions after v.
func pendingFrom(v int64) []int64 {
	var out []int64
	for _, m := range migrate.Tenant.Migrations() {
		if m.Version > v {
			out = append(out, m.Version)
		}
	}
	return out
}
