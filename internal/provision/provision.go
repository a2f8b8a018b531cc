// Package provision runs the lifecycle of vendors: it creates each vendor's
// database (a clone of the tenant template, owned by the vendor's own role)
// and bucket, suspends, resumes and deletes them, and reconciles what a
// crashed run left behind. The control plane and the provisioner CLI both
// use it. Every step is idempotent and recorded before the next begins.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/secretbox"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/storage"
)

// Options wires a Provisioner.
type Options struct {
	Store       *platform.Store
	Box         *secretbox.Box
	Objects     *storage.Admin
	Prefix      string // start of every database, role and bucket name
	TemplateDB  string // the template database on every server
	BaseDomain  string // vendors get <slug>.<BaseDomain>
	DeleteGrace time.Duration
	// SSLMode is used for connections to vendor database servers
	// (default "prefer").
	SSLMode string
	Logger  *slog.Logger
	// CrashAfter names a step after which the process kills itself with
	// SIGKILL: fault-injection tests use it to prove that every step can be
	// finished by a re-run. Empty in normal use.
	CrashAfter string
	// Mailer sends owner invitations (nil or unconfigured: none are sent,
	// and InviteOwner returns the link instead).
	Mailer *mail.Mailer
	// TenantPublicURL is how shoppers reach the tenant app, with {host}
	// for the vendor's domain: links in e-mails are built from it.
	TenantPublicURL string
}

// Provisioner runs vendor lifecycles. It is safe for concurrent use.
type Provisioner struct {
	o     Options
	names Names
	log   *slog.Logger

	mu      sync.Mutex
	servers map[int64]*serverConn // admin pools, one per database server
	locks   *pgxpool.Pool         // connections that hold vendor locks (lockVendor)
	closed  bool
}

// New returns a Provisioner.
func New(o Options) *Provisioner {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SSLMode == "" {
		o.SSLMode = "prefer"
	}
	if o.DeleteGrace == 0 {
		o.DeleteGrace = 7 * 24 * time.Hour
	}
	return &Provisioner{o: o, names: Names{o.Prefix}, log: o.Logger, servers: map[int64]*serverConn{}}
}

// Names returns the naming scheme of this platform's resources.
func (p *Provisioner) Names() Names { return p.names }

// Close closes the admin pools and the lock pool; a Provisioner is not
// used after Close.
func (p *Provisioner) Close() {
	p.mu.Lock()
	pools := make([]*pgxpool.Pool, 0, len(p.servers)+1)
	for id, sc := range p.servers {
		pools = append(pools, sc.pool)
		delete(p.servers, id)
	}
	if p.locks != nil {
		pools = append(pools, p.locks)
	}
	p.closed = true
	p.mu.Unlock()
	// Outside the lock: a pool's Close waits for its connections, and work
	// holding one (a vendor lock) may need p.mu to finish.
	for _, pool := range pools {
		pool.Close()
	}
}

func (p *Provisioner) crashPoint(step string) {
	if p.o.CrashAfter == step {
		p.log.Warn("fault injection: killing the process", "after", step)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL cannot be caught; wait for it to land
	}
}

// serverURL builds an admin connection URL for a database on a server.
func (p *Provisioner) serverURL(srv *platform.Server, dbName string) (string, error) {
	pw, err := p.o.Box.Open(srv.AdminPasswordEnc, platform.ServerPasswordContext(srv.Name))
	if err != nil {
		return "", fmt.Errorf("open admin password of database server %s: %w", srv.Name, err)
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(srv.AdminUser, string(pw)),
		Host:     srv.Host + ":" + strconv.Itoa(srv.Port),
		Path:     "/" + dbName,
		RawQuery: url.Values{"sslmode": {p.o.SSLMode}, "application_name": {"storefleet-provisioner"}}.Encode(),
	}
	return u.String(), nil
}

// serverConn is a database server's record and the admin pool on it.
type serverConn struct {
	srv  *platform.Server
	pool *pgxpool.Pool
}

// adminPool returns the pool on a server's maintenance database. The
// server's record is read once and kept with the pool; AddServer replaces
// both when the server's address or login change.
func (p *Provisioner) adminPool(ctx context.Context, serverID int64) (*pgxpool.Pool, *platform.Server, error) {
	p.mu.Lock()
	sc, ok := p.servers[serverID]
	closed := p.closed
	p.mu.Unlock()
	switch {
	case closed:
		return nil, nil, errClosed
	case ok:
		return sc.pool, sc.srv, nil
	}
	// Read the server and connect without holding p.mu: the read needs a
	// control-plane connection, which the holder of one waiting for p.mu
	// might be keeping from us.
	srv, err := p.o.Store.Server(ctx, serverID)
	if err != nil {
		return nil, nil, err
	}
	u, err := p.serverURL(srv, srv.MaintenanceDB)
	if err != nil {
		return nil, nil, err
	}
	pool, err := database.Open(ctx, u, func(c *pgxpool.Config) { c.MaxConns = 8 })
	if err != nil {
		return nil, nil, fmt.Errorf("connect to database server %s: %w", srv.Name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		pool.Close()
		return nil, nil, errClosed
	}
	if sc, ok := p.servers[serverID]; ok { // another caller connected first
		pool.Close()
		return sc.pool, sc.srv, nil
	}
	p.servers[serverID] = &serverConn{srv: srv, pool: pool}
	return pool, srv, nil
}

// connectDB opens one admin connection to a database on a server.
func (p *Provisioner) connectDB(ctx context.Context, srv *platform.Server, dbName string) (*pgx.Conn, error) {
	u, err := p.serverURL(srv, dbName)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("connect to database %s on %s: %w", dbName, srv.Name, err)
	}
	return conn, nil
}

func randomPassword() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("provision: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// literal quotes a string as an SQL literal (for statements such as
// CREATE ROLE ... PASSWORD that take no parameters).
func literal(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// CreateVendor records a new vendor and takes it through every step to
// active. If a step fails, the vendor stays at the last recorded step with
// the error noted, and Advance or Reconcile finishes it later.
func (p *Provisioner) CreateVendor(ctx context.Context, actor platform.Actor, req CreateRequest) (*platform.Vendor, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	id, err := p.recordRequest(ctx, actor, req)
	if err != nil {
		return nil, err
	}
	p.crashPoint("requested")
	if err := p.Advance(ctx, id); err != nil {
		return nil, err
	}
	return p.o.Store.VendorByID(ctx, id)
}

// recordRequest writes the vendor, its database, bucket and host rows in
// one transaction: from here on, every resource the later steps create has
// a row that owns it, so reconcile never mistakes it for an orphan.
func (p *Provisioner) recordRequest(ctx context.Context, actor platform.Actor, req CreateRequest) (int64, error) {
	var id int64
	err := p.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		srv, err := platform.LeastLoadedServer(ctx, tx)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO vendors (slug, name, owner_email) VALUES ($1, $2, $3) RETURNING id`,
			req.Slug, req.Name, req.OwnerEmail).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert vendor: %w", err)
		}
		dbName := p.names.Database(id)
		sealed := p.o.Box.Seal([]byte(randomPassword()), PasswordContext(dbName))
		if _, err := tx.Exec(ctx, `INSERT INTO vendor_databases (vendor_id, server_id, db_name, role_name, password_enc)
			VALUES ($1, $2, $3, $4, $5)`, id, srv.ID, dbName, p.names.Role(id), sealed); err != nil {
			return fmt.Errorf("insert vendor database: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO buckets (vendor_id, name) VALUES ($1, $2)`, id, p.names.Bucket(id)); err != nil {
			return fmt.Errorf("insert vendor bucket: %w", err)
		}
		host := req.Slug + "." + p.o.BaseDomain
		if _, err := tx.Exec(ctx, `INSERT INTO domains (vendor_id, host, kind, is_primary, verified_at)
			VALUES ($1, $2, 'subdomain', true, now())`, id, host); err != nil {
			return fmt.Errorf("insert vendor host: %w", err)
		}
		if err := platform.RecordEvent(ctx, tx, id, platform.StateRequested, "vendor requested by "+actor.String(), ""); err != nil {
			return err
		}
		if err := platform.Notify(ctx, tx, platform.NoticeVendorCreated, id, fmt.Sprintf("New vendor %s (%s) created by %s.", req.Name, req.Slug, actor),
			"/admin/vendors/id/"+strconv.FormatInt(id, 10)); err != nil {
			return err
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{
			Action: "vendor.create", TargetType: "vendor", TargetID: strconv.FormatInt(id, 10),
			After: map[string]any{"slug": req.Slug, "name": req.Name, "owner_email": req.OwnerEmail, "server": srv.Name},
		})
	})
	if platform.IsSlugTaken(err) {
		return 0, ErrSlugTaken
	}
	if err != nil {
		return 0, fmt.Errorf("record vendor %q: %w", req.Slug, err)
	}
	return id, nil
}

// lockVendor takes a session-level advisory lock on the vendor, so only one
// process advances it at a time; the lock goes when the connection does,
// also when the process dies.
//
// The lock is held on a connection of its own small pool (lockPool), not
// the control plane's: a caller holding the lock still needs the control
// plane's pool for its work, so had the lock taken a connection from it,
// as many vendors advancing at once as that pool has connections would
// each hold one and wait for another forever. A vendor already locked is
// waited for by trying again (20 ms, doubling to 1 s), not by holding a
// connection in pg_advisory_lock.
func (p *Provisioner) lockVendor(ctx context.Context, id int64) (release func(), err error) {
	locks, err := p.lockPool(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock vendor %d: %w", id, err)
	}
	// A vendor held by a long restore or move must not keep lock
	// connections waiting: try, and give the connection back between
	// tries, so other vendors' work is never stuck behind it.
	wait := 20 * time.Millisecond
	for {
		conn, err := locks.Acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("lock vendor %d: %w", id, err)
		}
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(1936090726, $1::int)`, id).Scan(&got); err != nil {
			conn.Conn().Close(context.Background()) // it may hold the lock if the answer was lost
			conn.Release()
			return nil, fmt.Errorf("lock vendor %d: %w", id, err)
		}
		if got {
			return func() {
				_, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(1936090726, $1::int)`, id)
				if err != nil {
					conn.Conn().Close(context.Background()) // closing the session drops the lock
				}
				conn.Release()
			}, nil
		}
		conn.Release()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock vendor %d (held by another provisioning, restore or move): %w", id, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// errClosed is the error of a Provisioner used after Close.
var errClosed = errors.New("the provisioner is closed")

// lockConns bounds the vendors one process holds locks on at once; more
// wait for a connection to the lock pool.
const lockConns = 8

// lockPool returns the pool of lock connections, made on first use with
// the control plane's connection settings.
func (p *Provisioner) lockPool(ctx context.Context) (*pgxpool.Pool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errClosed
	}
	if p.locks != nil {
		return p.locks, nil
	}
	cfg := p.o.Store.Pool().Config().Copy()
	cfg.MaxConns, cfg.MinConns = lockConns, 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect for vendor locks: %w", err)
	}
	p.locks = pool
	return pool, nil
}

// Advance takes a vendor from its recorded step through the rest of its
// provisioning, or finishes a deletion whose grace period is over. It is
// safe to call at any time and from several processes.
func (p *Provisioner) Advance(ctx context.Context, id int64) error {
	release, err := p.lockVendor(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	run := &advanceRun{}
	defer run.close(ctx)
	for {
		v, err := p.o.Store.VendorByID(ctx, id)
		if err != nil {
			return err
		}
		var next platform.State
		var msg string
		var stepErr error
		switch v.State {
		case platform.StateRequested:
			next, msg, stepErr = platform.StateDatabaseReady, "database "+v.DBName+" on "+v.ServerName, p.ensureDatabase(ctx, run, v)
		case platform.StateDatabaseReady:
			next, msg = platform.StateBucketReady, "bucket "+v.Bucket
			if !run.bucketDone { // made with the database, unless that was another run
				stepErr = p.ensureBucket(ctx, v)
			}
		case platform.StateBucketReady:
			var ver int64
			ver, stepErr = p.ensureSchema(ctx, run, v)
			next, msg = platform.StateSchemaReady, fmt.Sprintf("schema at version %d", ver)
		case platform.StateSchemaReady:
			next, msg = platform.StateActive, "routable at "+v.Host
		case platform.StateDeleting:
			if v.DeleteAfter != nil && !time.Now().Before(*v.DeleteAfter) {
				return p.purge(ctx, v)
			}
			return nil
		default:
			return nil // active, suspended, deleted: nothing to finish
		}
		if stepErr != nil {
			stepErr = fmt.Errorf("vendor %s: %s step: %w", v.Slug, v.State, stepErr)
			if rerr := p.o.Store.RecordError(context.WithoutCancel(ctx), id, v.State, stepErr); rerr != nil {
				p.log.Error("cannot record provisioning error", "vendor", v.Slug, "err", rerr)
			}
			return stepErr
		}
		if err := p.transition(ctx, id, v.State, next, msg); err != nil {
			return err
		}
		p.crashPoint(string(next))
		if next == platform.StateActive {
			p.inviteNewOwner(ctx, id)
		}
	}
}

// transition records a step, only if the vendor is still where we left it.
// Intermediate steps are committed without waiting for the disk: a step
// record lost in a crash only makes the next run redo an idempotent step.
// The first record (which owns the resources) and the last (active) are
// durable.
func (p *Provisioner) transition(ctx context.Context, id int64, from, to platform.State, msg string) error {
	return p.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		if to != platform.StateActive {
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
		}
		var cur platform.State
		if err := tx.QueryRow(ctx, `SELECT state FROM vendors WHERE id = $1 FOR UPDATE`, id).Scan(&cur); err != nil {
			return fmt.Errorf("lock vendor %d: %w", id, err)
		}
		if cur != from {
			return fmt.Errorf("vendor %d moved from %s to %s while being provisioned", id, from, cur)
		}
		return platform.SetState(ctx, tx, id, to, msg)
	})
}

// ensureDatabase makes the vendor's role and database, cloned from the
// template, owned by the role, closed to everyone else. The role, the
// clone and the vendor's bucket are made at the same time (each is
// idempotent and owned by rows written before, so a crash in between
// leaves nothing that reconcile cannot finish or recognise); the database
// is handed to the role once both exist.
func (p *Provisioner) ensureDatabase(ctx context.Context, run *advanceRun, v *platform.Vendor) error {
	pool, srv, err := p.adminPool(ctx, v.ServerID)
	if err != nil {
		return err
	}
	pw, err := p.o.Box.Open(v.PasswordEnc, PasswordContext(v.DBName))
	if err != nil {
		return fmt.Errorf("open password of %s: %w", v.DBName, err)
	}
	var roleErr, bucketErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		roleErr = p.ensureRole(ctx, pool, v.RoleName, string(pw))
	}()
	if p.o.Objects != nil && v.Bucket != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bucketErr = p.ensureBucket(ctx, v)
		}()
	}
	cloneErr := p.cloneTemplate(ctx, pool, v.DBName)
	wg.Wait()
	if roleErr != nil {
		return roleErr
	}
	p.crashPoint("role")
	if cloneErr != nil {
		return cloneErr
	}
	p.crashPoint("database")
	run.bucketDone = bucketErr == nil && p.o.Objects != nil
	conn, err := run.connect(ctx, p, srv, v.DBName)
	if err != nil {
		return err
	}
	// One transaction: give the database to the vendor's role, close it to
	// everyone else, and hand the template's objects (owned by the
	// tenant-owner role) to the vendor's role; only objects inside this
	// database move.
	err = database.Transact(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ALTER DATABASE `+database.Ident(v.DBName)+` OWNER TO `+database.Ident(v.RoleName)); err != nil {
			return fmt.Errorf("give %s its database: %w", v.RoleName, err)
		}
		if _, err := tx.Exec(ctx, `REVOKE ALL ON DATABASE `+database.Ident(v.DBName)+` FROM PUBLIC`); err != nil {
			return fmt.Errorf("revoke public access to %s: %w", v.DBName, err)
		}
		if _, err := tx.Exec(ctx, `REASSIGN OWNED BY `+database.Ident(TenantOwner(p.o.TemplateDB))+` TO `+database.Ident(v.RoleName)); err != nil {
			return fmt.Errorf("give %s its objects: %w", v.RoleName, err)
		}
		return nil
	})
	return err
}

func (p *Provisioner) ensureRole(ctx context.Context, pool *pgxpool.Pool, role, password string) error {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return fmt.Errorf("look up role %s: %w", role, err)
	}
	opts := ` LOGIN INHERIT NOCREATEDB NOCREATEROLE CONNECTION LIMIT 100 PASSWORD ` + literal(password)
	verb := "CREATE"
	if exists { // from a crashed run or a race: make sure it matches
		verb = "ALTER"
	}
	// One transaction: the role, and the platform role's membership in it
	// (to own databases for the role and run its migrations with SET ROLE).
	err := database.Transact(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, verb+` ROLE `+database.Ident(role)+opts); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `GRANT `+database.Ident(role)+` TO CURRENT_USER`)
		return err
	})
	if database.Code(err) == database.CodeDuplicateObject && !exists { // a concurrent run made it first
		return p.ensureRole(ctx, pool, role, password)
	}
	if err != nil {
		return fmt.Errorf("%s role %s: %w", strings.ToLower(verb), role, err)
	}
	return nil
}

// cloneTemplate runs CREATE DATABASE ... TEMPLATE (owned by the platform
// role until the vendor's role takes it), retrying while another session
// (a template migration) holds the template open.
func (p *Provisioner) cloneTemplate(ctx context.Context, pool *pgxpool.Pool, dbName string) error {
	for attempt := 0; ; attempt++ {
		_, err := pool.Exec(ctx, `CREATE DATABASE `+database.Ident(dbName)+` TEMPLATE `+database.Ident(p.o.TemplateDB))
		switch {
		case err == nil, database.Code(err) == database.CodeDuplicateDatabase:
			return nil
		case database.Code(err) == database.CodeInvalidCatalogName:
			return fmt.Errorf("template database %s is missing on this server: run `provisioner init`", p.o.TemplateDB)
		case database.Code(err) == "55006" && attempt < 50: // object_in_use: someone is connected to the template
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		default:
			return fmt.Errorf("create database %s from %s: %w", dbName, p.o.TemplateDB, err)
		}
	}
}

func (p *Provisioner) ensureBucket(ctx context.Context, v *platform.Vendor) error {
	if p.o.Objects == nil {
		return errors.New("no object store configured")
	}
	return p.o.Objects.EnsureBucket(ctx, v.Bucket)
}

// ensureSchema brings a new vendor database to the newest tenant migration
// (it is usually there already, as a clone of an up-to-date template).
func (p *Provisioner) ensureSchema(ctx context.Context, run *advanceRun, v *platform.Vendor) (int64, error) {
	_, srv, err := p.adminPool(ctx, v.ServerID)
	if err != nil {
		return 0, err
	}
	conn, err := run.connect(ctx, p, srv, v.DBName)
	if err != nil {
		return 0, err
	}
	ver, err := migrate.CurrentVersion(ctx, conn)
	if err != nil {
		return 0, err
	}
	if head := migrate.Tenant.Head(); ver < head {
		run.close(ctx) // the migration runner opens its own connection
		u, err := p.serverURL(srv, v.DBName)
		if err != nil {
			return 0, err
		}
		r, err := migrate.Tenant.Open(u, nil, `SET ROLE `+database.Ident(v.RoleName))
		if err != nil {
			return 0, err
		}
		defer r.Close()
		if _, err := r.Up(ctx); err != nil {
			return 0, err
		}
		ver = head
		if conn, err = run.connect(ctx, p, srv, v.DBName); err != nil {
			return 0, err
		}
	}
	// The owner's account, invited: the back office's first user.
	if err := staff.EnsureOwner(ctx, conn, v.OwnerEmail); err != nil {
		return 0, err
	}
	_, err = p.o.Store.Pool().Exec(ctx, `UPDATE vendor_databases SET schema_version = $2 WHERE vendor_id = $1 AND status = 'current'`, v.ID, ver)
	if err != nil {
		return 0, fmt.Errorf("record schema version: %w", err)
	}
	return ver, nil
}

// advanceRun keeps the admin connection to the new vendor database for the
// steps of one Advance call, so the database and schema steps share it.
type advanceRun struct {
	db   string
	conn *pgx.Conn
	// bucketDone says the bucket was made during the database step.
	bucketDone bool
}

func (r *advanceRun) connect(ctx context.Context, p *Provisioner, srv *platform.Server, db string) (*pgx.Conn, error) {
	if r.conn != nil && r.db == db && !r.conn.IsClosed() {
		return r.conn, nil
	}
	r.close(ctx)
	conn, err := p.connectDB(ctx, srv, db)
	if err != nil {
		return nil, err
	}
	r.db, r.conn = db, conn
	return conn, nil
}

func (r *advanceRun) close(ctx context.Context) {
	if r.conn != nil {
		_ = r.conn.Close(context.WithoutCancel(ctx))
		r.conn = nil
	}
}
