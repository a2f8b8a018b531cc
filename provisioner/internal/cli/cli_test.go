package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "provisioner-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "provisioner")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/storefleet/storefleet/provisioner").CombinedOutput()
	if err != nil {
		panic("build provisioner: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
	signal         syscall.Signal
}

func run(t *testing.T, e *testenv.Env, extraEnv []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = t.TempDir() // no .env here: settings come from the environment
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if e != nil {
		for k, v := range e.Vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal()
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHelpEverywhere(t *testing.T) {
	t.Parallel()
	r := run(t, nil, nil, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "create-vendor") {
		t.Fatalf("--help: %+v", r)
	}
	for _, cmd := range []string{"init", "create-vendor", "list", "show", "suspend", "resume", "delete-vendor", "reconcile", "create-admin", "seed-demo", "migrate-controlplane"} {
		r := run(t, nil, nil, cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "usage: provisioner "+cmd) || !strings.Contains(r.stdout, "-json") {
			t.Errorf("%s --help: %+v", cmd, r)
		}
	}
	if r := run(t, nil, nil, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, "fix:") {
		t.Errorf("unknown command: %+v", r)
	}
	if r := run(t, nil, nil, "create-vendor", "--slug", "x"); r.code != 2 || !strings.Contains(r.stderr, "fix:") {
		t.Errorf("missing flags: %+v", r)
	}
}

func TestMissingSettingsSayWhatToDo(t *testing.T) {
	t.Parallel()
	r := run(t, nil, nil, "list")
	if r.code != 1 || !strings.Contains(r.stderr, "make run") {
		t.Fatalf("list without settings: %+v", r)
	}
}

func TestVendorCommands(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	r := run(t, e, nil, "create-vendor", "--slug", "acme", "--name", "Acme Tools", "--owner-email", "o@acme.example", "--json")
	if r.code != 0 {
		t.Fatalf("create-vendor: %+v", r)
	}
	var v platform.Vendor
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.State != platform.StateActive || v.Slug != "acme" {
		t.Fatalf("create-vendor JSON: %v %+v", err, v)
	}
	r = run(t, e, nil, "create-vendor", "--slug", "acme", "--name", "Again", "--owner-email", "o@acme.example")
	if r.code != 1 || !strings.Contains(r.stderr, "already taken") || !strings.Contains(r.stderr, "fix: pick another --slug") {
		t.Errorf("duplicate: %+v", r)
	}
	r = run(t, e, nil, "create-vendor", "--slug", "Bad_Slug", "--name", "Bad", "--owner-email", "o@acme.example")
	if r.code != 1 || !strings.Contains(r.stderr, "fix: correct --slug") {
		t.Errorf("bad slug: %+v", r)
	}
	r = run(t, e, nil, "list", "--json")
	var list []platform.Vendor
	if err := json.Unmarshal([]byte(r.stdout), &list); r.code != 0 || err != nil || len(list) != 1 {
		t.Fatalf("list: %+v %v", r, err)
	}
	if r := run(t, e, nil, "list"); r.code != 0 || !strings.Contains(r.stdout, "acme.localhost") {
		t.Errorf("list table: %+v", r)
	}
	if r := run(t, e, nil, "show", "--slug", "acme"); r.code != 0 || !strings.Contains(r.stdout, "HISTORY") || !strings.Contains(r.stdout, "schema_ready") {
		t.Errorf("show: %+v", r)
	}
	if r := run(t, e, nil, "show", "--slug", "nope"); r.code != 1 || !strings.Contains(r.stderr, "provisioner list") {
		t.Errorf("show unknown: %+v", r)
	}
	if r := run(t, e, nil, "suspend", "--slug", "acme", "--reason", "test"); r.code != 0 || !strings.Contains(r.stdout, "Suspended") {
		t.Errorf("suspend: %+v", r)
	}
	if r := run(t, e, nil, "suspend", "--slug", "acme"); r.code != 1 || !strings.Contains(r.stderr, "cannot suspend") {
		t.Errorf("suspend twice: %+v", r)
	}
	if r := run(t, e, nil, "resume", "--slug", "acme"); r.code != 0 {
		t.Errorf("resume: %+v", r)
	}
	if r := run(t, e, nil, "delete-vendor", "--slug", "acme", "--now"); r.code != 2 || !strings.Contains(r.stderr, "--confirm acme") {
		t.Errorf("delete --now without confirm: %+v", r)
	}
	if r := run(t, e, nil, "delete-vendor", "--slug", "acme", "--now", "--confirm", "acme"); r.code != 0 || !strings.Contains(r.stdout, "deleted") {
		t.Errorf("delete: %+v", r)
	}
	if r := run(t, e, nil, "reconcile", "--dry-run"); r.code != 0 || !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("reconcile: %+v", r)
	}
	audit, err := e.Store.RecentAudit(context.Background(), platform.AuditFilter{TargetType: "vendor"})
	if err != nil {
		t.Fatal(err)
	}
	byCLI := map[string]bool{}
	for _, a := range audit {
		if strings.HasPrefix(a.Actor, "cli:") {
			byCLI[a.Action] = true
		}
	}
	for _, action := range []string{"vendor.create", "vendor.suspend", "vendor.resume", "vendor.delete"} {
		if !byCLI[action] {
			t.Errorf("no audit row for %s by the CLI: %+v", action, audit)
		}
	}
}

// TestKilledCreateIsFinishedByReconcile kills the real binary with SIGKILL
// after the database is cloned, then lets `reconcile` finish the vendor.
func TestKilledCreateIsFinishedByReconcile(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	for _, step := range []string{"database", "bucket_ready"} {
		slug := "crash-" + strings.ReplaceAll(step, "_", "-")
		r := run(t, e, []string{"STOREFLEET_FAULT_CRASH_AFTER=" + step}, "create-vendor", "--slug", slug, "--name", "C", "--owner-email", "o@c.example")
		if r.signal != syscall.SIGKILL {
			t.Fatalf("create-vendor was not killed after %s: %+v", step, r)
		}
	}
	r := run(t, e, nil, "reconcile", "--dry-run", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, "crash-database") {
		t.Fatalf("dry run does not list the unfinished vendors: %+v", r)
	}
	if r := run(t, e, nil, "reconcile"); r.code != 0 || !strings.Contains(r.stdout, "fixed unfinished vendors") {
		t.Fatalf("reconcile: %+v", r)
	}
	for _, slug := range []string{"crash-database", "crash-bucket-ready"} {
		v, err := e.Store.VendorBySlug(context.Background(), slug)
		if err != nil || v.State != platform.StateActive {
			t.Errorf("%s after reconcile: %+v %v", slug, v, err)
		}
	}
	if r := run(t, e, nil, "reconcile"); r.code != 0 || !strings.Contains(r.stdout, "nothing to do") {
		t.Errorf("second reconcile: %+v", r)
	}
}
