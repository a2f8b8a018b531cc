package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/storage"
	"github.com/storefleet/storefleet/internal/testenv"
)

var actor = platform.Actor{Kind: "cli", Name: "tester"}

// shop makes a vendor with n products and one file in its bucket.
func shop(t *testing.T, e *testenv.Env, slug string, n int) *platform.Vendor {
	t.Helper()
	ctx := context.Background()
	v := e.CreateVendor(t, slug, strings.ToUpper(slug[:1])+slug[1:])
	if _, err := e.VendorPool(t, v).Exec(ctx, `INSERT INTO products (sku, title, price_minor, state)
		SELECT $1 || '-' || g, 'Product ' || g, 100 * g, 'active' FROM generate_series(1, $2) g`, slug, n); err != nil {
		t.Fatal(err)
	}
	body := "logo of " + slug
	if _, err := e.Objects.Client().PutObject(ctx, v.Bucket, "media/logo.txt", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	return v
}

func count(t *testing.T, e *testenv.Env, slug string) int {
	t.Helper()
	v, err := e.Store.VendorBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.VendorPool(t, v).QueryRow(context.Background(), `SELECT count(*) FROM products`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	v := shop(t, e, "acme", 50)
	b, err := e.Backups.Run(ctx, actor, "acme", "manual")
	if err != nil {
		t.Fatal(err)
	}
	if b.State != "completed" || *b.DumpSize == 0 || len(*b.DumpSHA256) != 64 || b.RowCounts["products"] != 50 ||
		*b.ObjectsCount != 1 || *b.SchemaVersion == 0 {
		t.Fatalf("backup: %+v", b)
	}
	// Damage the live data, then restore.
	if _, err := e.VendorPool(t, v).Exec(ctx, `DELETE FROM products WHERE price_minor > 1000`); err != nil {
		t.Fatal(err)
	}
	if err := e.Objects.Client().RemoveObject(ctx, v.Bucket, "media/logo.txt", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := e.Backups.Restore(ctx, actor, "acme", backup.RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.BackupID != b.ID || res.Replaced != v.DBName || res.Database == v.DBName {
		t.Fatalf("restore: %+v", res)
	}
	if n := count(t, e, "acme"); n != 50 {
		t.Errorf("%d products after the restore, want 50", n)
	}
	after, _ := e.Store.VendorBySlug(ctx, "acme")
	if after.DBName != res.Database {
		t.Errorf("routing still points at %s", after.DBName)
	}
	if _, err := e.Objects.Client().StatObject(ctx, v.Bucket, "media/logo.txt", minio.StatObjectOptions{}); err != nil {
		t.Errorf("the file did not come back: %v", err)
	}
	// The restored database belongs to the vendor's role, like the first.
	var owner string
	if err := e.VendorPool(t, after).QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = 'products'`).Scan(&owner); err != nil || owner != v.RoleName {
		t.Errorf("products owned by %q (%v)", owner, err)
	}
	// The replaced database takes no more connections: nothing can be
	// written there by a pool that has not heard of the switch.
	oldURL, _ := e.Prov.VendorDatabaseURL(ctx, v)
	if conn, err := pgx.Connect(ctx, oldURL); err == nil {
		conn.Close(ctx)
		t.Error("the replaced database still takes connections")
	}
	// The old database is kept for the grace period, then reconcile drops it.
	rep, err := e.Prov.Reconcile(ctx, true)
	if err != nil || len(rep.DroppedCopies) != 0 || len(rep.OrphanDatabases) != 0 || len(rep.OrphanRoles) != 0 {
		t.Fatalf("reconcile within grace: %+v %v", rep, err)
	}
	if _, err := e.CP.Exec(ctx, `UPDATE vendor_databases SET drop_after = now() WHERE status = 'retired'`); err != nil {
		t.Fatal(err)
	}
	if rep, err = e.Prov.Reconcile(ctx, false); err != nil || len(rep.DroppedCopies) != 1 || len(rep.Errors) != 0 {
		t.Fatalf("reconcile after grace: %+v %v", rep, err)
	}
	// Verification passes and is recorded.
	vr, err := e.Backups.Verify(ctx, actor, b.ID)
	if err != nil || !vr.OK || vr.Rows < 50 {
		t.Fatalf("verify: %+v %v", vr, err)
	}
	if got, _ := e.Backups.Get(ctx, b.ID); got.VerifyState != "ok" {
		t.Errorf("verify state %q", got.VerifyState)
	}
	// Deleting the vendor now removes every copy and the role.
	if _, err := e.Prov.DeleteVendor(ctx, actor, "acme", provision.DeleteOptions{Now: true}); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.Prov.Reconcile(ctx, true); err != nil || !rep.Clean() {
		t.Errorf("leftovers after delete: %+v %v", rep, err)
	}
}

func TestCorruptBackupIsRefused(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	v := shop(t, e, "acme", 20)
	b, err := e.Backups.Run(ctx, actor, "acme", "manual")
	if err != nil {
		t.Fatal(err)
	}
	// Flip bytes in the middle of the stored dump.
	obj, err := e.Objects.Client().GetObject(ctx, b.Bucket, b.Prefix+"db.dump", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i := len(data) / 2; i < len(data)/2+16; i++ {
		data[i] ^= 0xff
	}
	if _, err := e.Objects.Client().PutObject(ctx, b.Bucket, b.Prefix+"db.dump", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.Backups.Restore(ctx, actor, "acme", backup.RestoreOptions{BackupID: b.ID})
	if !errors.Is(err, backup.ErrCorrupt) {
		t.Fatalf("restore of a damaged backup: %v, want ErrCorrupt", err)
	}
	now, _ := e.Store.VendorBySlug(ctx, "acme")
	if now.DBName != v.DBName || count(t, e, "acme") != 20 {
		t.Fatalf("the live vendor changed: %s", now.DBName)
	}
	vr, err := e.Backups.Verify(ctx, actor, b.ID)
	if err != nil || vr.OK || !strings.Contains(vr.Error, "damaged") {
		t.Fatalf("verify of a damaged backup: %+v %v", vr, err)
	}
	var alerts int
	_ = e.CP.QueryRow(ctx, `SELECT count(*) FROM platform_alerts WHERE kind = 'verify.failed'`).Scan(&alerts)
	if alerts != 1 {
		t.Errorf("%d verify alerts, want 1", alerts)
	}
	if rep, err := e.Prov.Reconcile(ctx, true); err != nil || len(rep.OrphanDatabases)+len(rep.DroppedCopies) != 0 {
		t.Errorf("a refused restore left something behind: %+v %v", rep, err)
	}
}

func TestRestoreOfAnotherVendorsBackupIsRefused(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	shop(t, e, "alpha", 5)
	bravo := shop(t, e, "bravo", 7)
	b, err := e.Backups.Run(ctx, actor, "alpha", "manual")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Backups.Restore(ctx, actor, "bravo", backup.RestoreOptions{BackupID: b.ID})
	if !errors.Is(err, backup.ErrWrongVendor) {
		t.Fatalf("restore into another vendor: %v", err)
	}
	if now, _ := e.Store.VendorBySlug(ctx, "bravo"); now.DBName != bravo.DBName || count(t, e, "bravo") != 7 {
		t.Fatal("bravo changed")
	}
	// As a separate vendor, it is allowed.
	res, err := e.Backups.Restore(ctx, actor, "alpha", backup.RestoreOptions{BackupID: b.ID, As: "alpha-sandbox"})
	if err != nil || res.Vendor != "alpha-sandbox" {
		t.Fatalf("restore --as: %+v %v", res, err)
	}
	if count(t, e, "alpha-sandbox") != 5 || count(t, e, "alpha") != 5 {
		t.Error("sandbox or original has the wrong data")
	}
}

func TestBackupWithObjectStoreDown(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	shop(t, e, "acme", 5)
	dead, err := storage.NewAdmin(storage.Config{Endpoint: "127.0.0.1:1", AccessKey: "x", SecretKey: "y", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	svc := *e.Backups
	svc.Objects = dead
	_, err = svc.Run(ctx, actor, "acme", "manual")
	if err == nil {
		t.Fatal("backup succeeded with the object store down")
	}
	list, err := e.Backups.List(ctx, 0, 10)
	if err != nil || len(list) != 1 || list[0].State != "failed" || list[0].Error == "" {
		t.Fatalf("catalogue: %+v %v", list, err)
	}
	if _, err := e.Backups.Latest(ctx, list[0].VendorID); !errors.Is(err, platform.ErrNotFound) {
		t.Errorf("a failed backup is offered for restores: %v", err)
	}
	var alerts int
	_ = e.CP.QueryRow(ctx, `SELECT count(*) FROM platform_alerts WHERE kind = 'backup.failed' AND severity = 'critical'`).Scan(&alerts)
	if alerts != 1 {
		t.Errorf("%d backup alerts, want 1", alerts)
	}
}

// TestKilledRestoreLeavesTheLiveVendorServing kills a restore with SIGKILL
// after the copy is made and before routing flips.
func TestKilledRestoreLeavesTheLiveVendorServing(t *testing.T) {
	if os.Getenv("RESTORE_CHILD") != "" {
		return
	}
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	v := shop(t, e, "acme", 30)
	b, err := e.Backups.Run(ctx, actor, "acme", "manual")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.VendorPool(t, v).Exec(ctx, `DELETE FROM products WHERE price_minor > 1000`); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRestoreChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RESTORE_CHILD="+fmt.Sprint(b.ID))
	for k, val := range e.Vars {
		cmd.Env = append(cmd.Env, k+"="+val)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the restore was not killed: %v\n%s", err, out)
	}
	now, _ := e.Store.VendorBySlug(ctx, "acme")
	if now.DBName != v.DBName || count(t, e, "acme") != 10 {
		t.Fatalf("the live vendor changed after a killed restore: %s", now.DBName)
	}
	res, err := e.Backups.Restore(ctx, actor, "acme", backup.RestoreOptions{BackupID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if count(t, e, "acme") != 30 {
		t.Error("re-running the restore did not finish it")
	}
	var preparing int
	_ = e.CP.QueryRow(ctx, `SELECT count(*) FROM vendor_databases WHERE status = 'preparing'`).Scan(&preparing)
	if preparing != 0 {
		t.Errorf("%d copies left preparing after %+v", preparing, res)
	}
}

func TestRestoreChild(t *testing.T) {
	id := os.Getenv("RESTORE_CHILD")
	if id == "" {
		return // only meaningful as the child of the test above
	}
	e := testenv.Attach(t, "restored")
	var bid int64
	fmt.Sscan(id, &bid)
	_, err := e.Backups.Restore(context.Background(), actor, "acme", backup.RestoreOptions{BackupID: bid})
	t.Fatalf("the restore returned (%v) instead of being killed", err)
}

// TestMoveBetweenServersUnderWrites moves a vendor to a second PostgreSQL
// server while a writer keeps inserting: no acknowledged write is lost,
// and after the flip the old copy accepts nothing.
func TestMoveBetweenServersUnderWrites(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	v := shop(t, e, "acme", 200)
	second := e.AddSecondServer(t)
	if _, err := e.CP.Exec(ctx, `UPDATE db_servers SET state = 'draining' WHERE id = $1`, second.ID); err != nil {
		t.Fatal(err)
	}

	var acked sync.Map
	var attempts, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a writer that looks up where the vendor lives, like the tenant app
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			attempts.Add(1)
			cur, err := e.Store.VendorBySlug(ctx, "acme")
			if err != nil {
				continue
			}
			u, err := e.Prov.VendorDatabaseURL(ctx, cur)
			if err != nil {
				continue
			}
			conn, err := pgx.Connect(ctx, u)
			if err != nil {
				refused.Add(1)
				continue
			}
			sku := fmt.Sprintf("LIVE-%d", i)
			_, err = conn.Exec(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ($1, 'Written during the move', 1)`, sku)
			conn.Close(ctx)
			if err != nil {
				refused.Add(1)
				continue
			}
			acked.Store(sku, true)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	res, err := e.Backups.Move(ctx, actor, "acme", "second")
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	moved, _ := e.Store.VendorBySlug(ctx, "acme")
	if moved.ServerName != "second" || moved.DBName != res.Database || moved.DBName == v.DBName {
		t.Fatalf("after the move: %+v / %+v", moved, res)
	}
	// Every acknowledged write is in the new copy.
	rows, err := e.VendorPool(t, moved).Query(ctx, `SELECT sku FROM products WHERE sku LIKE 'LIVE-%'`)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	skus, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, s := range skus {
		have[s] = true
	}
	lost := 0
	ackedN := 0
	acked.Range(func(k, _ any) bool {
		ackedN++
		if !have[k.(string)] {
			lost++
		}
		return true
	})
	if lost > 0 || ackedN == 0 {
		t.Fatalf("%d of %d acknowledged writes lost (%d attempts, %d refused)", lost, ackedN, attempts.Load(), refused.Load())
	}
	// The old copy accepts nothing any more.
	oldURL, _ := e.Prov.VendorDatabaseURL(ctx, v)
	if conn, err := pgx.Connect(ctx, oldURL); err == nil {
		_, werr := conn.Exec(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ('LATE', 'x', 1)`)
		conn.Close(ctx)
		if werr == nil {
			t.Fatal("the old copy accepted a write after the flip")
		}
	}
	if moved.SchemaVersion != v.SchemaVersion {
		t.Errorf("schema version %d after the move, want %d", moved.SchemaVersion, v.SchemaVersion)
	}
	t.Logf("writes refused for %s; %d acknowledged, %d refused of %d attempts", res.WritesRefused, ackedN, refused.Load(), attempts.Load())
	if rep, err := e.Prov.Reconcile(ctx, true); err != nil || len(rep.OrphanDatabases)+len(rep.OrphanRoles) != 0 {
		t.Errorf("orphans after the move: %+v %v", rep, err)
	}
}

func TestBackupAllInParallel(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	for i := range 4 {
		shop(t, e, fmt.Sprintf("shop-%d", i), 3)
	}
	res, err := e.Backups.BackupAll(context.Background(), actor, "scheduled", 2)
	if err != nil || len(res) != 4 {
		t.Fatalf("%+v %v", res, err)
	}
	for _, r := range res {
		if r.Error != "" || r.BackupID == 0 {
			t.Errorf("%+v", r)
		}
	}
}

func TestRetentionKeepsDailyAndWeekly(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	shop(t, e, "acme", 2)
	var ids []int64
	for range 6 {
		b, err := e.Backups.Run(ctx, actor, "acme", "scheduled")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}
	// Spread them over the last weeks: 0, 1, 2, 9, 16 and 30 days ago.
	for i, days := range []int{30, 16, 9, 2, 1, 0} {
		if _, err := e.CP.Exec(ctx, `UPDATE backups SET started_at = now() - make_interval(days => $2) WHERE id = $1`, ids[i], days); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.Backups.ApplyRetention(ctx, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: today and yesterday (daily 2), and the newest of each of two
	// weeks, which are those two already when today is a Monday; the
	// month-old one goes in any case.
	if len(res.Expired) == 0 || res.Kept < 2 || res.Kept+len(res.Expired) != 6 || !slices.Contains(res.Expired, ids[0]) ||
		slices.Contains(res.Expired, ids[4]) || slices.Contains(res.Expired, ids[5]) {
		t.Fatalf("retention: %+v", res)
	}
	if wd := time.Now().UTC().Weekday(); wd != time.Monday && res.Kept < 3 {
		t.Fatalf("retention on a %s: %+v", wd, res)
	}
	for _, id := range res.Expired {
		b, _ := e.Backups.Get(ctx, id)
		if b.ExpiredAt == nil {
			t.Errorf("backup %d not marked expired", id)
		}
		objs := e.Objects.Client().ListObjects(ctx, b.Bucket, minio.ListObjectsOptions{Prefix: b.Prefix, Recursive: true})
		for o := range objs {
			t.Errorf("expired backup %d still has %s", id, o.Key)
		}
	}
	newest, err := e.Backups.Latest(ctx, shopID(t, e, "acme"))
	if err != nil || newest.ID != ids[5] {
		t.Errorf("the newest backup must stay: %+v %v", newest, err)
	}
}

func shopID(t *testing.T, e *testenv.Env, slug string) int64 {
	v, err := e.Store.VendorBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}
