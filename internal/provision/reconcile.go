package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"

	"github.com/storefleet/storefleet/internal/platform"
)

// ReconcileReport lists what Reconcile found and (unless it was a dry run)
// fixed.
type ReconcileReport struct {
	DryRun bool `json:"dry_run"`
	// Unfinished are vendors stopped mid-provisioning, finished now.
	Unfinished []string `json:"unfinished"`
	// Purged are deleted vendors whose grace period ended, removed now.
	Purged []string `json:"purged"`
	// Orphan resources: named like ours, owned by no vendor; removed now.
	OrphanDatabases []string `json:"orphan_databases"`
	OrphanRoles     []string `json:"orphan_roles"`
	OrphanBuckets   []string `json:"orphan_buckets"`
	// DroppedCopies are databases replaced by a restore or a move whose
	// grace period is over, and copies left by an attempt that died.
	DroppedCopies []string `json:"dropped_copies"`
	// ReadOnlyLifted are vendors left read-only by a move that died.
	ReadOnlyLifted []string `json:"read_only_lifted"`
	// Errors are what could not be fixed, one line each.
	Errors []string `json:"errors"`
}

// Clean reports whether nothing needed fixing and nothing failed.
func (r *ReconcileReport) Clean() bool {
	return len(r.Unfinished)+len(r.Purged)+len(r.OrphanDatabases)+len(r.OrphanRoles)+len(r.OrphanBuckets)+len(r.DroppedCopies)+len(r.ReadOnlyLifted)+len(r.Errors) == 0
}

// Reconcile finishes vendors left mid-lifecycle, removes vendors whose
// deletion grace period is over, and removes databases, roles and buckets
// that no vendor owns. With dryRun it only reports.
func (p *Provisioner) Reconcile(ctx context.Context, dryRun bool) (*ReconcileReport, error) {
	rep := &ReconcileReport{DryRun: dryRun, Unfinished: []string{}, Purged: []string{},
		OrphanDatabases: []string{}, OrphanRoles: []string{}, OrphanBuckets: []string{}, DroppedCopies: []string{}, ReadOnlyLifted: []string{}, Errors: []string{}}

	vendors, err := p.o.Store.ListVendors(ctx, platform.VendorFilter{States: []platform.State{
		platform.StateRequested, platform.StateDatabaseReady, platform.StateBucketReady,
		platform.StateSchemaReady, platform.StateDeleting}})
	if err != nil {
		return nil, err
	}
	for _, v := range vendors {
		if v.State == platform.StateDeleting {
			if v.DeleteAfter == nil || time.Now().Before(*v.DeleteAfter) {
				continue
			}
			rep.Purged = append(rep.Purged, v.Slug)
		} else {
			rep.Unfinished = append(rep.Unfinished, v.Slug)
		}
		if dryRun {
			continue
		}
		if err := p.Advance(ctx, v.ID); err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}

	if err := p.dropOldCopies(ctx, rep); err != nil {
		return nil, err
	}
	if err := p.liftStaleReadOnly(ctx, rep); err != nil {
		return nil, err
	}
	if err := p.findOrphans(ctx, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// dropOldCopies drops databases retired by a restore or a move once their
// grace period is over, and copies that an attempt which died left
// 'preparing' for more than an hour (under the vendor lock, so never one
// that is still being made).
func (p *Provisioner) dropOldCopies(ctx context.Context, rep *ReconcileReport) error {
	rows, err := p.o.Store.Pool().Query(ctx, `SELECT id, vendor_id, server_id, db_name FROM vendor_databases
		WHERE (status = 'retired' AND drop_after <= now()) OR (status = 'preparing' AND created_at < now() - interval '1 hour')`)
	if err != nil {
		return fmt.Errorf("list old copies: %w", err)
	}
	type old struct {
		ID, VendorID, ServerID int64
		DB                     string
	}
	olds, err := pgx.CollectRows(rows, pgx.RowToStructByPos[old])
	if err != nil {
		return fmt.Errorf("list old copies: %w", err)
	}
	for _, o := range olds {
		rep.DroppedCopies = append(rep.DroppedCopies, o.DB)
		if rep.DryRun {
			continue
		}
		err := p.WithVendorLock(ctx, o.VendorID, func() error {
			// Under the lock, look again: a restore or move that held the
			// lock may have just made this copy the current database.
			var still bool
			if err := p.o.Store.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT FROM vendor_databases WHERE id = $1
				AND ((status = 'retired' AND drop_after <= now()) OR status = 'preparing'))`, o.ID).Scan(&still); err != nil {
				return fmt.Errorf("check %s again: %w", o.DB, err)
			}
			if !still {
				return nil
			}
			if err := p.DropDatabase(ctx, o.ServerID, o.DB); err != nil {
				return err
			}
			_, err := p.o.Store.Pool().Exec(ctx, `UPDATE vendor_databases SET status = 'dropped' WHERE id = $1 AND status <> 'current'`, o.ID)
			return err
		})
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	return nil
}

// findOrphans looks for resources named like ours that no vendor owns. A
// vendor's rows are written before any of its resources are made, so a
// resource without a row was left by a crash after the vendor was removed,
// or by something else using our names.
func (p *Provisioner) findOrphans(ctx context.Context, rep *ReconcileReport) error {
	servers, err := p.o.Store.Servers(ctx)
	if err != nil {
		return err
	}
	for _, srv := range servers {
		pool, _, err := p.adminPool(ctx, srv.ID)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		// What exists first, then what is owned: rows are committed
		// before resources are made, so a resource made between the two
		// reads is always found owned.
		dbs, err := p.namesOnServer(ctx, pool, `SELECT datname FROM pg_database`)
		if err != nil {
			return err
		}
		roles, err := p.namesOnServer(ctx, pool, `SELECT rolname FROM pg_roles`)
		if err != nil {
			return err
		}
		owned, err := p.ownedNames(ctx, `SELECT db_name FROM vendor_databases WHERE server_id = $1 AND status <> 'dropped'`, srv.ID)
		if err != nil {
			return err
		}
		ownedRoles, err := p.ownedNames(ctx, `SELECT role_name FROM vendor_databases WHERE server_id = $1 AND status <> 'dropped'`, srv.ID)
		if err != nil {
			return err
		}
		for _, db := range dbs {
			if owned[db] {
				continue
			}
			rep.OrphanDatabases = append(rep.OrphanDatabases, srv.Name+"/"+db)
			if !rep.DryRun {
				if err := dropDatabaseAndRole(ctx, pool, db, ""); err != nil {
					rep.Errors = append(rep.Errors, err.Error())
				}
			}
		}
		for _, role := range roles {
			if ownedRoles[role] {
				continue
			}
			rep.OrphanRoles = append(rep.OrphanRoles, srv.Name+"/"+role)
			if !rep.DryRun {
				if err := dropDatabaseAndRole(ctx, pool, "", role); err != nil {
					rep.Errors = append(rep.Errors, err.Error())
				}
			}
		}
	}
	if p.o.Objects == nil {
		return nil
	}
	buckets, err := p.o.Objects.ListBuckets(ctx, p.names.BucketPrefix())
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		return nil
	}
	owned, err := p.ownedNames(ctx, `SELECT name FROM buckets WHERE status <> 'dropped' AND $1::bigint IS NOT NULL`, 0)
	if err != nil {
		return err
	}
	for _, b := range buckets {
		if _, ours := p.names.vendorIDOf(b, true); !ours || owned[b] {
			continue
		}
		rep.OrphanBuckets = append(rep.OrphanBuckets, b)
		if !rep.DryRun {
			if err := p.o.Objects.RemoveBucket(ctx, b); err != nil {
				rep.Errors = append(rep.Errors, err.Error())
			}
		}
	}
	return nil
}

func (p *Provisioner) ownedNames(ctx context.Context, q string, arg int64) (map[string]bool, error) {
	rows, err := p.o.Store.Pool().Query(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("list owned resources: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list owned resources: %w", err)
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// namesOnServer lists database or role names on a server that have our
// vendor naming pattern.
func (p *Provisioner) namesOnServer(ctx context.Context, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, q string) ([]string, error) {
	rows, err := pool.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list server objects: %w", err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list server objects: %w", err)
	}
	var out []string
	for _, n := range all {
		if _, ours := p.names.vendorIDOf(n, false); ours {
			out = append(out, n)
		}
	}
	return out, nil
}

// liftStaleReadOnly lifts read-only mode from vendors that no move is
// working on any more (a move that died before its switch, whose copy
// dropOldCopies has removed or which never got that far).
func (p *Provisioner) liftStaleReadOnly(ctx context.Context, rep *ReconcileReport) error {
	rows, err := p.o.Store.Pool().Query(ctx, `SELECT v.id, v.slug FROM vendors v WHERE v.read_only
		AND NOT EXISTS (SELECT FROM vendor_databases d WHERE d.vendor_id = v.id AND d.status = 'preparing' AND d.purpose = 'move')`)
	if err != nil {
		return fmt.Errorf("list read-only vendors: %w", err)
	}
	type ro struct {
		ID   int64
		Slug string
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ro])
	if err != nil {
		return fmt.Errorf("list read-only vendors: %w", err)
	}
	for _, v := range list {
		rep.ReadOnlyLifted = append(rep.ReadOnlyLifted, v.Slug)
		if rep.DryRun {
			continue
		}
		err := p.WithVendorLock(ctx, v.ID, func() error {
			cur, err := p.o.Store.VendorByID(ctx, v.ID)
			if err != nil {
				return err
			}
			var moving bool
			if err := p.o.Store.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT FROM vendor_databases WHERE vendor_id = $1
				AND status = 'preparing' AND purpose = 'move')`, v.ID).Scan(&moving); err != nil || moving {
				return err
			}
			if cur.DBName != "" {
				if err := p.AdminExec(ctx, cur.ServerID, `ALTER DATABASE `+database.Ident(cur.DBName)+` RESET default_transaction_read_only`); err != nil {
					return fmt.Errorf("make %s writable again: %w", cur.DBName, err)
				}
			}
			_, err = p.o.Store.Pool().Exec(ctx, `UPDATE vendors SET read_only = false, read_only_reason = '', updated_at = now() WHERE id = $1`, v.ID)
			return err
		})
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	return nil
}
