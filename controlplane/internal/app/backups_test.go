package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/controlplane/internal/backups"
	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/storage"
)

// shop makes a vendor with n products (priced 1.00 to n.00) and one file
// in its bucket.
func (c *cp) shop(slug string, n int) *platform.Vendor {
	c.t.Helper()
	ctx := context.Background()
	v := c.CreateVendor(c.t, slug, strings.ToUpper(slug[:1])+slug[1:])
	if _, err := c.VendorPool(c.t, v).Exec(ctx, `INSERT INTO products (sku, title, price_minor, state)
		SELECT $1 || '-' || g, 'Product ' || g, 100 * g, 'active' FROM generate_series(1, $2) g`, slug, n); err != nil {
		c.t.Fatal(err)
	}
	body := "logo of " + slug
	if _, err := c.Objects.Client().PutObject(ctx, v.Bucket, "media/logo.txt", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		c.t.Fatal(err)
	}
	return v
}

// products counts a vendor's products in its current database.
func (c *cp) products(slug string) int {
	c.t.Helper()
	v := c.vendor(slug)
	var n int
	if err := c.VendorPool(c.t, v).QueryRow(context.Background(), `SELECT count(*) FROM products`).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// vendor reads a vendor as the control plane records it now.
func (c *cp) vendor(slug string) *platform.Vendor {
	c.t.Helper()
	v, err := c.Store.VendorBySlug(context.Background(), slug)
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

// corrupt flips bytes in the middle of a backup's stored dump, as a
// damaged disk would; its size stays the same.
func (c *cp) corrupt(b *backup.Backup) {
	c.t.Helper()
	ctx := context.Background()
	obj, err := c.Objects.Client().GetObject(ctx, b.Bucket, b.Prefix+"db.dump", minio.GetObjectOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	data, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	for i := len(data) / 2; i < len(data)/2+16; i++ {
		data[i] ^= 0xff
	}
	if _, err := c.Objects.Client().PutObject(ctx, b.Bucket, b.Prefix+"db.dump", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// operation is an operation as the console's progress JSON and the API
// show it.
type operation struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Vendor      string          `json:"vendor"`
	Title       string          `json:"title"`
	State       string          `json:"state"`
	Message     string          `json:"message"`
	Error       string          `json:"error"`
	ErrorStatus int             `json:"error_status"`
	Result      json.RawMessage `json:"result"`
	URL         string          `json:"url"`
}

// pollUntilEnded calls get until the operation it returns is not running,
// for up to two minutes.
func pollUntilEnded(t *testing.T, what string, get func() *operation) *operation {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		op := get()
		if op == nil || op.State != "running" {
			return op
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still running after two minutes: %+v", what, op)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitVendorOp follows a vendor's newest operation through the console's
// progress JSON until it ends.
func (b *browser) waitVendorOp(slug string) *operation {
	b.t.Helper()
	op := pollUntilEnded(b.t, "operation of "+slug, func() *operation {
		p := b.get("/admin/vendors/" + slug + "/operation")
		wantStatus(b.t, "operation progress", p, http.StatusOK)
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "application/json") {
			b.t.Fatalf("operation progress: content type %q", p.Header.Get("Content-Type"))
		}
		return decode[struct{ Operation *operation }](b.t, p).Operation
	})
	if op == nil {
		b.t.Fatalf("vendor %s has no operation", slug)
	}
	return op
}

// waitOp follows an operation through the API until it ends.
func (a *apiClient) waitOp(id int64) *operation {
	a.t.Helper()
	return pollUntilEnded(a.t, fmt.Sprintf("operation %d", id), func() *operation {
		p := a.do(http.MethodGet, fmt.Sprintf("/api/v1/operations/%d", id), nil)
		wantStatus(a.t, "GET operation", p, http.StatusOK)
		return decode[struct{ Operation *operation }](a.t, p).Operation
	})
}

// started reads the operation of a 202 answer and checks its Location.
func started(t *testing.T, what string, p page) *operation {
	t.Helper()
	wantStatus(t, what, p, http.StatusAccepted)
	op := decode[struct{ Operation *operation }](t, p).Operation
	if op == nil || op.ID == 0 || op.State != "running" || p.Location != fmt.Sprintf("/api/v1/operations/%d", op.ID) || op.URL != p.Location {
		t.Fatalf("%s: operation %+v, Location %q", what, op, p.Location)
	}
	return op
}

var flashOK = regexp.MustCompile(`<div class="flash ok" role="status">([^<]*)</div>`)
var flashError = regexp.MustCompile(`<div class="flash error" role="alert">([^<]*)</div>`)

// flashes returns a page's flash messages of one kind, unescaped.
func flashes(re *regexp.Regexp, body string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// wantFlash checks that a page shows one flash message of a kind, holding
// every sub-string, and returns it.
func wantFlash(t *testing.T, what string, re *regexp.Regexp, body string, subs ...string) string {
	t.Helper()
	got := flashes(re, body)
	if len(got) != 1 {
		t.Fatalf("%s: flash messages %q, want one", what, got)
	}
	for _, s := range subs {
		if !strings.Contains(got[0], s) {
			t.Errorf("%s: flash %q does not say %q", what, got[0], s)
		}
	}
	return got[0]
}

// TestConsoleBackupVerifyRestore backs a vendor up, verifies the backup
// and restores it through the console, as an admin would.
func TestConsoleBackupVerifyRestore(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	v := c.shop("acme", 40)
	b := c.browser()
	b.mustLogin()

	p := b.get("/admin/vendors/acme")
	wantStatus(t, "vendor page", p, http.StatusOK)
	wantContains(t, "vendor page before any backup", p.Body, `id="backups"`, "No backups yet.", "Back up now",
		`action="/admin/vendors/acme/backups"`, "There is no completed backup to restore yet.",
		"There is no other active database server to move to.")

	// Back up now.
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/backups", nil)
	wantStatus(t, "back up", p, http.StatusSeeOther)
	if p.Location != fmt.Sprintf("/admin/vendors/id/%d", v.ID) {
		t.Errorf("back up redirects to %q", p.Location)
	}
	op := b.waitVendorOp("acme")
	if op.State != "done" || op.Kind != "backup" {
		t.Fatalf("backup operation: %+v", op)
	}
	list, err := c.Backups.List(ctx, v.ID, 10)
	if err != nil || len(list) != 1 || list[0].State != "completed" {
		t.Fatalf("catalogue after the backup: %+v %v", list, err)
	}
	bk := list[0]
	size := backups.HumanBytes(*bk.DumpSize)
	p = b.get("/admin/vendors/acme")
	wantFlash(t, "vendor page after the backup", flashOK, p.Body, fmt.Sprintf("Backed up acme: backup %d, a %s dump and 1 file", bk.ID, size))
	wantContains(t, "vendor page after the backup", p.Body, fmt.Sprintf(`id="backup-%d"`, bk.ID), `badge ok">completed`, size,
		`badge ">unverified`, fmt.Sprintf(`action="/admin/backups/%d/verify"`, bk.ID), fmt.Sprintf(`<option value="%d" selected>`, bk.ID))
	if f := flashes(flashOK, b.get("/admin/vendors/acme").Body); len(f) != 0 {
		t.Errorf("the outcome is flashed again on the next page: %q", f)
	}
	if len(c.audit("backup.create")) != 1 {
		t.Error("the backup is not audited")
	}

	// Verify it.
	p = b.submit("/admin/vendors/acme", fmt.Sprintf("/admin/backups/%d/verify", bk.ID), nil)
	wantStatus(t, "verify", p, http.StatusSeeOther)
	if op = b.waitVendorOp("acme"); op.State != "done" || op.Kind != "verify" {
		t.Fatalf("verify operation: %+v", op)
	}
	p = b.get("/admin/vendors/acme")
	wantFlash(t, "vendor page after the verification", flashOK, p.Body, fmt.Sprintf("Backup %d of acme is verified", bk.ID))
	wantContains(t, "vendor page after the verification", p.Body, `badge ok">ok`)
	if got, _ := c.Backups.Get(ctx, bk.ID); got.VerifyState != "ok" || got.VerifiedAt == nil {
		t.Errorf("verification recorded as %q", got.VerifyState)
	}

	// Lose some data, then restore: first without typing the slug.
	if _, err := c.VendorPool(t, v).Exec(ctx, `DELETE FROM products WHERE price_minor > 1000`); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"backup_id": {strconv.FormatInt(bk.ID, 10)}, "confirm": {"acm"}}
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/restore", form)
	wantStatus(t, "restore without the slug typed", p, http.StatusUnprocessableEntity)
	wantContains(t, "restore without the slug typed", p.Body, `id="restore_confirm-error"`,
		html.EscapeString("Type the vendor's slug, acme, to confirm the restore."))
	if now := c.vendor("acme"); now.DBName != v.DBName || c.products("acme") != 10 {
		t.Fatalf("a refused restore changed the vendor: database %s, %d products", now.DBName, c.products("acme"))
	}
	if op = b.waitVendorOp("acme"); op.Kind != "verify" {
		t.Errorf("a refused restore started an operation: %+v", op)
	}
	form.Set("as", "Not A Slug")
	form.Set("confirm", "acme")
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/restore", form)
	wantStatus(t, "restore as a bad slug", p, http.StatusUnprocessableEntity)
	wantContains(t, "restore as a bad slug", p.Body, `id="restore_as-error"`, "The new vendor&#39;s slug may contain only")

	// Now with the slug typed.
	form.Del("as")
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/restore", form)
	wantStatus(t, "restore", p, http.StatusSeeOther)
	if op = b.waitVendorOp("acme"); op.State != "done" || op.Kind != "restore" {
		t.Fatalf("restore operation: %+v", op)
	}
	now := c.vendor("acme")
	if now.DBName == v.DBName {
		t.Fatal("the vendor still runs on its old database")
	}
	if n := c.products("acme"); n != 40 {
		t.Errorf("%d products after the restore, want 40", n)
	}
	p = b.get("/admin/vendors/acme")
	wantFlash(t, "vendor page after the restore", flashOK, p.Body,
		fmt.Sprintf("Restored backup %d into %s", bk.ID, now.DBName), "acme now runs on it",
		fmt.Sprintf("The old database, %s, is kept until", v.DBName))
	wantContains(t, "vendor page after the restore", p.Body, `<dt>Database</dt><dd class="mono">`+now.DBName+`</dd>`)
	rows := c.audit("vendor.restore")
	if len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail || !strings.Contains(string(rows[0].After), now.DBName) {
		t.Errorf("restore audit rows: %+v", rows)
	}
	// Each request is audited as the admin's, refused ones not at all.
	for action, want := range map[string]int{"backup.create_requested": 1, "backup.verify_requested": 1, "vendor.restore_requested": 1} {
		rows := c.audit(action)
		if len(rows) != want || rows[0].Actor != "admin:"+adminEmail || rows[0].TargetID != strconv.FormatInt(v.ID, 10) {
			t.Errorf("%s audit rows: %+v", action, rows)
		}
	}
}

// TestConsoleRestoreOfDamagedBackup restores a backup whose dump was
// damaged in the object store: the console says so clearly and the vendor
// keeps running on its database, untouched.
func TestConsoleRestoreOfDamagedBackup(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	v := c.shop("acme", 20)
	bk, err := c.Backups.Run(ctx, platform.Actor{Kind: "cli", Name: "tester"}, "acme", "manual")
	if err != nil {
		t.Fatal(err)
	}
	c.corrupt(bk)
	if _, err := c.VendorPool(t, v).Exec(ctx, `DELETE FROM products WHERE price_minor > 1000`); err != nil {
		t.Fatal(err)
	}
	b := c.browser()
	b.mustLogin()
	p := b.submit("/admin/vendors/acme", "/admin/vendors/acme/restore",
		url.Values{"backup_id": {strconv.FormatInt(bk.ID, 10)}, "confirm": {"acme"}})
	wantStatus(t, "restore", p, http.StatusSeeOther)
	op := b.waitVendorOp("acme")
	if op.State != "failed" || !strings.Contains(op.Error, backup.ErrCorrupt.Error()) {
		t.Fatalf("restore of a damaged backup: %+v", op)
	}
	p = b.get("/admin/vendors/acme")
	wantFlash(t, "vendor page after the refused restore", flashError, p.Body,
		fmt.Sprintf("Backup %d cannot be restored: it is damaged", bk.ID), "Nothing was changed: acme still runs on "+v.DBName)
	if now := c.vendor("acme"); now.DBName != v.DBName || c.products("acme") != 10 {
		t.Fatalf("the vendor changed: database %s, %d products", now.DBName, c.products("acme"))
	}
	if rep, err := c.Prov.Reconcile(ctx, true); err != nil || len(rep.OrphanDatabases)+len(rep.DroppedCopies) != 0 {
		t.Errorf("the refused restore left something behind: %+v %v", rep, err)
	}

	// Through the API, its verification fails with the status of a damaged backup.
	api := c.api(c.newToken())
	op = started(t, "verify", api.do(http.MethodPost, fmt.Sprintf("/api/v1/backups/%d/verify", bk.ID), nil))
	if op = api.waitOp(op.ID); op.State != "failed" || op.ErrorStatus != http.StatusUnprocessableEntity || !strings.Contains(op.Message, "failed verification") {
		t.Errorf("verification of a damaged backup: %+v", op)
	}
	if got, _ := c.Backups.Get(ctx, bk.ID); got.VerifyState != "failed" {
		t.Errorf("verify state %q, want failed", got.VerifyState)
	}
}

// TestAPIBackupsAndMove backs up, verifies and moves a vendor through the
// API, and checks what it refuses.
func TestAPIBackupsAndMove(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	v := c.shop("acme", 30)
	c.AddSecondServer(t)
	api := c.api(c.newToken())

	type backupList struct {
		Vendor    string
		Backups   []backup.Backup
		Operation *operation
	}
	p := api.do(http.MethodGet, "/api/v1/vendors/acme/backups", nil)
	wantStatus(t, "list backups", p, http.StatusOK)
	if l := decode[backupList](t, p); l.Vendor != "acme" || l.Backups == nil || len(l.Backups) != 0 || l.Operation != nil {
		t.Fatalf("backups before the first: %s", p.Body)
	}
	wantAPIError(t, "backups of an unknown vendor", api.do(http.MethodGet, "/api/v1/vendors/nope/backups", nil), http.StatusNotFound, "")
	wantAPIError(t, "operation of a vendor without one", api.do(http.MethodGet, "/api/v1/vendors/acme/operation", nil), http.StatusNotFound, "")
	wantAPIError(t, "unknown operation", api.do(http.MethodGet, "/api/v1/operations/999", nil), http.StatusNotFound, "")

	// Back up, then verify.
	op := api.waitOp(started(t, "back up", api.do(http.MethodPost, "/api/v1/vendors/acme/backups", nil)).ID)
	bk := decode[backup.Backup](t, page{Body: string(op.Result)})
	if op.State != "done" || bk.State != "completed" || bk.DumpSize == nil || *bk.DumpSize == 0 || bk.RowCounts["products"] != 30 {
		t.Fatalf("backup operation: %+v", op)
	}
	p = api.do(http.MethodGet, "/api/v1/vendors/acme/backups", nil)
	if l := decode[backupList](t, p); len(l.Backups) != 1 || l.Backups[0].ID != bk.ID || l.Operation == nil || l.Operation.ID != op.ID {
		t.Fatalf("backups after the first: %s", p.Body)
	}
	op = api.waitOp(started(t, "verify", api.do(http.MethodPost, fmt.Sprintf("/api/v1/backups/%d/verify", bk.ID), nil)).ID)
	if vr := decode[backup.VerifyResult](t, page{Body: string(op.Result)}); op.State != "done" || !vr.OK || vr.Rows < 30 {
		t.Fatalf("verify operation: %+v", op)
	}
	wantAPIError(t, "verify an unknown backup", api.do(http.MethodPost, "/api/v1/backups/999/verify", nil), http.StatusNotFound, "")

	// Restores it refuses.
	other := c.shop("other", 3)
	ob, err := c.Backups.Run(ctx, platform.Actor{Kind: "cli", Name: "tester"}, "other", "manual")
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, "restore without confirm", api.do(http.MethodPost, "/api/v1/vendors/acme/restore",
		map[string]any{"backup_id": bk.ID}), http.StatusUnprocessableEntity, "confirm")
	wantAPIError(t, "restore of another vendor's backup", api.do(http.MethodPost, "/api/v1/vendors/acme/restore",
		map[string]any{"backup_id": ob.ID, "confirm": "acme"}), http.StatusConflict, "")
	wantAPIError(t, "restore of an unknown backup", api.do(http.MethodPost, "/api/v1/vendors/acme/restore",
		map[string]any{"backup_id": 999, "confirm": "acme"}), http.StatusNotFound, "")
	wantAPIError(t, "restore as a taken slug", api.do(http.MethodPost, "/api/v1/vendors/acme/restore",
		map[string]any{"as": other.Slug, "confirm": "acme"}), http.StatusUnprocessableEntity, "as")
	wantAPIError(t, "restore with an unknown field", api.do(http.MethodPost, "/api/v1/vendors/acme/restore",
		map[string]any{"backup": bk.ID, "confirm": "acme"}), http.StatusBadRequest, "")

	// Moves it refuses.
	wantAPIError(t, "move without confirm", api.do(http.MethodPost, "/api/v1/vendors/acme/move",
		map[string]any{"to": "second"}), http.StatusUnprocessableEntity, "confirm")
	wantAPIError(t, "move to an unknown server", api.do(http.MethodPost, "/api/v1/vendors/acme/move",
		map[string]any{"to": "nope", "confirm": "acme"}), http.StatusUnprocessableEntity, "to")
	wantAPIError(t, "move to its own server", api.do(http.MethodPost, "/api/v1/vendors/acme/move",
		map[string]any{"to": v.ServerName, "confirm": "acme"}), http.StatusUnprocessableEntity, "to")

	// The move.
	op = api.waitOp(started(t, "move", api.do(http.MethodPost, "/api/v1/vendors/acme/move",
		map[string]any{"to": "second", "confirm": "acme"})).ID)
	mr := decode[backup.MoveResult](t, page{Body: string(op.Result)})
	if op.State != "done" || mr.To != "second" || mr.From != v.ServerName || mr.WritesRefused <= 0 || mr.Rows < 30 {
		t.Fatalf("move operation: %+v", op)
	}
	if !strings.Contains(op.Message, "writes were refused for ") || !strings.Contains(op.Message, "Moved acme from server "+v.ServerName+" to second") {
		t.Errorf("move message %q", op.Message)
	}
	moved := c.vendor("acme")
	if moved.ServerName != "second" || moved.DBName != mr.Database || c.products("acme") != 30 {
		t.Fatalf("after the move: server %s, database %s (result %+v)", moved.ServerName, moved.DBName, mr)
	}
	if p = api.do(http.MethodGet, "/api/v1/vendors/acme/operation", nil); decode[struct{ Operation *operation }](t, p).Operation.ID != op.ID {
		t.Errorf("the vendor's newest operation: %s", p.Body)
	}
	if rows := c.audit("vendor.move"); len(rows) != 1 || !strings.Contains(string(rows[0].After), "writes_refused_ms") {
		t.Errorf("move audit rows: %+v", rows)
	}

	// The console shows the vendor on its new server, with none left to move to but the first.
	b := c.browser()
	b.mustLogin()
	wantContains(t, "vendor page after the move", b.get("/admin/vendors/acme").Body,
		`<dt>Server</dt><dd class="mono">second</dd>`, `<option value="`+v.ServerName+`">`)
}

// TestSecondOperationIsRefused starts an operation that waits for the
// vendor's lock, which the test holds, and tries a second one.
func TestSecondOperationIsRefused(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	v := c.shop("acme", 5)
	bk, err := c.Backups.Run(ctx, platform.Actor{Kind: "cli", Name: "tester"}, "acme", "manual")
	if err != nil {
		t.Fatal(err)
	}
	locked, release, unlocked := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		unlocked <- c.Prov.WithVendorLock(ctx, v.ID, func() error { close(locked); <-release; return nil })
	}()
	<-locked
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	api := c.api(c.newToken())
	first := started(t, "verify", api.do(http.MethodPost, fmt.Sprintf("/api/v1/backups/%d/verify", bk.ID), nil))
	e := wantAPIError(t, "a second operation", api.do(http.MethodPost, "/api/v1/vendors/acme/backups", nil), http.StatusConflict, "")
	if !strings.Contains(e.Error.Message, fmt.Sprintf("verification of backup %d is running", bk.ID)) {
		t.Errorf("409 message %q", e.Error.Message)
	}

	// The console refuses too, and its vendor page follows the running one.
	b := c.browser()
	b.mustLogin()
	p := b.submit("/admin/vendors/acme", "/admin/vendors/acme/backups", nil)
	wantStatus(t, "back up while busy", p, http.StatusSeeOther)
	p = b.get("/admin/vendors/acme")
	wantFlash(t, "vendor page after a refused backup", flashError, p.Body, "Vendor acme is busy: verification of backup")
	wantContains(t, "vendor page while busy", p.Body, `class="flash info op-running"`,
		fmt.Sprintf("<strong>Running:</strong> verification of backup %d, started", bk.ID),
		`data-url="/admin/vendors/acme/operation"`, `<a href="/admin/vendors/acme">Refresh</a>`,
		`title="Wait for the running operation to end">Back up now`)
	if op := decode[struct{ Operation *operation }](t, b.get("/admin/vendors/acme/operation")).Operation; op.ID != first.ID || op.State != "running" {
		t.Fatalf("progress while busy: %+v", op)
	}

	close(release)
	if err := <-unlocked; err != nil {
		t.Fatal(err)
	}
	if op := api.waitOp(first.ID); op.State != "done" {
		t.Fatalf("the verification after the lock was released: %+v", op)
	}
	api.waitOp(started(t, "back up once free", api.do(http.MethodPost, "/api/v1/vendors/acme/backups", nil)).ID)
}

// TestAlerts makes a backup fail (its object store is down) and handles
// the alert it raises in the console and through the API.
func TestAlerts(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	c.shop("acme", 5)
	dead, err := storage.NewAdmin(storage.Config{Endpoint: "127.0.0.1:1", AccessKey: "x", SecretKey: "y", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	down := *c.Backups
	down.Objects = dead
	if _, err := down.Run(ctx, platform.Actor{Kind: "system", Name: "scheduler"}, "acme", "scheduled"); err == nil {
		t.Fatal("a backup succeeded with the object store down")
	}
	if err := backup.Alert(ctx, c.Store, "warning", "disk.filling", 0, "The backups bucket is 85% full."); err != nil {
		t.Fatal(err)
	}
	var critical int64
	if err := c.CP.QueryRow(ctx, `SELECT id FROM platform_alerts WHERE kind = 'backup.failed'`).Scan(&critical); err != nil {
		t.Fatal(err)
	}

	b := c.browser()
	b.mustLogin()
	p := b.get("/admin/backups")
	wantStatus(t, "backups page", p, http.StatusOK)
	wantContains(t, "backups page", p.Body, `aria-current="page">Backups`, `<span class="nav-badge" title="1 open critical alert">1`,
		`<h2 id="alerts">Open alerts</h2>`, "Backup 1 of acme failed", `badge bad">critical`, `badge warn">warning`,
		"The backups bucket is 85% full.", fmt.Sprintf(`action="/admin/alerts/%d/acknowledge"`, critical),
		`<div class="n bad">1</div><div class="l">Failed backups, last 7 days`, `<div class="n bad">1</div><div class="l">Never backed up`,
		`badge bad">failed`)
	wantContains(t, "dashboard", b.get("/admin/").Body, "Open alerts", "Backup 1 of acme failed", `badge bad">1 critical`)
	wantContains(t, "vendor page", b.get("/admin/vendors/acme").Body, "Open alerts", "Backup 1 of acme failed", `badge bad">failed`)

	// Acknowledge, then resolve, in the console.
	form := url.Values{"next": {"/admin/backups#alerts"}}
	p = b.submit("/admin/backups", fmt.Sprintf("/admin/alerts/%d/acknowledge", critical), form)
	wantStatus(t, "acknowledge", p, http.StatusSeeOther)
	if p.Location != "/admin/backups#alerts" {
		t.Errorf("acknowledge redirects to %q", p.Location)
	}
	p = b.get("/admin/backups")
	wantFlash(t, "backups page after acknowledging", flashOK, p.Body, fmt.Sprintf("Alert %d is acknowledged", critical))
	wantContains(t, "backups page after acknowledging", p.Body, `badge warn">acknowledged`, "by admin:"+adminEmail)
	b.submit("/admin/backups", fmt.Sprintf("/admin/alerts/%d/acknowledge", critical), form)
	wantFlash(t, "acknowledge twice", flashError, b.get("/admin/backups").Body, fmt.Sprintf("Alert %d is already acknowledged.", critical))
	p = b.submit("/admin/backups", fmt.Sprintf("/admin/alerts/%d/resolve", critical), url.Values{"next": {"//evil.example/"}})
	wantStatus(t, "resolve", p, http.StatusSeeOther)
	if p.Location != "/admin/" {
		t.Errorf("resolve with a foreign next redirects to %q", p.Location)
	}
	p = b.get("/admin/backups")
	if strings.Contains(p.Body, "open critical alert") { // the Notifications badge may stay
		t.Error("the navigation still counts a resolved critical alert")
	}
	wantContains(t, "backups page after resolving", p.Body, "Recently resolved (1)")
	for _, action := range []string{"alert.acknowledge", "alert.resolve"} {
		rows := c.audit(action)
		if len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail || rows[0].TargetType != "alert" || rows[0].TargetID != strconv.FormatInt(critical, 10) {
			t.Errorf("%s audit rows: %+v", action, rows)
		}
	}
	wantStatus(t, "resolve an unknown alert", b.submit("/admin/backups", "/admin/alerts/999/resolve", nil), http.StatusNotFound)

	// The API.
	type alertList struct {
		Alerts []struct {
			ID             int64
			Severity, Kind string
			Vendor, State  string
			AcknowledgedBy string `json:"acknowledged_by"`
		}
		Counts struct{ Critical, Warning, Info, Unacknowledged int }
	}
	api := c.api(c.newToken())
	l := decode[alertList](t, api.do(http.MethodGet, "/api/v1/alerts", nil))
	if len(l.Alerts) != 1 || l.Alerts[0].Kind != "disk.filling" || l.Alerts[0].State != "open" || l.Counts.Warning != 1 || l.Counts.Critical != 0 {
		t.Fatalf("unresolved alerts: %+v", l)
	}
	warning := l.Alerts[0].ID
	if l = decode[alertList](t, api.do(http.MethodGet, "/api/v1/alerts?state=all&vendor=acme", nil)); len(l.Alerts) != 1 || l.Alerts[0].Vendor != "acme" || l.Alerts[0].State != "resolved" {
		t.Errorf("acme's alerts: %+v", l)
	}
	wantAPIError(t, "bad state", api.do(http.MethodGet, "/api/v1/alerts?state=bogus", nil), http.StatusUnprocessableEntity, "state")
	p = api.do(http.MethodPost, fmt.Sprintf("/api/v1/alerts/%d/acknowledge", warning), nil)
	wantStatus(t, "acknowledge through the API", p, http.StatusOK)
	type alertJSON struct {
		Alert struct {
			State          string
			AcknowledgedBy string `json:"acknowledged_by"`
		}
	}
	if a := decode[alertJSON](t, p).Alert; a.State != "acknowledged" || a.AcknowledgedBy != "admin:"+adminEmail {
		t.Errorf("acknowledged alert: %+v", a)
	}
	wantAPIError(t, "acknowledge twice", api.do(http.MethodPost, fmt.Sprintf("/api/v1/alerts/%d/acknowledge", warning), nil), http.StatusConflict, "")
	wantStatus(t, "resolve through the API", api.do(http.MethodPost, fmt.Sprintf("/api/v1/alerts/%d/resolve", warning), nil), http.StatusOK)
	wantAPIError(t, "resolve twice", api.do(http.MethodPost, fmt.Sprintf("/api/v1/alerts/%d/resolve", warning), nil), http.StatusConflict, "")
	wantAPIError(t, "unknown alert", api.do(http.MethodPost, "/api/v1/alerts/999/acknowledge", nil), http.StatusNotFound, "")
	if n := len(c.audit("alert.resolve")); n != 2 {
		t.Errorf("%d alert.resolve audit rows, want 2", n)
	}

	// The failed backup cannot be restored.
	e := wantAPIError(t, "restore of a failed backup", api.do(http.MethodPost, "/api/v1/vendors/acme/restore",
		map[string]any{"backup_id": 1, "confirm": "acme"}), http.StatusConflict, "")
	if !strings.Contains(e.Error.Message, "did not complete") {
		t.Errorf("restore of a failed backup: %q", e.Error.Message)
	}
}

// TestShutdownCancelsOperations closes the control plane while a restore
// waits for the vendor's lock: Close cancels it and waits for it, the
// vendor is untouched, and nothing new starts.
func TestShutdownCancelsOperations(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	v := c.shop("acme", 5)
	bk, err := c.Backups.Run(ctx, platform.Actor{Kind: "cli", Name: "tester"}, "acme", "manual")
	if err != nil {
		t.Fatal(err)
	}
	locked, release := make(chan struct{}), make(chan struct{})
	go func() { _ = c.Prov.WithVendorLock(ctx, v.ID, func() error { close(locked); <-release; return nil }) }()
	<-locked
	defer close(release)

	api := c.api(c.newToken())
	op := started(t, "restore", api.do(http.MethodPost, "/api/v1/vendors/acme/restore",
		map[string]any{"backup_id": bk.ID, "confirm": "acme"}))
	closed := make(chan struct{})
	go func() { c.Main.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return while an operation waited for a lock")
	}
	// The server still answers with the handler it was given.
	got := api.waitOp(op.ID)
	if got.State != "failed" || !strings.Contains(got.Error, "control plane shut down") {
		t.Fatalf("operation after Close: %+v", got)
	}
	if now := c.vendor("acme"); now.DBName != v.DBName {
		t.Errorf("the vendor changed: %s", now.DBName)
	}
	wantAPIError(t, "back up after Close", api.do(http.MethodPost, "/api/v1/vendors/acme/backups", nil), http.StatusServiceUnavailable, "")
}
