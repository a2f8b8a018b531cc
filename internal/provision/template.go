package provision

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
)

// MigrateControlPlane brings the control-plane database to the newest
// migration and returns its version.
func MigrateControlPlane(ctx context.Context, controlPlaneURL string, logger *slog.Logger) (int64, error) {
	r, err := migrate.ControlPlane.Open(controlPlaneURL, logger, "")
	if err != nil {
		return 0, err
	}
	defer r.Close()
	if _, err := r.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate control plane: %w", err)
	}
	return r.Version(ctx)
}

// AddServer records a database server from an admin connection URL (a
// role with CREATEDB and CREATEROLE); its password is stored encrypted.
func (p *Provisioner) AddServer(ctx context.Context, actor platform.Actor, name, adminURL string) (*platform.Server, error) {
	cfg, err := pgconn.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("database server URL: %w", err)
	}
	srv := &platform.Server{
		Name: name, Host: cfg.Host, Port: int(cfg.Port), AdminUser: cfg.User,
		AdminPasswordEnc: p.o.Box.Seal([]byte(cfg.Password), platform.ServerPasswordContext(name)),
		MaintenanceDB:    cfg.Database,
	}
	if srv.MaintenanceDB == "" {
		srv.MaintenanceDB = "postgres"
	}
	saved, err := p.o.Store.UpsertServer(ctx, srv)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	old, ok := p.servers[saved.ID] // the address or login may have changed
	delete(p.servers, saved.ID)
	p.mu.Unlock()
	if ok {
		old.pool.Close() // outside p.mu: it waits for connections in use
	}
	if _, _, err := p.adminPool(ctx, saved.ID); err != nil {
		return nil, err
	}
	return saved, nil
}

// EnsureTemplate creates the tenant template database on a server if it is
// missing and migrates it to the newest tenant migration. Its objects are
// owned by the tenant-owner role, which each clone hands to its vendor.
func (p *Provisioner) EnsureTemplate(ctx context.Context, serverID int64, logger *slog.Logger) (int64, error) {
	if err := p.PrepareTemplate(ctx, serverID); err != nil {
		return 0, err
	}
	_, after, err := p.MigrateTemplate(ctx, serverID, migrate.Tenant, migrate.Tenant.Head(), logger)
	return after, err
}

// PrepareTemplate creates a server's template database and its owner role
// if they are missing, closed to everyone but the platform.
func (p *Provisioner) PrepareTemplate(ctx context.Context, serverID int64) error {
	pool, srv, err := p.adminPool(ctx, serverID)
	if err != nil {
		return err
	}
	owner := TenantOwner(p.o.TemplateDB)
	stmts := []string{
		`DO $$ BEGIN CREATE ROLE ` + database.Ident(owner) + ` NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
		`GRANT ` + database.Ident(owner) + ` TO CURRENT_USER`,
	}
	for _, s := range stmts {
		if _, err := pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("prepare template owner on %s: %w", srv.Name, err)
		}
	}
	// Vendor roles live in this cluster: they must not reach the
	// maintenance database either. Only its owner may revoke that; if the
	// platform role is not, say so (docs/operations.md).
	if _, err := pool.Exec(ctx, `REVOKE CONNECT ON DATABASE `+database.Ident(srv.MaintenanceDB)+` FROM PUBLIC`); err != nil {
		p.log.Warn("cannot close the maintenance database to other roles; revoke CONNECT from PUBLIC on it by hand",
			"server", srv.Name, "database", srv.MaintenanceDB, "err", err)
	}
	_, err = pool.Exec(ctx, `CREATE DATABASE `+database.Ident(p.o.TemplateDB))
	if err != nil && database.Code(err) != database.CodeDuplicateDatabase {
		return fmt.Errorf("create template database on %s: %w", srv.Name, err)
	}
	tmpl := database.Ident(p.o.TemplateDB)
	for _, s := range []string{
		`REVOKE ALL ON DATABASE ` + tmpl + ` FROM PUBLIC`,
		`GRANT CREATE, TEMPORARY ON DATABASE ` + tmpl + ` TO ` + database.Ident(owner),
	} {
		if _, err := pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("secure template database on %s: %w", srv.Name, err)
		}
	}
	conn, err := p.connectDB(ctx, srv, p.o.TemplateDB)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `GRANT USAGE, CREATE ON SCHEMA public TO `+database.Ident(owner))
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("let the template owner create objects: %w", err)
	}
	return nil
}

// EnsureRouterRole creates (or updates) the read-only role the tenant app
// uses on the control-plane database, from its connection URL. The role
// reads the routing view and may call request_vendor_work,
// register_stripe_account, platform_commission_bp and
// vendor_feature_flags, and nothing else.
func (p *Provisioner) EnsureRouterRole(ctx context.Context, routerURL string) error {
	cfg, err := pgconn.ParseConfig(routerURL)
	if err != nil {
		return fmt.Errorf("router database URL: %w", err)
	}
	if cfg.User == "" || cfg.Password == "" {
		return fmt.Errorf("router database URL must name a user and a password")
	}
	pool := p.o.Store.Pool()
	role := database.Ident(cfg.User)
	var dbName string
	if err := pool.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		return fmt.Errorf("read control-plane database name: %w", err)
	}
	stmts := []string{
		`DO $$ BEGIN CREATE ROLE ` + role + ` LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
		`ALTER ROLE ` + role + ` LOGIN NOINHERIT PASSWORD ` + literal(cfg.Password),
		`GRANT CONNECT ON DATABASE ` + database.Ident(dbName) + ` TO ` + role,
		`GRANT USAGE ON SCHEMA public TO ` + role,
		`GRANT SELECT ON routing_entries TO ` + role,
		// and ask for vendor work (imports, publishes, e-mail) to be run
		`GRANT EXECUTE ON FUNCTION request_vendor_work(bigint, text) TO ` + role,
		// record the Stripe account a vendor connected, and read the
		// platform's commission at checkout
		`GRANT EXECUTE ON FUNCTION register_stripe_account(bigint, text) TO ` + role,
		`GRANT EXECUTE ON FUNCTION platform_commission_bp() TO ` + role,
		// the vendor's own domains (docs/domains.md): list, add, ask to verify, remove, make primary
		`GRANT EXECUTE ON FUNCTION vendor_domains(bigint), vendor_domain_add(bigint, text, text, text), vendor_domain_check(bigint, text, text), vendor_domain_remove(bigint, text, text), vendor_domain_make_primary(bigint, text, text) TO ` + role,
		`GRANT EXECUTE ON FUNCTION redeem_view_as_ticket(text, bigint, text, text) TO ` + role, // console's "view as vendor"
		// read a vendor's effective feature flags (never the flag tables)
		`GRANT EXECUTE ON FUNCTION vendor_feature_flags(bigint) TO ` + role,
	}
	for _, s := range stmts {
		if _, err := pool.Exec(ctx, s); err != nil {
			return fmt.Errorf("set up router role %s: %w", cfg.User, err)
		}
	}
	return nil
}

// InitOptions says how to set up a fresh platform.
type InitOptions struct {
	ServerName string // name of the first database server ("primary")
	ServerURL  string // admin URL of the first database server
	RouterURL  string // the tenant app's read-only control-plane URL
	Logger     *slog.Logger
}

// InitResult reports what Init found and did.
type InitResult struct {
	Servers []ServerTemplate `json:"servers"`
}

// ServerTemplate is a server and its template's schema version.
type ServerTemplate struct {
	Server          string `json:"server"`
	TemplateVersion int64  `json:"template_version"`
}

// Init makes a platform ready to provision: the first database server is
// recorded, the router role set up, and every server's template migrated.
// The control plane must already be migrated. Init is idempotent.
func (p *Provisioner) Init(ctx context.Context, actor platform.Actor, o InitOptions) (*InitResult, error) {
	if o.ServerURL != "" {
		name := o.ServerName
		if name == "" {
			name = "primary"
		}
		if _, err := p.AddServer(ctx, actor, name, o.ServerURL); err != nil {
			return nil, err
		}
	}
	if o.RouterURL != "" {
		if err := p.EnsureRouterRole(ctx, o.RouterURL); err != nil {
			return nil, err
		}
	}
	servers, err := p.o.Store.Servers(ctx)
	if err != nil {
		return nil, err
	}
	res := &InitResult{}
	for _, s := range servers {
		v, err := p.EnsureTemplate(ctx, s.ID, o.Logger)
		if err != nil {
			return nil, err
		}
		res.Servers = append(res.Servers, ServerTemplate{Server: s.Name, TemplateVersion: v})
	}
	return res, nil
}

// VendorDatabaseURL is the connection URL of a vendor's database as the
// vendor's own role (for tests and tools; the tenant app builds its own).
func (p *Provisioner) VendorDatabaseURL(ctx context.Context, v *platform.Vendor) (string, error) {
	_, srv, err := p.adminPool(ctx, v.ServerID)
	if err != nil {
		return "", err
	}
	pw, err := p.o.Box.Open(v.PasswordEnc, PasswordContext(v.DBName))
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(v.RoleName, string(pw)),
		Host: srv.Host + ":" + strconv.Itoa(srv.Port), Path: "/" + v.DBName, RawQuery: "sslmode=" + url.QueryEscape(p.o.SSLMode)}
	return u.String(), nil
}
