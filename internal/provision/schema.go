package provision

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
)

// VendorVersion reads a vendor database's schema version with one
// connection and one query.
func (p *Provisioner) VendorVersion(ctx context.Context, v *platform.Vendor) (int64, error) {
	_, srv, err := p.adminPool(ctx, v.ServerID)
	if err != nil {
		return 0, err
	}
	conn, err := p.connectDB(ctx, srv, v.DBName)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return migrate.CurrentVersion(ctx, conn)
}

// MigrateVendor moves a vendor database to target with set: up if it is
// behind, down if it is ahead and down is allowed. It runs as the vendor's
// role, so new objects belong to the vendor, under goose's session lock.
// It does not record the new version: callers do, with RecordSchemaVersion
// or (rollouts) together with their own bookkeeping.
func (p *Provisioner) MigrateVendor(ctx context.Context, v *platform.Vendor, set migrate.Set, target int64, down bool, logger *slog.Logger) (before, after int64, err error) {
	// Connected as the vendor's own role: new objects belong to it, and
	// the connection can reach this database only.
	u, err := p.VendorDatabaseURL(ctx, v)
	if err != nil {
		return 0, 0, err
	}
	r, err := set.Open(u, logger, "")
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	before, after, err = r.Move(ctx, target, down)
	if err != nil && before == 0 && after == 0 {
		return 0, 0, fmt.Errorf("%s: %w", v.DBName, err)
	}
	return before, after, err
}

// RecordSchemaVersion notes a vendor database's version (and the error of
// its last migration, or none) in the control plane. A version of -1
// records the error alone (the database could not be read).
func (p *Provisioner) RecordSchemaVersion(ctx context.Context, vendorID, version int64, migErr error) error {
	msg := ""
	if migErr != nil {
		msg = migErr.Error()
	}
	if version < 0 {
		_, err := p.o.Store.Pool().Exec(ctx, `UPDATE vendor_databases SET migration_error = $2 WHERE vendor_id = $1 AND status = 'current'`, vendorID, msg)
		if err != nil {
			return fmt.Errorf("record migration error of vendor %d: %w", vendorID, err)
		}
		return nil
	}
	// The record may lag behind the database, never run ahead of it: a
	// record lost in a crash only makes the next rollout look at this
	// vendor again. So it is committed without waiting for the disk.
	_, err := p.o.Store.Pool().Exec(ctx, `UPDATE vendor_databases SET schema_version = $2, migration_error = $3
		FROM (SELECT set_config('synchronous_commit', 'off', true)) async
		WHERE vendor_id = $1 AND status = 'current' AND (schema_version, migration_error) IS DISTINCT FROM ($2, $3)`,
		vendorID, version, msg)
	if err != nil {
		return fmt.Errorf("record schema version of vendor %d: %w", vendorID, err)
	}
	return nil
}

// MigrateTemplate moves a server's template database to target (up only)
// and records its version.
func (p *Provisioner) MigrateTemplate(ctx context.Context, serverID int64, set migrate.Set, target int64, logger *slog.Logger) (before, after int64, err error) {
	_, srv, err := p.adminPool(ctx, serverID)
	if err != nil {
		return 0, 0, err
	}
	u, err := p.serverURL(srv, p.o.TemplateDB)
	if err != nil {
		return 0, 0, err
	}
	r, err := set.Open(u, logger, `SET ROLE `+database.Ident(TenantOwner(p.o.TemplateDB)))
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	if before, err = r.Version(ctx); err != nil {
		return 0, 0, fmt.Errorf("template on %s: %w", srv.Name, err)
	}
	if before < target {
		if _, err = r.UpTo(ctx, target); err != nil {
			return before, before, fmt.Errorf("migrate template on %s: %w", srv.Name, err)
		}
	}
	if after, err = r.Version(ctx); err != nil {
		return before, before, err
	}
	_, err = p.o.Store.Pool().Exec(ctx, `UPDATE db_servers SET template_version = $2 WHERE id = $1`, serverID, after)
	if err != nil {
		return before, after, fmt.Errorf("record template version: %w", err)
	}
	return before, after, nil
}
