package provision_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/testenv"
)

var actor = platform.Actor{Kind: "cli", Name: "tester"}

func TestCreateVendor(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	v := e.CreateVendor(t, "acme", "Acme Tools")
	if v.State != platform.StateActive {
		t.Fatalf("state = %s, want active", v.State)
	}
	if v.SchemaVersion != migrate.Tenant.Head() {
		t.Errorf("schema version = %d, want head %d", v.SchemaVersion, migrate.Tenant.Head())
	}
	if v.Host != "acme.localhost" {
		t.Errorf("host = %q", v.Host)
	}
	// The vendor's role owns its database and every table in it.
	pool := e.VendorPool(t, v)
	var dbOwner, tableOwner string
	err := pool.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()`).Scan(&dbOwner)
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = 'products'`).Scan(&tableOwner); err != nil {
		t.Fatal(err)
	}
	if dbOwner != v.RoleName || tableOwner != v.RoleName {
		t.Errorf("owners: database %s, products %s; want %s", dbOwner, tableOwner, v.RoleName)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ('A1', 'Hammer', 1299)`); err != nil {
		t.Fatalf("vendor cannot write its own catalog: %v", err)
	}
	// Its role can change its own schema (later migrations run as it).
	if _, err := pool.Exec(ctx, `CREATE INDEX products_title_idx ON products (title); CREATE TABLE scratch (id int)`); err != nil {
		t.Fatalf("vendor role cannot change its own schema: %v", err)
	}
	// The owner's account is there, invited, with every permission.
	var status, role string
	if err := pool.QueryRow(ctx, `SELECT s.status, r.name FROM staff s JOIN staff_roles r ON r.id = s.role_id
		WHERE s.is_owner AND s.email = $1`, v.OwnerEmail).Scan(&status, &role); err != nil || status != "invited" || role != "Owner" {
		t.Errorf("owner account: %q %q %v", status, role, err)
	}
	// The history shows every step in order.
	evs, err := e.Store.VendorEvents(ctx, v.ID, 20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(evs) - 1; i >= 0; i-- {
		got = append(got, string(evs[i].State))
	}
	want := "requested database_ready bucket_ready schema_ready active"
	if strings.Join(got, " ") != want {
		t.Errorf("history = %v, want %s", got, want)
	}
	audit, err := e.Store.RecentAudit(ctx, platform.AuditFilter{Action: "vendor.create"})
	if err != nil || len(audit) != 1 || audit[0].Actor != "system:test" || audit[0].TargetID != fmt.Sprint(v.ID) {
		t.Errorf("audit = %+v, %v", audit, err)
	}
}

func TestVendorRolesAreIsolated(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	a := e.CreateVendor(t, "alpha", "Alpha")
	b := e.CreateVendor(t, "bravo", "Bravo")
	aURL, err := e.Prov.VendorDatabaseURL(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{b.DBName, "storefleet", "postgres", testenv.TenantTemplate(), e.Cfg.Prefix + "_cp"} {
		u, _ := url.Parse(aURL)
		u.Path = "/" + target
		conn, err := pgx.Connect(ctx, u.String())
		if err == nil {
			conn.Close(ctx)
			t.Errorf("vendor A's role connected to database %s", target)
			continue
		}
		if !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("connect to %s: want permission denied, got %v", target, err)
		}
	}
}

func TestVendorBucketsAreIsolated(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	a := e.CreateVendor(t, "alpha", "Alpha")
	b := e.CreateVendor(t, "bravo", "Bravo")
	ca, err := e.Objects.VendorClient(a.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := putObject(ctx, ca, a.Bucket, "hello.txt"); err != nil {
		t.Fatalf("vendor A cannot write its own bucket: %v", err)
	}
	if err := putObject(ctx, e.Objects.Client(), b.Bucket, "secret.txt"); err != nil {
		t.Fatal(err)
	}
	if err := putObject(ctx, ca, b.Bucket, "evil.txt"); err == nil {
		t.Error("vendor A wrote into vendor B's bucket")
	}
	if _, err := getObject(ctx, ca, b.Bucket, "secret.txt"); err == nil {
		t.Error("vendor A read vendor B's object")
	}
	if list, err := ca.ListBuckets(ctx); err == nil {
		for _, bi := range list {
			if bi.Name != a.Bucket {
				t.Errorf("vendor A sees bucket %s", bi.Name)
			}
		}
	}
}

func TestSlugValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		slug string
		ok   bool
	}{
		{"abc", true}, {"a-1-b", true}, {"shop42", true}, {strings.Repeat("a", 40), true},
		{"ab", false}, {strings.Repeat("a", 41), false}, {"Acme", false}, {"-acme", false}, {"acme-", false},
		{"ac--me", false}, {"ac_me", false}, {"ac.me", false}, {"acmé", false}, {"admin", false},
		{"www", false}, {"api", false}, {"", false}, {"a b c", false},
	}
	for _, c := range cases {
		t.Run(c.slug, func(t *testing.T) {
			err := provision.ValidateSlug(c.slug)
			if (err == nil) != c.ok {
				t.Errorf("ValidateSlug(%q) = %v, want ok=%v", c.slug, err, c.ok)
			}
		})
	}
}

func TestBadRequestCreatesNothing(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	for _, req := range []provision.CreateRequest{
		{Slug: "www", Name: "x", OwnerEmail: "a@b.example"},
		{Slug: "good-slug", Name: "", OwnerEmail: "a@b.example"},
		{Slug: "good-slug", Name: "x", OwnerEmail: "not an address"},
	} {
		_, err := e.Prov.CreateVendor(ctx, actor, req)
		var ve *provision.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%+v: want a validation error, got %v", req, err)
		}
	}
	assertVendorCount(t, e, 0)
}

func TestDuplicateSlug(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.CreateVendor(t, "acme", "Acme")
	_, err := e.Prov.CreateVendor(context.Background(), actor, provision.CreateRequest{Slug: "acme", Name: "Other", OwnerEmail: "o@x.example"})
	if !errors.Is(err, provision.ErrSlugTaken) {
		t.Fatalf("second create: %v, want ErrSlugTaken", err)
	}
	assertVendorCount(t, e, 1)
	assertNoOrphans(t, e)
}

func TestConcurrentCreatesOfOneSlug(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.Prov.CreateVendor(context.Background(), actor,
				provision.CreateRequest{Slug: "race", Name: fmt.Sprint("Racer ", i), OwnerEmail: "o@x.example"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, provision.ErrSlugTaken):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1", ok)
	}
	assertVendorCount(t, e, 1)
	assertNoOrphans(t, e)
}

func TestSuspendResumeDelete(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	v := e.CreateVendor(t, "acme", "Acme")
	if _, err := e.Prov.Resume(ctx, actor, "acme"); err == nil {
		t.Error("resuming an active vendor should fail")
	}
	s, err := e.Prov.Suspend(ctx, actor, "acme", "unpaid invoice")
	if err != nil || s.State != platform.StateSuspended || s.SuspendReason != "unpaid invoice" {
		t.Fatalf("suspend: %+v, %v", s, err)
	}
	r, err := e.Prov.Resume(ctx, actor, "acme")
	if err != nil || r.State != platform.StateActive {
		t.Fatalf("resume: %+v, %v", r, err)
	}
	d, err := e.Prov.DeleteVendor(ctx, actor, "acme", provision.DeleteOptions{})
	if err != nil || d.State != platform.StateDeleting || d.DeleteAfter == nil {
		t.Fatalf("delete: %+v, %v", d, err)
	}
	// Within the grace period the data stays.
	rep, err := e.Prov.Reconcile(ctx, false)
	if err != nil || len(rep.Purged) != 0 {
		t.Fatalf("reconcile within grace: %+v, %v", rep, err)
	}
	if !databaseExists(t, e, v.DBName) {
		t.Fatal("database dropped before the grace period ended")
	}
	d, err = e.Prov.DeleteVendor(ctx, actor, "acme", provision.DeleteOptions{Now: true})
	if err != nil || d.State != platform.StateDeleted {
		t.Fatalf("delete now: %+v, %v", d, err)
	}
	if databaseExists(t, e, v.DBName) {
		t.Error("database still exists after purge")
	}
	if ok, _ := e.Objects.BucketExists(ctx, v.Bucket); ok {
		t.Error("bucket still exists after purge")
	}
	// The slug is free again.
	e.CreateVendor(t, "acme", "Acme again")
	assertNoOrphans(t, e)
}

func TestReconcileRemovesOrphans(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	e.CreateVendor(t, "keeper", "Keeper")
	admin, err := database.Open(ctx, e.Vars["STOREFLEET_DB_SERVER_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	orphan := e.Prov.Names().Database(987654)
	for _, s := range []string{`CREATE ROLE ` + orphan, `CREATE DATABASE ` + orphan} {
		if _, err := admin.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Objects.EnsureBucket(ctx, e.Prov.Names().Bucket(987654)); err != nil {
		t.Fatal(err)
	}
	dry, err := e.Prov.Reconcile(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.OrphanDatabases) != 1 || len(dry.OrphanRoles) != 1 || len(dry.OrphanBuckets) != 1 {
		t.Fatalf("dry run found %+v", dry)
	}
	if !databaseExists(t, e, orphan) {
		t.Fatal("dry run removed something")
	}
	if _, err := e.Prov.Reconcile(ctx, false); err != nil {
		t.Fatal(err)
	}
	assertNoOrphans(t, e)
	if databaseExists(t, e, orphan) {
		t.Error("orphan database survived")
	}
	assertVendorCount(t, e, 1)
}

// TestCrashAfterEachStep kills a provisioning process with SIGKILL after
// every step and checks that reconcile finishes the vendor, leaves nothing
// orphaned, and that the vendor was not routable while half-made.
func TestCrashAfterEachStep(t *testing.T) {
	if os.Getenv("PROVISION_CRASH_CHILD") != "" {
		return // the child is run by crashChild below
	}
	t.Parallel()
	steps := []string{"requested", "role", "database", "database_ready", "bucket_ready", "schema_ready"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			t.Parallel()
			e := testenv.New(t)
			ctx := context.Background()
			runCrashChild(t, e, step)
			v, err := e.Store.VendorBySlug(ctx, "crashy")
			if err != nil {
				t.Fatalf("vendor row missing after crash at %s: %v", step, err)
			}
			if v.State == platform.StateActive && step != "schema_ready" {
				t.Fatalf("vendor active after a crash at %s", step)
			}
			if v.State != platform.StateActive && routable(t, e, v.Host) {
				t.Fatalf("half-made vendor (state %s) is routable", v.State)
			}
			rep, err := e.Prov.Reconcile(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Errors) > 0 {
				t.Fatalf("reconcile errors: %v", rep.Errors)
			}
			v, err = e.Store.VendorBySlug(ctx, "crashy")
			if err != nil || v.State != platform.StateActive {
				t.Fatalf("after reconcile: %+v, %v", v, err)
			}
			if !routable(t, e, v.Host) {
				t.Fatal("finished vendor is not routable")
			}
			e.VendorPool(t, v) // its role logs in
			assertNoOrphans(t, e)
			assertVendorCount(t, e, 1)
		})
	}
}

func runCrashChild(t *testing.T, e *testenv.Env, step string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PROVISION_CRASH_CHILD="+step)
	for k, v := range e.Vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed at step %s: %v\n%s", step, err, out)
	}
}

// TestCrashChild is the provisioning process that kills itself.
func TestCrashChild(t *testing.T) {
	step := os.Getenv("PROVISION_CRASH_CHILD")
	if step == "" {
		return // only meaningful as the child of TestCrashAfterEachStep
	}
	e := testenv.Attach(t, step)
	_, err := e.Prov.CreateVendor(context.Background(), actor,
		provision.CreateRequest{Slug: "crashy", Name: "Crashy", OwnerEmail: "o@x.example"})
	t.Fatalf("CreateVendor returned (%v) instead of crashing after %s", err, step)
}

func routable(t *testing.T, e *testenv.Env, host string) bool {
	t.Helper()
	var state string
	err := e.CP.QueryRow(context.Background(), `SELECT state FROM routing_entries WHERE host = $1`, host).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return state == string(platform.StateActive)
}

func assertVendorCount(t *testing.T, e *testenv.Env, want int) {
	t.Helper()
	vs, err := e.Store.ListVendors(context.Background(), platform.VendorFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != want {
		t.Fatalf("%d live vendors, want %d", len(vs), want)
	}
}

func assertNoOrphans(t *testing.T, e *testenv.Env) {
	t.Helper()
	rep, err := e.Prov.Reconcile(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.OrphanDatabases)+len(rep.OrphanRoles)+len(rep.OrphanBuckets)+len(rep.Unfinished)+len(rep.Errors) > 0 {
		t.Fatalf("reconcile found leftovers: %+v", rep)
	}
}

func databaseExists(t *testing.T, e *testenv.Env, name string) bool {
	t.Helper()
	var ok bool
	err := e.CP.QueryRow(context.Background(), `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, name).Scan(&ok)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestReconcileLiftsReadOnlyLeftByADeadMove(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	v := e.CreateVendor(t, "acme", "Acme")
	// What a move that died after switching read-only on leaves behind.
	if _, err := e.CP.Exec(ctx, `UPDATE vendors SET read_only = true, read_only_reason = 'moving' WHERE id = $1`, v.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Prov.AdminExec(ctx, v.ServerID, `ALTER DATABASE `+v.DBName+` SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	rep, err := e.Prov.Reconcile(ctx, false)
	if err != nil || len(rep.ReadOnlyLifted) != 1 || len(rep.Errors) != 0 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	if _, err := e.VendorPool(t, v).Exec(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ('W', 'Writable', 1)`); err != nil {
		t.Fatalf("the vendor is still read-only: %v", err)
	}
	if after, _ := e.Store.VendorByID(ctx, v.ID); after.State != platform.StateActive {
		t.Errorf("state %s", after.State)
	}
}

// More vendors created at once than the control plane's pool has
// connections: each holds its vendor's lock while it works, and none may
// wait forever for a connection the others hold (the lock's connection
// comes from a pool of its own).
func TestMoreCreatesAtOnceThanConnections(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	n := 2 * int(e.CP.Config().MaxConns)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Prov.CreateVendor(ctx, actor, provision.CreateRequest{Slug: fmt.Sprintf("many%d", i),
				Name: fmt.Sprint("Many ", i), OwnerEmail: "o@x.example"}); err != nil {
				t.Errorf("create %d of %d: %v", i, n, err)
			}
		}()
	}
	wg.Wait()
	assertVendorCount(t, e, n)
	assertNoOrphans(t, e)
}

// A vendor held for long (a restore, a move) and many callers waiting for
// it: other vendors' work goes on, because waiting for a vendor holds no
// connection.
func TestWaitersForOneVendorDoNotStallOthers(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	held := e.CreateVendor(t, "held", "Held")
	hold, done := make(chan struct{}), make(chan struct{})
	go func() {
		_ = e.Prov.WithVendorLock(context.Background(), held.ID, func() error {
			close(hold)
			<-done
			return nil
		})
	}()
	<-hold
	waitCtx, stopWaiting := context.WithCancel(context.Background())
	var waiters sync.WaitGroup
	for range 20 { // more than the lock pool has connections
		waiters.Add(1)
		go func() {
			defer waiters.Done()
			_ = e.Prov.WithVendorLock(waitCtx, held.ID, func() error { return nil })
		}()
	}
	time.Sleep(200 * time.Millisecond) // the waiters are waiting
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := e.Prov.CreateVendor(ctx, actor, provision.CreateRequest{Slug: "other", Name: "Other", OwnerEmail: "o@x.example"}); err != nil {
		t.Errorf("another vendor, while 20 callers wait for a held one: %v", err)
	}
	stopWaiting()
	close(done)
	waiters.Wait()
}
