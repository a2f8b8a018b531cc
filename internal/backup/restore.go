package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
)

// RestoreOptions say which backup to restore and where.
type RestoreOptions struct {
	// BackupID is the backup to restore; 0 means the vendor's newest
	// completed backup.
	BackupID int64
	// As restores into a new, separate vendor with this slug (a sandbox to
	// inspect an old state) instead of replacing the live database.
	As string
}

// RestoreResult reports a restore.
type RestoreResult struct {
	Vendor      string        `json:"vendor"`
	BackupID    int64         `json:"backup_id"`
	Database    string        `json:"database"`
	Replaced    string        `json:"replaced,omitempty"`
	DropAfter   *time.Time    `json:"drop_after,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
	RowsChecked int64         `json:"rows_checked"`
}

// Restore restores a backup into a new database, checks it against the
// manifest, then flips the vendor's routing to it in one transaction. The
// live database is never written to; it is kept for the grace period.
func (s *Service) Restore(ctx context.Context, actor platform.Actor, slug string, o RestoreOptions) (*RestoreResult, error) {
	start := time.Now()
	v, err := s.Store.VendorBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	var b *Backup
	if o.BackupID == 0 {
		b, err = s.Latest(ctx, v.ID)
	} else {
		b, err = s.Get(ctx, o.BackupID)
	}
	if err != nil {
		return nil, err
	}
	if b.State != "completed" || b.ExpiredAt != nil {
		return nil, fmt.Errorf("backup %d is %s: %w", b.ID, b.State, ErrNotUsable)
	}
	if b.VendorID != v.ID {
		return nil, fmt.Errorf("backup %d was made of vendor %s, not %s (restore it with --as NEW_SLUG to inspect it separately): %w",
			b.ID, b.Slug, v.Slug, ErrWrongVendor)
	}
	m, err := s.manifest(ctx, b)
	if err != nil {
		return nil, err
	}
	target := v
	if o.As != "" {
		target, err = s.Prov.CreateVendor(ctx, actor, provision.CreateRequest{Slug: o.As, Name: v.Name + " (restored from backup " + strconv.FormatInt(b.ID, 10) + ")", OwnerEmail: v.OwnerEmail})
		if err != nil {
			return nil, err
		}
	}
	res := &RestoreResult{Vendor: target.Slug, BackupID: b.ID}
	err = s.Prov.WithVendorLock(ctx, target.ID, func() error {
		target, err = s.Store.VendorByID(ctx, target.ID)
		if err != nil {
			return err
		}
		copyDB, rows, err := s.restoreCopy(ctx, target, b, m, "restore", target.ServerID)
		if err != nil {
			return err
		}
		s.crashPoint("restored")
		if err := s.restoreObjects(ctx, target, m); err != nil {
			s.dropCopy(context.WithoutCancel(ctx), copyDB)
			return err
		}
		res.Database, res.Replaced, res.RowsChecked = copyDB.name, target.DBName, rows
		drop, err := s.flip(ctx, actor, target, copyDB, m.SchemaVersion, "vendor.restore", map[string]any{"backup": b.ID})
		res.DropAfter = &drop
		if err != nil {
			return err
		}
		return s.closeOld(ctx, target)
	})
	if err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// copyDB is a vendor database being made (restore, move, verification).
type copyDB struct {
	rowID    int64
	serverID int64
	name     string
}

// prepareCopy records a new database for the vendor (status preparing)
// and creates it empty. Leftovers of a crashed attempt are dropped first.
func (s *Service) prepareCopy(ctx context.Context, v *platform.Vendor, purpose string, serverID int64) (*copyDB, error) {
	if err := s.dropLeftovers(ctx, v.ID, purpose); err != nil {
		return nil, err
	}
	pw, err := s.openPassword(v)
	if err != nil {
		return nil, err
	}
	c := &copyDB{serverID: serverID}
	err = s.Store.Transact(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO vendor_databases (vendor_id, server_id, db_name, role_name, password_enc, status, purpose, schema_version)
			VALUES ($1, $2, '', $3, '\x00', 'preparing', $4, 0) RETURNING id`, v.ID, serverID, v.RoleName, purpose).Scan(&c.rowID); err != nil {
			return fmt.Errorf("record the new database: %w", err)
		}
		c.name = s.Prov.Names().CopyName(v.ID, c.rowID)
		sealed := s.Prov.Seal([]byte(pw), provision.PasswordContext(c.name))
		_, err := tx.Exec(ctx, `UPDATE vendor_databases SET db_name = $2, password_enc = $3 WHERE id = $1`, c.rowID, c.name, sealed)
		return err
	})
	if err != nil {
		return nil, err
	}
	// The role exists on the vendor's server, except on a replacement for
	// a lost one or on the destination of a move: make sure.
	if err := s.Prov.EnsureVendorRole(ctx, serverID, v); err != nil {
		return nil, err
	}
	if err := s.Prov.CreateEmptyDatabase(ctx, serverID, c.name, v.RoleName); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Service) openPassword(v *platform.Vendor) (string, error) {
	pw, err := s.Prov.Open(v.PasswordEnc, provision.PasswordContext(v.DBName))
	if err != nil {
		return "", fmt.Errorf("open password of %s: %w", v.DBName, err)
	}
	return string(pw), nil
}

// dropLeftovers removes databases of the vendor still 'preparing' for the
// same purpose: an attempt that died. The vendor lock is held, so no live
// attempt can be among them.
func (s *Service) dropLeftovers(ctx context.Context, vendorID int64, purpose string) error {
	rows, err := s.Store.Pool().Query(ctx, `SELECT id, server_id, db_name FROM vendor_databases
		WHERE vendor_id = $1 AND status = 'preparing' AND purpose = $2`, vendorID, purpose)
	if err != nil {
		return fmt.Errorf("find leftovers: %w", err)
	}
	var left []copyDB
	var c copyDB
	_, err = pgx.ForEachRow(rows, []any{&c.rowID, &c.serverID, &c.name}, func() error { left = append(left, c); return nil })
	if err != nil {
		return fmt.Errorf("find leftovers: %w", err)
	}
	for i := range left {
		if err := s.dropCopyErr(ctx, &left[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) dropCopy(ctx context.Context, c *copyDB) {
	if err := s.dropCopyErr(ctx, c); err != nil && s.Logger != nil {
		s.Logger.Error("cannot drop a copy; reconcile will", "database", c.name, "err", err)
	}
}

func (s *Service) dropCopyErr(ctx context.Context, c *copyDB) error {
	if c.name != "" {
		if err := s.Prov.DropDatabase(ctx, c.serverID, c.name); err != nil {
			return err
		}
	}
	_, err := s.Store.Pool().Exec(ctx, `UPDATE vendor_databases SET status = 'dropped' WHERE id = $1`, c.rowID)
	if err != nil {
		return fmt.Errorf("mark %s dropped: %w", c.name, err)
	}
	return nil
}

// restoreCopy restores a backup's dump into a new database of the vendor
// and checks it: the dump's checksum and size, and every table's row
// count. On any failure the new database is dropped.
func (s *Service) restoreCopy(ctx context.Context, v *platform.Vendor, b *Backup, m *Manifest, purpose string, serverID int64) (*copyDB, int64, error) {
	c, err := s.prepareCopy(ctx, v, purpose, serverID)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.restoreInto(ctx, c, v, b, m)
	if err != nil {
		s.dropCopy(context.WithoutCancel(ctx), c)
		return nil, 0, err
	}
	return c, rows, nil
}

func (s *Service) restoreInto(ctx context.Context, c *copyDB, v *platform.Vendor, b *Backup, m *Manifest) (int64, error) {
	obj, err := s.Objects.Client().GetObject(ctx, s.Bucket, m.Dump.Key, minio.GetObjectOptions{})
	if err != nil {
		return 0, fmt.Errorf("read the dump: %w", err)
	}
	defer obj.Close()
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(obj, h)}
	srv, err := s.Prov.Server(ctx, c.serverID)
	if err != nil {
		return 0, err
	}
	url, err := s.Prov.AdminURL(srv, c.name)
	if err != nil {
		return 0, err
	}
	restoreErr := runPgRestore(ctx, url, s.SSLMode, v.RoleName, counted)
	// Read what pg_restore left, so the checksum covers the whole object.
	if _, err := io.Copy(io.Discard, counted); err != nil && restoreErr == nil {
		restoreErr = fmt.Errorf("read the dump: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if b.DumpSHA256 == nil || sum != *b.DumpSHA256 || sum != m.Dump.SHA256 || counted.n != m.Dump.Size {
		return 0, fmt.Errorf("backup %d, %s (%d bytes, sha256 %s; recorded %d bytes, sha256 %s): %w",
			b.ID, m.Dump.Key, counted.n, short(sum), m.Dump.Size, short(m.Dump.SHA256), ErrCorrupt)
	}
	if restoreErr != nil {
		return 0, restoreErr
	}
	return s.checkCounts(ctx, c, m)
}

// checkCounts compares every table's row count with the manifest.
func (s *Service) checkCounts(ctx context.Context, c *copyDB, m *Manifest) (int64, error) {
	conn, err := s.Prov.ConnectAdmin(ctx, c.serverID, c.name)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	got, err := rowCounts(ctx, tx)
	if err != nil {
		return 0, err
	}
	var total int64
	var diffs []string
	for t, want := range m.RowCounts {
		if got[t] != want {
			diffs = append(diffs, fmt.Sprintf("%s has %d rows, the manifest says %d", t, got[t], want))
		}
		total += got[t]
	}
	for t := range got {
		if _, ok := m.RowCounts[t]; !ok {
			diffs = append(diffs, "table "+t+" is not in the manifest")
		}
	}
	if len(diffs) > 0 {
		return 0, fmt.Errorf("the restored copy does not match the manifest: %s", strings.Join(diffs, "; "))
	}
	ver, err := migrate.CurrentVersion(ctx, tx)
	if err != nil {
		return 0, err
	}
	if ver != m.SchemaVersion {
		return 0, fmt.Errorf("the restored copy is at schema version %d, the manifest says %d", ver, m.SchemaVersion)
	}
	return total, nil
}

// restoreObjects copies the backup's files back into the vendor's bucket.
// Files added after the backup stay; files that were in it come back.
func (s *Service) restoreObjects(ctx context.Context, v *platform.Vendor, m *Manifest) error {
	for _, o := range m.Objects {
		_, err := s.Objects.Client().CopyObject(ctx, minio.CopyDestOptions{Bucket: v.Bucket, Object: o.Source},
			minio.CopySrcOptions{Bucket: s.Bucket, Object: o.Key})
		if err != nil {
			return fmt.Errorf("restore the file %s: %w", o.Source, err)
		}
	}
	return nil
}

// flip makes the copy the vendor's current database in one transaction;
// the old one is retired and dropped by reconcile after the grace period.
func (s *Service) flip(ctx context.Context, actor platform.Actor, v *platform.Vendor, c *copyDB, version int64, action string, extra map[string]any) (time.Time, error) {
	drop := time.Now().Add(s.Grace)
	err := s.Store.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE vendor_databases SET status = 'retired', retired_at = now(), drop_after = $2
			WHERE vendor_id = $1 AND status = 'current'`, v.ID, drop)
		if err != nil || tag.RowsAffected() != 1 {
			return fmt.Errorf("retire the old database (%d rows): %v", tag.RowsAffected(), err)
		}
		if _, err := tx.Exec(ctx, `UPDATE vendor_databases SET status = 'current', schema_version = $2 WHERE id = $1`, c.rowID, version); err != nil {
			return fmt.Errorf("switch to the new database: %w", err)
		}
		// A move set read-only mode; the vendor is writable on the new copy.
		if _, err := tx.Exec(ctx, `UPDATE vendors SET read_only = false, read_only_reason = '', updated_at = now() WHERE id = $1 AND read_only`, v.ID); err != nil {
			return fmt.Errorf("lift read-only mode: %w", err)
		}
		after := map[string]any{"database": c.name, "replaced": v.DBName}
		for k, val := range extra {
			after[k] = val
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: action, TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), Before: map[string]any{"database": v.DBName}, After: after})
	})
	return drop, err
}

// manifest reads a backup's manifest and checks it against the catalogue.
func (s *Service) manifest(ctx context.Context, b *Backup) (*Manifest, error) {
	obj, err := s.Objects.Client().GetObject(ctx, s.Bucket, b.Prefix+"manifest.json", minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("read manifest of backup %d: %w", b.ID, err)
	}
	defer obj.Close()
	body, err := io.ReadAll(io.LimitReader(obj, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read manifest of backup %d: %w", b.ID, err)
	}
	sum := sha256.Sum256(body)
	if b.ManifestSHA256 == nil || hex.EncodeToString(sum[:]) != *b.ManifestSHA256 {
		return nil, fmt.Errorf("manifest of backup %d: %w", b.ID, ErrCorrupt)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("manifest of backup %d: %w", b.ID, ErrCorrupt)
	}
	if m.BackupID != b.ID || m.VendorID != b.VendorID {
		return nil, fmt.Errorf("manifest of backup %d names backup %d of vendor %d: %w", b.ID, m.BackupID, m.VendorID, ErrCorrupt)
	}
	return &m, nil
}

// runPgRestore restores a custom-format dump from r in one transaction, as
// the vendor's role, so every object belongs to it.
func runPgRestore(ctx context.Context, url, sslmode, role string, r io.Reader) error {
	cmd := exec.CommandContext(ctx, "pg_restore", "--single-transaction", "--no-owner", "--no-acl", "--role="+role, "--dbname="+dbNameOf(url))
	cmd.Env = pgEnv(url, sslmode)
	cmd.Stdin = r
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 8 << 10}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_restore: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// pgEnv passes a connection to libpq tools through the environment, so no
// password shows on a command line.
func pgEnv(url, sslmode string) []string {
	cfg, err := pgconn.ParseConfig(url)
	env := []string{"PATH=" + os.Getenv("PATH"), "PGCONNECT_TIMEOUT=10", "PGAPPNAME=storefleet-backup"}
	if err != nil {
		return env
	}
	if sslmode == "" {
		sslmode = "prefer"
	}
	return append(env, "PGHOST="+cfg.Host, "PGPORT="+strconv.Itoa(int(cfg.Port)), "PGUSER="+cfg.User,
		"PGPASSWORD="+cfg.Password, "PGDATABASE="+cfg.Database, "PGSSLMODE="+sslmode)
}

func dbNameOf(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return ""
	}
	return cfg.Database
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

func (s *Service) crashPoint(step string) {
	if s.CrashAfter == step {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
