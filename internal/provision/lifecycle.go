package provision

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/platform"
)

// StateError means an action does not apply to the vendor's current state.
type StateError struct {
	Slug   string
	State  platform.State
	Action string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("vendor %s is %s; cannot %s it", e.Slug, e.State.Label(), e.Action)
}

// change moves a live vendor from one of the allowed states to another, in
// one transaction with its audit row.
func (p *Provisioner) change(ctx context.Context, actor platform.Actor, slug, action string, allowed []platform.State,
	apply func(tx pgx.Tx, v *platform.Vendor) (platform.State, map[string]any, error)) (*platform.Vendor, error) {
	var id int64
	err := p.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM vendors WHERE slug = $1 AND state <> 'deleted' FOR UPDATE`, slug); err != nil {
			return fmt.Errorf("lock vendor %s: %w", slug, err)
		}
		v, err := platform.VendorBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		id = v.ID
		ok := false
		for _, s := range allowed {
			ok = ok || v.State == s
		}
		if !ok {
			return &StateError{Slug: slug, State: v.State, Action: action}
		}
		next, after, err := apply(tx, v)
		if err != nil {
			return err
		}
		if err := platform.SetState(ctx, tx, v.ID, next, action+" by "+actor.String()); err != nil {
			return err
		}
		after["state"] = next
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{
			Action: "vendor." + action, TargetType: "vendor", TargetID: strconv.FormatInt(v.ID, 10),
			Before: map[string]any{"slug": v.Slug, "state": v.State}, After: after,
		})
	})
	if err != nil {
		return nil, err
	}
	return p.o.Store.VendorByID(ctx, id)
}

// Suspend takes an active vendor offline: its storefront answers 503.
func (p *Provisioner) Suspend(ctx context.Context, actor platform.Actor, slug, reason string) (*platform.Vendor, error) {
	return p.change(ctx, actor, slug, "suspend", []platform.State{platform.StateActive},
		func(tx pgx.Tx, v *platform.Vendor) (platform.State, map[string]any, error) {
			_, err := tx.Exec(ctx, `UPDATE vendors SET suspend_reason = $2 WHERE id = $1`, v.ID, reason)
			return platform.StateSuspended, map[string]any{"reason": reason}, err
		})
}

// Resume brings a suspended vendor back online.
func (p *Provisioner) Resume(ctx context.Context, actor platform.Actor, slug string) (*platform.Vendor, error) {
	return p.change(ctx, actor, slug, "resume", []platform.State{platform.StateSuspended},
		func(tx pgx.Tx, v *platform.Vendor) (platform.State, map[string]any, error) {
			_, err := tx.Exec(ctx, `UPDATE vendors SET suspend_reason = '' WHERE id = $1`, v.ID)
			return platform.StateActive, map[string]any{}, err
		})
}

// DeleteOptions controls DeleteVendor.
type DeleteOptions struct {
	// Now skips the grace period: the database, role and bucket go at once.
	Now bool
}

// DeleteVendor stops routing a vendor at once and schedules its data for
// removal after the grace period (or now). Reconcile, or a later Advance,
// removes the data when the time comes.
func (p *Provisioner) DeleteVendor(ctx context.Context, actor platform.Actor, slug string, opts DeleteOptions) (*platform.Vendor, error) {
	after := time.Now().Add(p.o.DeleteGrace)
	if opts.Now {
		after = time.Now()
	}
	allowed := []platform.State{platform.StateRequested, platform.StateDatabaseReady, platform.StateBucketReady,
		platform.StateSchemaReady, platform.StateActive, platform.StateSuspended, platform.StateDeleting}
	v, err := p.change(ctx, actor, slug, "delete", allowed,
		func(tx pgx.Tx, v *platform.Vendor) (platform.State, map[string]any, error) {
			_, err := tx.Exec(ctx, `UPDATE vendors SET delete_after = $2 WHERE id = $1`, v.ID, after)
			return platform.StateDeleting, map[string]any{"delete_after": after}, err
		})
	if err != nil || !opts.Now {
		return v, err
	}
	if err := p.Advance(ctx, v.ID); err != nil {
		return nil, err
	}
	return p.o.Store.VendorByID(ctx, v.ID)
}

// purge removes a deleted vendor's database, role, bucket and host names.
// Each removal tolerates the thing being gone already.
func (p *Provisioner) purge(ctx context.Context, v *platform.Vendor) error {
	if err := p.dropDatabases(ctx, v.ID); err != nil {
		return p.failStep(ctx, v, err)
	}
	p.crashPoint("purge-database")
	if v.Bucket != "" && p.o.Objects != nil {
		if err := p.o.Objects.RemoveBucket(ctx, v.Bucket); err != nil {
			return p.failStep(ctx, v, err)
		}
	}
	return p.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE buckets SET status = 'dropped' WHERE vendor_id = $1`, v.ID); err != nil {
			return fmt.Errorf("mark bucket removed: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM domains WHERE vendor_id = $1`, v.ID); err != nil {
			return fmt.Errorf("release host names: %w", err)
		}
		if err := platform.SetState(ctx, tx, v.ID, platform.StateDeleted, "database, role and bucket removed"); err != nil {
			return err
		}
		return platform.Audit(ctx, tx, platform.Actor{Kind: "system"}, platform.AuditEntry{
			Action: "vendor.purge", TargetType: "vendor", TargetID: strconv.FormatInt(v.ID, 10),
			Before: map[string]any{"slug": v.Slug, "database": v.DBName, "bucket": v.Bucket},
		})
	})
}

func (p *Provisioner) failStep(ctx context.Context, v *platform.Vendor, err error) error {
	err = fmt.Errorf("vendor %s: %s step: %w", v.Slug, v.State, err)
	if rerr := p.o.Store.RecordError(context.WithoutCancel(ctx), v.ID, v.State, err); rerr != nil {
		p.log.Error("cannot record error", "vendor", v.Slug, "err", rerr)
	}
	p.o.Store.NotifyFailure(ctx, platform.NoticeProvisioningFailed, v.ID, err.Error(), "/admin/vendors/id/"+strconv.FormatInt(v.ID, 10))
	return err
}

// dropDatabases drops every database of a vendor not yet dropped, and its
// role.
func (p *Provisioner) dropDatabases(ctx context.Context, vendorID int64) error {
	rows, err := p.o.Store.Pool().Query(ctx, `SELECT id, server_id, db_name, role_name FROM vendor_databases
		WHERE vendor_id = $1 AND status <> 'dropped'`, vendorID)
	if err != nil {
		return fmt.Errorf("list vendor databases: %w", err)
	}
	type vdb struct {
		ID, ServerID int64
		DB, Role     string
	}
	dbs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[vdb])
	if err != nil {
		return fmt.Errorf("list vendor databases: %w", err)
	}
	// Every database first, then the roles (a role may own several: the
	// current database and copies kept after a restore or a move).
	type serverRole struct {
		server int64
		role   string
	}
	roles := map[serverRole]bool{}
	for _, d := range dbs {
		pool, _, err := p.adminPool(ctx, d.ServerID)
		if err != nil {
			return err
		}
		if err := dropDatabaseAndRole(ctx, pool, d.DB, ""); err != nil {
			return err
		}
		roles[serverRole{d.ServerID, d.Role}] = true
	}
	for sr := range roles {
		pool, _, err := p.adminPool(ctx, sr.server)
		if err != nil {
			return err
		}
		if err := dropDatabaseAndRole(ctx, pool, "", sr.role); err != nil {
			return err
		}
	}
	for _, d := range dbs {
		if _, err := p.o.Store.Pool().Exec(ctx, `UPDATE vendor_databases SET status = 'dropped' WHERE id = $1`, d.ID); err != nil {
			return fmt.Errorf("mark database %s dropped: %w", d.DB, err)
		}
	}
	return nil
}

// execer is a pool or a connection.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func dropDatabaseAndRole(ctx context.Context, pool execer, db, role string) error {
	if db != "" {
		if _, err := pool.Exec(ctx, `DROP DATABASE IF EXISTS `+database.Ident(db)+` WITH (FORCE)`); err != nil {
			return fmt.Errorf("drop database %s: %w", db, err)
		}
	}
	if role != "" {
		if _, err := pool.Exec(ctx, `DROP ROLE IF EXISTS `+database.Ident(role)); err != nil {
			return fmt.Errorf("drop role %s: %w", role, err)
		}
	}
	return nil
}
