package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
)

func TestBackupCommands(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	for _, s := range []string{"alpha", "bravo"} {
		v := e.CreateVendor(t, s, s)
		if _, err := e.VendorPool(t, v).Exec(ctx, `INSERT INTO products (sku, title, price_minor) SELECT 'S' || g, 'P', 1 FROM generate_series(1, 10) g`); err != nil {
			t.Fatal(err)
		}
	}
	if r := run(t, e, nil, "backup"); r.code != 2 || !strings.Contains(r.stderr, "--vendor S or --all") {
		t.Errorf("backup without a target: %+v", r)
	}
	r := run(t, e, nil, "backup", "--vendor", "alpha", "--json")
	var b backup.Backup
	if err := json.Unmarshal([]byte(r.stdout), &b); r.code != 0 || err != nil || b.State != "completed" || b.RowCounts["products"] != 10 {
		t.Fatalf("backup: %+v %v", r, err)
	}
	if r := run(t, e, nil, "backup", "--all", "--parallel", "2"); r.code != 0 || !strings.Contains(r.stdout, "2 vendors backed up, 0 failed") {
		t.Fatalf("backup --all: %+v", r)
	}
	if r := run(t, e, nil, "backups", "--vendor", "alpha"); r.code != 0 || strings.Count(r.stdout, "completed") != 2 {
		t.Fatalf("backups: %+v", r)
	}
	if r := run(t, e, nil, "verify", "--vendor", "alpha"); r.code != 0 || !strings.Contains(r.stdout, "ok") {
		t.Fatalf("verify: %+v", r)
	}
	r = run(t, e, nil, "restore", "--vendor", "bravo", "--backup", fmt.Sprint(b.ID))
	if r.code != 1 || !strings.Contains(r.stderr, "fix: restore a backup of the same vendor, or add --as") {
		t.Fatalf("restore of another vendor's backup: %+v", r)
	}
	if r := run(t, e, nil, "restore", "--vendor", "alpha", "--backup", fmt.Sprint(b.ID)); r.code != 0 || !strings.Contains(r.stdout, "restored backup") {
		t.Fatalf("restore: %+v", r)
	}
	// Servers and a move.
	if r := run(t, e, nil, "servers", "add", "--name", "second", "--url", e.Vars["STOREFLEET_DB_SERVER2_URL"]); r.code != 0 || !strings.Contains(r.stdout, "is ready") {
		t.Fatalf("servers add: %+v", r)
	}
	if r := run(t, e, nil, "servers", "drain", "--name", "second"); r.code != 0 || !strings.Contains(r.stdout, "draining") {
		t.Fatalf("servers drain: %+v", r)
	}
	if r := run(t, e, nil, "servers", "list"); r.code != 0 || !strings.Contains(r.stdout, "second") || !strings.Contains(r.stdout, "draining") {
		t.Fatalf("servers list: %+v", r)
	}
	if r := run(t, e, nil, "servers", "drain", "--name", "nope"); r.code != 1 {
		t.Errorf("drain an unknown server: %+v", r)
	}
	if r := run(t, e, nil, "move", "--vendor", "bravo", "--to", "second"); r.code != 0 || !strings.Contains(r.stdout, "writes were refused for") {
		t.Fatalf("move: %+v", r)
	}
	if v, _ := e.Store.VendorBySlug(ctx, "bravo"); v.ServerName != "second" {
		t.Errorf("bravo is on %s", v.ServerName)
	}
	// Deleting takes a final backup first.
	if r := run(t, e, nil, "delete-vendor", "--slug", "bravo"); r.code != 0 || !strings.Contains(r.stdout, "final backup") {
		t.Fatalf("delete-vendor: %+v", r)
	}
	list, err := e.Backups.List(ctx, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	finals := 0
	for _, x := range list {
		if x.Kind == "final" && x.Slug == "bravo" && x.State == "completed" {
			finals++
		}
	}
	if finals != 1 {
		t.Errorf("%d final backups of bravo", finals)
	}
	if v, _ := e.Store.VendorByID(ctx, 2); v.State != platform.StateDeleting {
		t.Errorf("bravo is %s", v.State)
	}
}
