// Package migrate runs the goose migration sets: one goose Provider per
// database, each holding a PostgreSQL session lock while it migrates so two
// runners never migrate one database at once.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/migrations"
)

// Set is one migration set (control plane or tenant).
type Set struct {
	Name string
	FS   fs.FS
	// lockID is the advisory lock key the session locker takes.
	lockID int64
}

// ControlPlane is the migration set of the control-plane database.
var ControlPlane = Set{Name: "controlplane", FS: migrations.ControlPlane(), lockID: 0x5f_636f6e74726f6c}

// Tenant is the migration set of every vendor database.
var Tenant = Set{Name: "tenant", FS: migrations.Tenant(), lockID: 0x5f_74656e616e74}

// WithFS returns a copy of the set reading its files from fsys (tests and
// benchmarks add migrations this way). It keeps the set's lock, so it
// never runs at the same time as the real set on one database.
func (s Set) WithFS(name string, fsys fs.FS) Set {
	return Set{Name: name, FS: fsys, lockID: s.lockID}
}

// Migration is one file of a set.
type Migration struct {
	Version int64
	Name    string
}

var versionsCache sync.Map // set name -> []Migration

// Migrations lists a set's migrations in version order.
func (s Set) Migrations() []Migration {
	if v, ok := versionsCache.Load(s.Name); ok {
		return v.([]Migration)
	}
	entries, err := fs.ReadDir(s.FS, ".")
	if err != nil {
		panic(fmt.Sprintf("migrate: read embedded %s migrations: %v", s.Name, err))
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if path.Ext(name) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil {
			panic(fmt.Sprintf("migrate: %s migration %q does not start with a version number", s.Name, name))
		}
		out = append(out, Migration{Version: v, Name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	versionsCache.Store(s.Name, out)
	return out
}

// Head is the newest version of the set.
func (s Set) Head() int64 {
	m := s.Migrations()
	if len(m) == 0 {
		return 0
	}
	return m[len(m)-1].Version
}

// Known reports whether version is a version of this set (0 is "empty").
func (s Set) Known(version int64) bool {
	if version == 0 {
		return true
	}
	for _, m := range s.Migrations() {
		if m.Version == version {
			return true
		}
	}
	return false
}

// Runner migrates one database with one goose Provider.
type Runner struct {
	db       *sql.DB
	provider *goose.Provider
}

// Open makes a Runner for the database at url. afterConnect, if given, runs
// on the migration connection first (for example SET ROLE).
func (s Set) Open(url string, logger *slog.Logger, afterConnect string) (*Runner, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	var opts []stdlib.OptionOpenDB
	if afterConnect != "" {
		opts = append(opts, stdlib.OptionAfterConnect(func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, afterConnect)
			return err
		}))
	}
	db := stdlib.OpenDB(*cfg, opts...)
	db.SetMaxOpenConns(2)
	r, err := s.OpenDB(db, logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	return r, nil
}

// OpenDB makes a Runner over an existing *sql.DB; Close closes it.
func (s Set) OpenDB(db *sql.DB, logger *slog.Logger) (*Runner, error) {
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(s.lockID),
		// wait up to 5 minutes (60 x 5s) for another runner to finish
		lock.WithLockTimeout(5, 60),
	)
	if err != nil {
		return nil, fmt.Errorf("make session locker: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, s.FS, opts...)
	if err != nil {
		return nil, fmt.Errorf("make %s migration provider: %w", s.Name, err)
	}
	return &Runner{db: db, provider: p}, nil
}

// Close releases the Runner's connections.
func (r *Runner) Close() error { return r.provider.Close() }

// Version returns the database's current version.
func (r *Runner) Version(ctx context.Context) (int64, error) {
	v, err := r.provider.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// UpTo applies pending migrations up to and including version.
func (r *Runner) UpTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	res, err := r.provider.UpTo(ctx, version)
	if err != nil && !errors.Is(err, goose.ErrNoNextVersion) {
		return res, fmt.Errorf("migrate up to %d: %w", version, err)
	}
	return res, nil
}

// Up applies every pending migration.
func (r *Runner) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	return r.UpTo(ctx, goose.MaxVersion)
}

// DownTo rolls back to version.
func (r *Runner) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	res, err := r.provider.DownTo(ctx, version)
	if err != nil {
		return res, fmt.Errorf("roll back to %d: %w", version, err)
	}
	return res, nil
}

// Move takes the database from its current version to target (up, or down
// when down is true and it is ahead) and returns the versions before and
// after. It reads the version once with a plain query and takes the rest
// from goose's results, so a vendor with nothing to do costs one query.
func (r *Runner) Move(ctx context.Context, target int64, down bool) (before, after int64, err error) {
	err = r.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT max(version_id) FROM goose_db_version), 0)`).Scan(&before)
	if err != nil && database.Code(err) != "42P01" { // undefined_table: never migrated
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	after = before
	var res []*goose.MigrationResult
	switch {
	case before < target:
		res, err = r.UpTo(ctx, target)
	case before > target && down:
		res, err = r.DownTo(ctx, target)
	default:
		return before, after, nil
	}
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		res = partial.Applied
	}
	for _, m := range res {
		if m.Error != nil {
			break
		}
		after = m.Source.Version
		if m.Direction == "down" {
			after = previous(m.Source.Version, r.provider.ListSources())
		}
	}
	return before, after, err
}

// previous is the version below v among sources (0 if none).
func previous(v int64, sources []*goose.Source) int64 {
	var prev int64
	for _, s := range sources {
		if s.Version < v && s.Version > prev {
			prev = s.Version
		}
	}
	return prev
}

// Querier is a pgx connection or pool.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CurrentVersion reads a database's version with one query and without the
// goose machinery: the cheap check that lets a rollout skip a vendor that
// is already at its target. A database never migrated reads as 0.
func CurrentVersion(ctx context.Context, q Querier) (int64, error) {
	var v int64
	err := q.QueryRow(ctx, `SELECT COALESCE((SELECT max(version_id) FROM goose_db_version), 0)`).Scan(&v)
	if err != nil {
		if database.Code(err) == "42P01" { // undefined_table: never migrated
			return 0, nil
		}
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
