package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/storage"
)

// Service backs up, verifies, restores and moves vendors.
type Service struct {
	Store   *platform.Store
	Prov    *provision.Provisioner
	Objects *storage.Admin
	// Bucket is the platform's backups bucket.
	Bucket string
	// SSLMode is passed to pg_dump and pg_restore.
	SSLMode string
	// Grace is how long a replaced database is kept after a restore or a
	// move before reconcile drops it.
	Grace  time.Duration
	Logger *slog.Logger
	// CrashAfter names a step after which the process kills itself
	// (fault-injection tests only).
	CrashAfter string
}

// Errors people act on.
var (
	ErrCorrupt     = errors.New("the backup is damaged: its checksum does not match the one recorded when it was made")
	ErrNotUsable   = errors.New("this backup did not complete and cannot be used")
	ErrWrongVendor = errors.New("this backup belongs to another vendor")
)

// Backup is a catalogue entry.
type Backup struct {
	ID             int64            `json:"id"`
	VendorID       int64            `json:"vendor_id"`
	Slug           string           `json:"vendor"`
	Kind           string           `json:"kind"`
	State          string           `json:"state"`
	Actor          string           `json:"actor"`
	Bucket         string           `json:"bucket"`
	Prefix         string           `json:"prefix"`
	DBName         string           `json:"database"`
	SchemaVersion  *int64           `json:"schema_version,omitempty"`
	DumpSize       *int64           `json:"dump_size,omitempty"`
	DumpSHA256     *string          `json:"dump_sha256,omitempty"`
	ObjectsCount   *int             `json:"objects_count,omitempty"`
	ObjectsSize    *int64           `json:"objects_size,omitempty"`
	RowCounts      map[string]int64 `json:"row_counts,omitempty"`
	ManifestSHA256 *string          `json:"manifest_sha256,omitempty"`
	StartedAt      time.Time        `json:"started_at"`
	FinishedAt     *time.Time       `json:"finished_at,omitempty"`
	Error          string           `json:"error,omitempty"`
	VerifyState    string           `json:"verify_state"`
	VerifiedAt     *time.Time       `json:"verified_at,omitempty"`
	VerifyError    string           `json:"verify_error,omitempty"`
	ExpiredAt      *time.Time       `json:"expired_at,omitempty"`
}

const backupColumns = `b.id, b.vendor_id, v.slug, b.kind, b.state, b.actor, b.bucket, b.prefix, b.db_name, b.schema_version,
	b.dump_size, b.dump_sha256, b.objects_count, b.objects_size, b.row_counts, b.manifest_sha256, b.started_at,
	b.finished_at, b.error, b.verify_state, b.verified_at, b.verify_error, b.expired_at`

// List returns a vendor's backups, newest first (vendorID 0: every vendor).
func (s *Service) List(ctx context.Context, vendorID int64, limit int) ([]Backup, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.Store.Pool().Query(ctx, `SELECT `+backupColumns+` FROM backups b JOIN vendors v ON v.id = b.vendor_id
		WHERE ($1 = 0 OR b.vendor_id = $1) ORDER BY b.id DESC LIMIT $2`, vendorID, limit)
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Backup])
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	return out, nil
}

// Get returns one backup.
func (s *Service) Get(ctx context.Context, id int64) (*Backup, error) {
	rows, err := s.Store.Pool().Query(ctx, `SELECT `+backupColumns+` FROM backups b JOIN vendors v ON v.id = b.vendor_id WHERE b.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("find backup %d: %w", id, err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByPos[Backup])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("backup %d: %w", id, platform.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find backup %d: %w", id, err)
	}
	return b, nil
}

// Latest returns a vendor's newest completed backup.
func (s *Service) Latest(ctx context.Context, vendorID int64) (*Backup, error) {
	var id int64
	err := s.Store.Pool().QueryRow(ctx, `SELECT id FROM backups WHERE vendor_id = $1 AND state = 'completed' AND expired_at IS NULL
		ORDER BY id DESC LIMIT 1`, vendorID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("the vendor has no completed backup: %w", platform.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find latest backup: %w", err)
	}
	return s.Get(ctx, id)
}

// Run backs up one vendor. A backup that fails is recorded as failed, with
// an alert, and its partial objects are removed: it is never listed as a
// good backup.
func (s *Service) Run(ctx context.Context, actor platform.Actor, slug, kind string) (*Backup, error) {
	v, err := s.Store.VendorBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if v.DBName == "" || v.State.Provisioning() {
		return nil, fmt.Errorf("vendor %s is %s and has nothing to back up yet", slug, v.State.Label())
	}
	var id int64
	err = s.Store.Pool().QueryRow(ctx, `INSERT INTO backups (vendor_id, kind, actor, bucket, prefix, db_name)
		VALUES ($1, $2, $3, $4, '', $5) RETURNING id`, v.ID, kind, actor.String(), s.Bucket, v.DBName).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("record backup: %w", err)
	}
	prefix := Prefix(v.ID, id)
	if _, err := s.Store.Pool().Exec(ctx, `UPDATE backups SET prefix = $2 WHERE id = $1`, id, prefix); err != nil {
		return nil, fmt.Errorf("record backup: %w", err)
	}
	m, err := s.run(ctx, v, id, prefix)
	if err != nil {
		s.fail(context.WithoutCancel(ctx), v, id, prefix, err)
		return nil, fmt.Errorf("back up %s: %w", slug, err)
	}
	b, err := s.complete(ctx, actor, v, id, m)
	if err != nil {
		s.fail(context.WithoutCancel(ctx), v, id, prefix, err)
		return nil, err
	}
	return b, nil
}

func (s *Service) run(ctx context.Context, v *platform.Vendor, id int64, prefix string) (*Manifest, error) {
	if err := s.Objects.EnsureBucket(ctx, s.Bucket); err != nil {
		return nil, err
	}
	srv, err := s.Prov.Server(ctx, v.ServerID)
	if err != nil {
		return nil, err
	}
	// A snapshot shared by the row counts and pg_dump: the counts describe
	// exactly the data in the dump.
	conn, err := s.Prov.ConnectAdmin(ctx, v.ServerID, v.DBName)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	var snapshot, serverVersion string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot(), current_setting('server_version')`).Scan(&snapshot, &serverVersion); err != nil {
		return nil, fmt.Errorf("export snapshot: %w", err)
	}
	counts, err := rowCounts(ctx, tx)
	if err != nil {
		return nil, err
	}
	version, err := migrate.CurrentVersion(ctx, tx)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: 1, BackupID: id, VendorID: v.ID, Slug: v.Slug, Database: v.DBName, SchemaVersion: version,
		CreatedAt: time.Now().UTC(), RowCounts: counts, Tools: map[string]string{"pg_dump": pgDumpVersion(), "server": serverVersion}}

	adminURL, err := s.Prov.AdminURL(srv, v.DBName)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "pg_dump", "--format=custom", "--no-owner", "--no-acl", "--snapshot="+snapshot)
	cmd.Env = pgEnv(adminURL, s.SSLMode)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 8 << 10}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pg_dump: %w", err)
	}
	h := sha256.New()
	dumpKey := prefix + "db.dump"
	info, putErr := s.Objects.Client().PutObject(ctx, s.Bucket, dumpKey, io.TeeReader(out, h), -1,
		minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: 16 << 20})
	if putErr != nil {
		_, _ = io.Copy(io.Discard, out) // let pg_dump finish before waiting for it
	}
	waitErr := cmd.Wait()
	if putErr != nil {
		return nil, fmt.Errorf("store the dump in the backups bucket: %w", putErr)
	}
	if waitErr != nil {
		return nil, fmt.Errorf("pg_dump: %w: %s", waitErr, strings.TrimSpace(stderr.String()))
	}
	m.Dump = ObjectInfo{Key: dumpKey, Size: info.Size, SHA256: hex.EncodeToString(h.Sum(nil))}
	s.crashPoint("dump")

	// The vendor's files, copied server-side under the backup's prefix.
	if v.Bucket != "" {
		for obj := range s.Objects.Client().ListObjects(ctx, v.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err != nil {
				return nil, fmt.Errorf("list the vendor's files: %w", obj.Err)
			}
			dst := prefix + "objects/" + obj.Key
			_, err := s.Objects.Client().CopyObject(ctx, minio.CopyDestOptions{Bucket: s.Bucket, Object: dst},
				minio.CopySrcOptions{Bucket: v.Bucket, Object: obj.Key, MatchETag: obj.ETag})
			if err != nil {
				return nil, fmt.Errorf("copy the vendor's file %s: %w", obj.Key, err)
			}
			m.Objects = append(m.Objects, ObjectInfo{Key: dst, Source: obj.Key, Size: obj.Size, ETag: obj.ETag})
		}
	}
	_ = tx.Rollback(ctx)
	return m, nil
}

// complete stores the manifest and marks the backup good, in that order:
// a backup is listed as completed only with its manifest in place.
func (s *Service) complete(ctx context.Context, actor platform.Actor, v *platform.Vendor, id int64, m *Manifest) (*Backup, error) {
	body, err := m.encode()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	prefix := Prefix(v.ID, id)
	if _, err := s.Objects.Client().PutObject(ctx, s.Bucket, prefix+"manifest.json", bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return nil, fmt.Errorf("store the manifest: %w", err)
	}
	var objSize int64
	for _, o := range m.Objects {
		objSize += o.Size
	}
	err = s.Store.Transact(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE backups SET state = 'completed', finished_at = now(), schema_version = $2, dump_size = $3,
			dump_sha256 = $4, objects_count = $5, objects_size = $6, row_counts = $7, manifest_sha256 = $8 WHERE id = $1`,
			id, m.SchemaVersion, m.Dump.Size, m.Dump.SHA256, len(m.Objects), objSize, m.RowCounts, hex.EncodeToString(sum[:]))
		if err != nil {
			return fmt.Errorf("record backup: %w", err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "backup.create", TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), After: map[string]any{"backup": id, "size": m.Dump.Size}})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// fail records a failed backup, raises an alert and removes what was
// written (best effort; a leftover object is never listed as a backup).
func (s *Service) fail(ctx context.Context, v *platform.Vendor, id int64, prefix string, cause error) {
	_, err := s.Store.Pool().Exec(ctx, `UPDATE backups SET state = 'failed', finished_at = now(), error = $2 WHERE id = $1`, id, cause.Error())
	if err != nil && s.Logger != nil {
		s.Logger.Error("cannot record a failed backup", "backup", id, "err", err)
	}
	_ = Alert(ctx, s.Store, "critical", "backup.failed", v.ID, fmt.Sprintf("Backup %d of %s failed: %v", id, v.Slug, cause))
	s.Store.NotifyFailure(ctx, platform.NoticeBackupFailed, v.ID, fmt.Sprintf("Backup %d of %s failed: %v", id, v.Slug, cause), fmt.Sprintf("/admin/vendors/id/%d#backups", v.ID))
	// Best effort, briefly: with the object store down this cannot work,
	// and a leftover object is never listed as a backup anyway.
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s.removePrefix(cctx, prefix)
}

func (s *Service) removePrefix(ctx context.Context, prefix string) {
	if prefix == "" {
		return
	}
	objs := s.Objects.Client().ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true})
	for res := range s.Objects.Client().RemoveObjects(ctx, s.Bucket, objs, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			return
		}
	}
}

// Alert raises a platform alert (shown in the admin console).
func Alert(ctx context.Context, store *platform.Store, severity, kind string, vendorID int64, message string) error {
	var vid *int64
	if vendorID != 0 {
		vid = &vendorID
	}
	_, err := store.Pool().Exec(ctx, `INSERT INTO platform_alerts (severity, kind, vendor_id, message) VALUES ($1, $2, $3, $4)`,
		severity, kind, vid, message)
	if err != nil {
		return fmt.Errorf("raise alert: %w", err)
	}
	return nil
}

// rowCounts counts every table's rows in the transaction's snapshot.
func rowCounts(ctx context.Context, tx pgx.Tx) (map[string]int64, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	counts := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{"public", t}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", t, err)
		}
		counts[t] = n
	}
	return counts, nil
}

var (
	pgDumpOnce sync.Once
	pgDumpVer  string
)

func pgDumpVersion() string {
	pgDumpOnce.Do(func() {
		out, err := exec.Command("pg_dump", "--version").Output()
		if err == nil {
			pgDumpVer = strings.TrimSpace(string(out))
		}
	})
	return pgDumpVer
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
