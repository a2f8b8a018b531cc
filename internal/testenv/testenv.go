// Package testenv gives tests a private slice of the real services that
// `make test` starts (PostgreSQL, Redis, MinIO, mailpit, stripe-mock): a
// fresh control-plane database, a unique name prefix for vendor databases,
// roles and buckets, and a provisioner wired to them. Nothing is mocked. A
// test never skips for a missing service: it fails and says what to start.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/joho/godotenv"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/secretbox"
	"github.com/storefleet/storefleet/internal/storage"
	"github.com/storefleet/storefleet/templates"
)

const startHint = "start the test services with `make test-services` (or run everything with `make test`)"

// Env is one test's slice of the platform.
type Env struct {
	// Vars are the service settings from the test services' env file.
	Vars map[string]string
	// Cfg is a configuration pointing at this test's control-plane
	// database, with this test's name prefix.
	Cfg     *config.Config
	CP      *pgxpool.Pool
	Store   *platform.Store
	Box     *secretbox.Box
	Objects *storage.Admin
	Prov    *provision.Provisioner
	Backups *backup.Service
	// RouterURL is this test's read-only control-plane role.
	RouterURL string
}

var (
	varsOnce sync.Once
	vars     map[string]string
	varsErr  error
)

// Vars returns the settings of the running test services.
func Vars(t testing.TB) map[string]string {
	t.Helper()
	varsOnce.Do(func() { vars, varsErr = loadVars() })
	if varsErr != nil {
		t.Fatalf("test services: %v; %s", varsErr, startHint)
	}
	return vars
}

func loadVars() (map[string]string, error) {
	file := os.Getenv("STOREFLEET_TEST_ENV_FILE")
	if file == "" {
		dir, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		for {
			cand := filepath.Join(dir, ".data", "test", "env")
			if _, err := os.Stat(cand); err == nil {
				file = cand
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return nil, fmt.Errorf("no .data/test/env found above the working directory")
			}
			dir = parent
		}
	}
	return godotenv.Read(file)
}

var (
	templatesOnce sync.Once
	templatesErr  error
)

// migrationsHash names the shared templates after the migration files, so
// a changed migration gets a fresh template.
func migrationsHash() string {
	h := sha256.New()
	h.Write([]byte("control plane with River's job tables")) // what else the templates hold
	for _, set := range []migrate.Set{migrate.ControlPlane, migrate.Tenant} {
		_ = fs.WalkDir(set.FS, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(set.FS, path)
			h.Write([]byte(set.Name + "/" + path))
			h.Write(b)
			return err
		})
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

// Template names shared by every test of one migration set.
var (
	hash             = migrationsHash()
	controlPlaneTmpl = "sftest_cp_" + hash
	tenantTmpl       = "sftest_tenant_" + hash
)

// TenantTemplate is the shared tenant template database of the tests.
func TenantTemplate() string { return tenantTmpl }

func with(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	p.Path = "/" + db
	return p.String()
}

// ensureTemplates makes the shared control-plane and tenant templates once
// per test process, under an advisory lock so parallel packages take turns.
func ensureTemplates(ctx context.Context, v map[string]string, box *secretbox.Box) error {
	admin, err := database.Open(ctx, v["STOREFLEET_DB_SERVER_URL"])
	if err != nil {
		return err
	}
	defer admin.Close()
	conn, err := admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(424242)`); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(424242)`) //nolint:errcheck

	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)`, controlPlaneTmpl).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		tmp := controlPlaneTmpl + "_new"
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+database.Ident(tmp)); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+database.Ident(tmp)); err != nil {
			return err
		}
		if _, err := provision.MigrateControlPlane(ctx, with(v["STOREFLEET_CONTROLPLANE_DATABASE_URL"], tmp), nil); err != nil {
			return err
		}
		pool, err := database.Open(ctx, with(v["STOREFLEET_CONTROLPLANE_DATABASE_URL"], tmp))
		if err != nil {
			return err
		}
		err = jobs.Migrate(ctx, pool)
		pool.Close()
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `ALTER DATABASE `+database.Ident(tmp)+` RENAME TO `+database.Ident(controlPlaneTmpl)); err != nil {
			return err
		}
	}
	// The tenant template is made by the provisioner itself, through a
	// throwaway control plane that records the server.
	e, err := newEnv(ctx, v, box, "sftestinit")
	if err != nil {
		return err
	}
	defer e.close()
	srv, err := e.Store.Servers(ctx)
	if err != nil {
		return err
	}
	_, err = e.Prov.EnsureTemplate(ctx, srv[0].ID, nil)
	return err
}

// New returns a fresh slice of the platform for one test, removed when the
// test ends.
func New(t testing.TB) *Env {
	t.Helper()
	v := Vars(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key, err := config.FromEnv(func(k string) string { return v[k] })
	if err != nil {
		t.Fatalf("test services env: %v", err)
	}
	box, err := secretbox.New(key.MasterKey)
	if err != nil {
		t.Fatal(err)
	}
	templatesOnce.Do(func() { templatesErr = ensureTemplates(ctx, v, box) })
	if templatesErr != nil {
		t.Fatalf("prepare test templates: %v; %s", templatesErr, startHint)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "t" + hex.EncodeToString(b)
	e, err := newEnv(ctx, v, box, prefix)
	if err != nil {
		t.Fatalf("test environment: %v; %s", err, startHint)
	}
	t.Cleanup(e.close)
	return e
}

func newEnv(ctx context.Context, v map[string]string, box *secretbox.Box, prefix string) (*Env, error) {
	admin, err := database.Open(ctx, v["STOREFLEET_DB_SERVER_URL"])
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	cpDB := prefix + "_cp"
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+database.Ident(cpDB)+` WITH (FORCE)`); err != nil {
		return nil, err
	}
	if _, err := cloneRetry(ctx, admin, cpDB, controlPlaneTmpl); err != nil {
		return nil, err
	}
	// A clone does not inherit the template's access list; close it to
	// vendor roles as the control-plane migration does in place.
	if _, err := admin.Exec(ctx, `REVOKE ALL ON DATABASE `+database.Ident(cpDB)+` FROM PUBLIC`); err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for k, val := range v {
		vars[k] = val
	}
	vars["STOREFLEET_CONTROLPLANE_DATABASE_URL"] = with(v["STOREFLEET_CONTROLPLANE_DATABASE_URL"], cpDB)
	routerURL, err := url.Parse(vars["STOREFLEET_CONTROLPLANE_DATABASE_URL"])
	if err != nil {
		return nil, err
	}
	routerURL.User = url.UserPassword(prefix+"_router", "router-"+prefix)
	vars["STOREFLEET_ROUTER_DATABASE_URL"] = routerURL.String()
	vars["STOREFLEET_NAME_PREFIX"] = prefix
	vars["STOREFLEET_TEMPLATE_DB"] = tenantTmpl
	cfg, err := config.FromEnv(func(k string) string { return vars[k] })
	if err != nil {
		return nil, err
	}
	cp, err := database.Open(ctx, cfg.ControlPlaneURL)
	if err != nil {
		return nil, err
	}
	objects, err := storage.NewAdmin(storage.Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey,
		SecretKey: cfg.S3SecretKey, Region: cfg.S3Region})
	if err != nil {
		cp.Close()
		return nil, err
	}
	store := platform.New(cp)
	prov := provision.New(provision.Options{
		Store: store, Box: box, Objects: objects, Prefix: prefix, TemplateDB: tenantTmpl,
		BaseDomain: cfg.BaseDomain, DeleteGrace: time.Hour, SSLMode: cfg.DBSSLMode, Logger: slog.New(slog.DiscardHandler),
		TenantPublicURL: cfg.TenantPublicURL,
	})
	e := &Env{Vars: vars, Cfg: cfg, CP: cp, Store: store, Box: box, Objects: objects, Prov: prov, RouterURL: cfg.RouterURL}
	e.Backups = e.newBackups("")
	actor := platform.Actor{Kind: "system", Name: "testenv"}
	if _, err := prov.AddServer(ctx, actor, "primary", v["STOREFLEET_DB_SERVER_URL"]); err != nil {
		e.close()
		return nil, err
	}
	if err := prov.EnsureRouterRole(ctx, cfg.RouterURL); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func cloneRetry(ctx context.Context, admin *pgxpool.Pool, db, tmpl string) (bool, error) {
	for i := 0; ; i++ {
		_, err := admin.Exec(ctx, `CREATE DATABASE `+database.Ident(db)+` TEMPLATE `+database.Ident(tmpl))
		if err == nil {
			return true, nil
		}
		if database.Code(err) != "55006" || i > 100 {
			return false, fmt.Errorf("clone %s: %w", tmpl, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// close removes everything made under this Env's prefix.
func (e *Env) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.Prov.Close()
	e.CP.Close()
	admin, err := database.Open(ctx, e.Vars["STOREFLEET_DB_SERVER_URL"])
	if err != nil {
		return
	}
	defer admin.Close()
	prefix := e.Cfg.Prefix
	for _, srvURL := range []string{e.Vars["STOREFLEET_DB_SERVER_URL"], e.Vars["STOREFLEET_DB_SERVER2_URL"]} {
		if srvURL == "" {
			continue
		}
		pool, err := database.Open(ctx, srvURL)
		if err != nil {
			continue
		}
		rows, _ := pool.Query(ctx, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, prefix+"_")
		var dbs []string
		for rows != nil && rows.Next() {
			var n string
			_ = rows.Scan(&n)
			dbs = append(dbs, n)
		}
		for _, db := range dbs {
			_, _ = pool.Exec(ctx, `DROP DATABASE IF EXISTS `+database.Ident(db)+` WITH (FORCE)`)
		}
		rows, _ = pool.Query(ctx, `SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)`, prefix+"_")
		var roles []string
		for rows != nil && rows.Next() {
			var n string
			_ = rows.Scan(&n)
			roles = append(roles, n)
		}
		for _, r := range roles {
			_, _ = pool.Exec(ctx, `DROP OWNED BY `+database.Ident(r))
			_, _ = pool.Exec(ctx, `DROP ROLE IF EXISTS `+database.Ident(r))
		}
		pool.Close()
	}
	if buckets, err := e.Objects.ListBuckets(ctx, strings.ReplaceAll(prefix, "_", "-")+"-"); err == nil {
		for _, b := range buckets {
			_ = e.Objects.RemoveBucket(ctx, b)
		}
	}
}

// CreateVendor provisions a vendor through the real provisioner and fails
// the test if that does not work.
func (e *Env) CreateVendor(t testing.TB, slug, name string) *platform.Vendor {
	t.Helper()
	v, err := e.Prov.CreateVendor(context.Background(), platform.Actor{Kind: "system", Name: "test"},
		provision.CreateRequest{Slug: slug, Name: name, OwnerEmail: "owner@" + slug + ".example"})
	if err != nil {
		t.Fatalf("create vendor %s: %v", slug, err)
	}
	return v
}

// VendorPool connects to a vendor's database as the vendor's own role.
func (e *Env) VendorPool(t testing.TB, v *platform.Vendor) *pgxpool.Pool {
	t.Helper()
	u, err := e.Prov.VendorDatabaseURL(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := database.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TenantDB hands a test a fresh vendor database (a clone of the tenant
// template, owned by its own role) and a pool connected as that role.
func (e *Env) TenantDB(t testing.TB) (*platform.Vendor, *pgxpool.Pool) {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	v := e.CreateVendor(t, "db-"+hex.EncodeToString(b), "Test shop")
	return v, e.VendorPool(t, v)
}

// Attach builds an Env over the parent test's slice, described by the
// STOREFLEET_* variables of this process, for child processes that
// fault-injection tests start. crashAfter is passed to the provisioner.
// Nothing is cleaned up: the parent owns the slice.
func Attach(t testing.TB, crashAfter string) *Env {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := database.Open(ctx, cfg.ControlPlaneURL)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := storage.NewAdmin(storage.Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey,
		SecretKey: cfg.S3SecretKey, Region: cfg.S3Region})
	if err != nil {
		t.Fatal(err)
	}
	store := platform.New(cp)
	prov := provision.New(provision.Options{
		Store: store, Box: box, Objects: objects, Prefix: cfg.Prefix, TemplateDB: cfg.TemplateDB,
		BaseDomain: cfg.BaseDomain, DeleteGrace: time.Hour, SSLMode: cfg.DBSSLMode, CrashAfter: crashAfter,
		TenantPublicURL: cfg.TenantPublicURL,
	})
	e := &Env{Cfg: cfg, CP: cp, Store: store, Box: box, Objects: objects, Prov: prov, RouterURL: cfg.RouterURL}
	e.Backups = e.newBackups(crashAfter)
	return e
}

// UseMailer gives this Env's provisioner a mailer that sends to the test
// services' mailpit, so that new vendors' owners are e-mailed their
// invitation, and returns it.
func (e *Env) UseMailer(t testing.TB) *mail.Mailer {
	t.Helper()
	m, err := mail.New(e.Vars["STOREFLEET_SMTP_URL"], templates.FS, "tenantapp")
	if err != nil {
		t.Fatalf("mailer: %v", err)
	}
	if !m.Configured() {
		t.Fatal("STOREFLEET_SMTP_URL is not set; " + startHint)
	}
	e.renewProvisioner(m)
	return m
}

// renewProvisioner replaces the provisioner after a change of template
// database or mailer.
func (e *Env) renewProvisioner(m *mail.Mailer) {
	old := e.Prov
	e.Prov = provision.New(provision.Options{
		Store: e.Store, Box: e.Box, Objects: e.Objects, Prefix: e.Cfg.Prefix, TemplateDB: e.Cfg.TemplateDB,
		BaseDomain: e.Cfg.BaseDomain, DeleteGrace: time.Hour, SSLMode: e.Cfg.DBSSLMode,
		Logger: slog.New(slog.DiscardHandler), Mailer: m, TenantPublicURL: e.Cfg.TenantPublicURL,
	})
	old.Close()
	e.Backups = e.newBackups("")
}

func (e *Env) newBackups(crashAfter string) *backup.Service {
	return &backup.Service{Store: e.Store, Prov: e.Prov, Objects: e.Objects, Bucket: e.Cfg.BackupBucket,
		SSLMode: e.Cfg.DBSSLMode, Grace: time.Hour, CrashAfter: crashAfter}
}

// AddSecondServer records the test services' second PostgreSQL server as
// "second", with a template at the newest version, and returns it.
func (e *Env) AddSecondServer(t testing.TB) *platform.Server {
	t.Helper()
	ctx := context.Background()
	srv, err := e.Prov.AddServer(ctx, platform.Actor{Kind: "system", Name: "test"}, "second", e.Vars["STOREFLEET_DB_SERVER2_URL"])
	if err != nil {
		t.Fatalf("add the second server: %v", err)
	}
	if err := e.Prov.PrepareTemplate(ctx, srv.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Prov.MigrateTemplate(ctx, srv.ID, migrate.Tenant, migrate.Tenant.Head(), nil); err != nil {
		t.Fatal(err)
	}
	return srv
}

// UseOwnTemplate gives this Env a template database of its own at version
// (of set; the zero Set means the tenant set), and a provisioner that clones
// it: for tests that migrate templates, such as rollouts.
func (e *Env) UseOwnTemplate(t testing.TB, set migrate.Set, version int64) {
	t.Helper()
	ctx := context.Background()
	if set.Name == "" {
		set = migrate.Tenant
	}
	e.Cfg.TemplateDB = e.Cfg.Prefix + "_template"
	e.Vars["STOREFLEET_TEMPLATE_DB"] = e.Cfg.TemplateDB
	e.renewProvisioner(nil)
	servers, err := e.Store.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		if err := e.Prov.PrepareTemplate(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.Prov.MigrateTemplate(ctx, s.ID, set, version, nil); err != nil {
			t.Fatal(err)
		}
	}
}
