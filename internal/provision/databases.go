package provision

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/platform"
)

// This file holds what backups, restores and moves need beyond the
// provisioning lifecycle: admin connections to any vendor database, empty
// databases for a vendor's role, and the vendor lock.

// Server returns a database server's record (cached with its admin pool).
func (p *Provisioner) Server(ctx context.Context, serverID int64) (*platform.Server, error) {
	_, srv, err := p.adminPool(ctx, serverID)
	return srv, err
}

// AdminURL is the platform role's connection URL for a database on a
// server. Pass it to tools through the environment, never on a command
// line.
func (p *Provisioner) AdminURL(srv *platform.Server, db string) (string, error) {
	return p.serverURL(srv, db)
}

// ConnectAdmin opens one admin connection to a database on a server.
func (p *Provisioner) ConnectAdmin(ctx context.Context, serverID int64, db string) (*pgx.Conn, error) {
	_, srv, err := p.adminPool(ctx, serverID)
	if err != nil {
		return nil, err
	}
	return p.connectDB(ctx, srv, db)
}

// WithVendorLock runs fn while holding the vendor's advisory lock, which
// provisioning, restores and moves all take, so they never overlap.
func (p *Provisioner) WithVendorLock(ctx context.Context, vendorID int64, fn func() error) error {
	release, err := p.lockVendor(ctx, vendorID)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}

// EnsureVendorRole makes (or updates) a vendor's role on a server, with
// the password sealed for its current database.
func (p *Provisioner) EnsureVendorRole(ctx context.Context, serverID int64, v *platform.Vendor) error {
	pool, _, err := p.adminPool(ctx, serverID)
	if err != nil {
		return err
	}
	pw, err := p.o.Box.Open(v.PasswordEnc, PasswordContext(v.DBName))
	if err != nil {
		return fmt.Errorf("open password of %s: %w", v.DBName, err)
	}
	return p.ensureRole(ctx, pool, v.RoleName, string(pw))
}

// CreateEmptyDatabase creates an empty database (from template0) owned by
// role and closed to everyone else; an existing one is dropped first, so a
// crashed attempt is simply redone.
func (p *Provisioner) CreateEmptyDatabase(ctx context.Context, serverID int64, db, role string) error {
	pool, _, err := p.adminPool(ctx, serverID)
	if err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `DROP DATABASE IF EXISTS `+database.Ident(db)+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop leftover database %s: %w", db, err)
	}
	if _, err := pool.Exec(ctx, `CREATE DATABASE `+database.Ident(db)+` OWNER `+database.Ident(role)+` TEMPLATE template0`); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	if _, err := pool.Exec(ctx, `REVOKE ALL ON DATABASE `+database.Ident(db)+` FROM PUBLIC`); err != nil {
		return fmt.Errorf("close database %s: %w", db, err)
	}
	return nil
}

// DropDatabase drops a database on a server (not its role).
func (p *Provisioner) DropDatabase(ctx context.Context, serverID int64, db string) error {
	pool, _, err := p.adminPool(ctx, serverID)
	if err != nil {
		return err
	}
	return dropDatabaseAndRole(ctx, pool, db, "")
}

// AdminExec runs a statement on a server's maintenance database.
func (p *Provisioner) AdminExec(ctx context.Context, serverID int64, sql string, args ...any) error {
	pool, _, err := p.adminPool(ctx, serverID)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, sql, args...)
	return err
}

// CopyName is the name of another database of a vendor (a restore, a move
// or a verification copy), derived from its vendor_databases row id.
func (n Names) CopyName(vendorID, rowID int64) string {
	return fmt.Sprintf("%s_%d", n.Database(vendorID), rowID)
}

// Seal seals a secret with the platform's master key for a context.
func (p *Provisioner) Seal(plaintext []byte, context string) []byte {
	return p.o.Box.Seal(plaintext, context)
}

// Open opens a sealed secret.
func (p *Provisioner) Open(sealed []byte, context string) ([]byte, error) {
	return p.o.Box.Open(sealed, context)
}
