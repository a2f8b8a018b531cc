package attack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/internal/testenv/attack"
)

// fakeT records what the ledger reports instead of failing the test.
type fakeT struct {
	errors, logs []string
	cleanups     []func()
}

func (f *fakeT) Helper()      {}
func (f *fakeT) Name() string { return "fake" }
func (f *fakeT) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}
func (f *fakeT) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeT) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeT) end() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// The ledger must see a write in a watched table or bucket, an attempt
// that was not refused, and a suite that made too few attempts; and it
// totals what it saw in the log and the JSON line.
func TestLedgerCatchesLeaks(t *testing.T) {
	// Not parallel: t.Setenv.
	e := testenv.New(t)
	v, pool := e.TenantDB(t)
	objects, err := e.Objects.VendorClient(v.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "attacks.jsonl")
	t.Setenv(attack.OutEnv, out)

	f := &fakeT{}
	l := attack.New(f, "self-test")
	l.Watch(attack.Database("database of "+v.Slug, pool), attack.Bucket("bucket of "+v.Slug, objects, v.Bucket))
	l.AtLeast(10)

	l.Try("reads", "a refused read", func() error { return nil })
	l.Try("reads", "an answer that got through", func() error { return errors.New("status 200 with the other shop's order") })
	l.Try("writes", "a write in a table", func() error {
		_, err := pool.Exec(ctx, `INSERT INTO customers (email, name, password_hash) VALUES ('x@y.example', 'X', 'x')`)
		return err
	})
	l.Quietly("a batch", func() {
		l.Try("writes", "quiet one", func() error { return nil })
		l.Try("writes", "an object in the bucket", func() error {
			_, err := objects.PutObject(ctx, v.Bucket, "leaked.txt", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
			return err
		})
	})
	l.Check("links", "a link on the wrong host", errors.New("http://evil.example/reset"))
	f.end()

	if len(f.errors) != 5 {
		t.Fatalf("want 5 errors (4 leaks and too few attempts), got %d:\n%s", len(f.errors), strings.Join(f.errors, "\n"))
	}
	for i, want := range []string{"the other shop's order", "table customers", "object leaked.txt", "evil.example", "only 6 attempts"} {
		if !strings.Contains(f.errors[i], want) {
			t.Errorf("error %d does not say %q: %s", i, want, f.errors[i])
		}
	}
	if len(f.logs) == 0 || !strings.Contains(f.logs[0], "isolation: 6 attempts in 3 categories, 4 leaks") {
		t.Errorf("summary log: %q", f.logs)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var s attack.Summary
	if err := json.Unmarshal(bytes.TrimSpace(raw), &s); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if s.Suite != "self-test" || s.Attempts != 6 || s.Leaks != 4 || s.Categories["writes"] != 3 {
		t.Errorf("JSON line: %s", raw)
	}
}
