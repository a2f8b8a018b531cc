package backup

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
)

// MoveResult reports a move between database servers.
type MoveResult struct {
	Vendor    string    `json:"vendor"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Database  string    `json:"database"`
	Replaced  string    `json:"replaced"`
	DropAfter time.Time `json:"drop_after"`
	// WritesRefused is how long the vendor was read-only.
	WritesRefused time.Duration `json:"writes_refused_ns"`
	Rows          int64         `json:"rows_copied"`
}

// Move copies a vendor's database to another server and switches to it:
// the vendor is read-only from the moment the copy starts (the storefront
// still browses; writes get a maintenance answer and the database itself
// refuses them), the copy is checked table by table, routing flips in one
// transaction, and the old copy stops accepting connections at once and is
// dropped after the grace period.
func (s *Service) Move(ctx context.Context, actor platform.Actor, slug, toServer string) (*MoveResult, error) {
	v, err := s.Store.VendorBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if v.State != platform.StateActive && v.State != platform.StateSuspended {
		return nil, fmt.Errorf("vendor %s is %s; only active or suspended vendors can be moved", slug, v.State.Label())
	}
	servers, err := s.Store.Servers(ctx)
	if err != nil {
		return nil, err
	}
	var to *platform.Server
	for _, srv := range servers {
		if srv.Name == toServer {
			to = srv
		}
	}
	if to == nil {
		return nil, fmt.Errorf("no database server named %q (see `provisioner servers list`): %w", toServer, platform.ErrNotFound)
	}
	if to.ID == v.ServerID {
		return nil, fmt.Errorf("vendor %s is already on server %s", slug, toServer)
	}
	res := &MoveResult{Vendor: slug, From: v.ServerName, To: to.Name}
	err = s.Prov.WithVendorLock(ctx, v.ID, func() error {
		v, err = s.Store.VendorByID(ctx, v.ID)
		if err != nil {
			return err
		}
		return s.move(ctx, actor, v, to, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) move(ctx context.Context, actor platform.Actor, v *platform.Vendor, to *platform.Server, res *MoveResult) error {
	c, err := s.prepareCopy(ctx, v, "move", to.ID)
	if err != nil {
		return err
	}
	refusedFrom := time.Now()
	if err := s.setReadOnly(ctx, actor, v, true, "moving to server "+to.Name); err != nil {
		s.dropCopy(context.WithoutCancel(ctx), c)
		return err
	}
	rows, version, err := s.copyDatabase(ctx, v, c)
	if err == nil {
		s.crashPoint("copied")
		var drop time.Time
		// The flip lifts read-only mode in the same transaction: the
		// vendor can never stay read-only on its new database.
		drop, err = s.flip(ctx, actor, v, c, version, "vendor.move", map[string]any{"from": v.ServerName, "to": to.Name})
		res.DropAfter = drop
	}
	if err != nil {
		// Back to where we were: the old database, writable.
		s.dropCopy(context.WithoutCancel(ctx), c)
		if rerr := s.setReadOnly(context.WithoutCancel(ctx), actor, v, false, ""); rerr != nil {
			return fmt.Errorf("%w (and lifting read-only mode failed: %v; run `provisioner move` again or lift it by hand)", err, rerr)
		}
		return err
	}
	res.WritesRefused = time.Since(refusedFrom)
	// The old copy takes no more connections, so nothing can be written
	// there after the flip.
	if err := s.closeOld(ctx, v); err != nil {
		return err
	}
	res.Database, res.Replaced, res.Rows = c.name, v.DBName, rows
	_, _ = s.Store.Pool().Exec(ctx, `UPDATE audit_log SET after = after || jsonb_build_object('writes_refused_ms', $2::bigint)
		WHERE id = (SELECT max(id) FROM audit_log WHERE action = 'vendor.move' AND target_id = $1)`, strconv.FormatInt(v.ID, 10), res.WritesRefused.Milliseconds())
	return nil
}

// setReadOnly switches a vendor's read-only mode: in the control plane
// (the tenant app answers writes with a maintenance message) and in its
// database, which refuses writes by default; sessions opened before are
// ended so none keeps writing.
func (s *Service) setReadOnly(ctx context.Context, actor platform.Actor, v *platform.Vendor, on bool, reason string) error {
	err := s.Store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE vendors SET read_only = $2, read_only_reason = $3, updated_at = now() WHERE id = $1`, v.ID, on, reason); err != nil {
			return fmt.Errorf("set read-only mode: %w", err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "vendor.read_only", TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), After: map[string]any{"read_only": on, "reason": reason}})
	})
	if err != nil {
		return err
	}
	db := database.Ident(v.DBName)
	stmt := `ALTER DATABASE ` + db + ` SET default_transaction_read_only = on`
	if !on {
		stmt = `ALTER DATABASE ` + db + ` RESET default_transaction_read_only`
	}
	if err := s.Prov.AdminExec(ctx, v.ServerID, stmt); err != nil {
		return fmt.Errorf("set read-only mode of %s: %w", v.DBName, err)
	}
	if on {
		if err := s.Prov.AdminExec(ctx, v.ServerID, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1 AND usename = $2 AND pid <> pg_backend_pid()`, v.DBName, v.RoleName); err != nil {
			return fmt.Errorf("end open sessions of %s: %w", v.DBName, err)
		}
	}
	return nil
}

// copyDatabase streams pg_dump of the vendor's database into pg_restore on
// the copy (no file in between) and checks every table's row count.
func (s *Service) copyDatabase(ctx context.Context, v *platform.Vendor, c *copyDB) (int64, int64, error) {
	conn, err := s.Prov.ConnectAdmin(ctx, v.ServerID, v.DBName)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	var snapshot string
	if err := tx.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&snapshot); err != nil {
		return 0, 0, fmt.Errorf("export snapshot: %w", err)
	}
	counts, err := rowCounts(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	version, err := migrate.CurrentVersion(ctx, tx)
	if err != nil {
		return 0, 0, err
	}
	from, err := s.Prov.Server(ctx, v.ServerID)
	if err != nil {
		return 0, 0, err
	}
	fromURL, err := s.Prov.AdminURL(from, v.DBName)
	if err != nil {
		return 0, 0, err
	}
	to, err := s.Prov.Server(ctx, c.serverID)
	if err != nil {
		return 0, 0, err
	}
	toURL, err := s.Prov.AdminURL(to, c.name)
	if err != nil {
		return 0, 0, err
	}
	dump := exec.CommandContext(ctx, "pg_dump", "--format=custom", "--no-owner", "--no-acl", "--snapshot="+snapshot)
	dump.Env = pgEnv(fromURL, s.SSLMode)
	var dumpErr bytes.Buffer
	dump.Stderr = &limitedWriter{w: &dumpErr, n: 8 << 10}
	out, err := dump.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := dump.Start(); err != nil {
		return 0, 0, fmt.Errorf("start pg_dump: %w", err)
	}
	restoreErr := runPgRestore(ctx, toURL, s.SSLMode, v.RoleName, out)
	// If pg_restore stopped early, nobody reads the pipe any more: close it
	// so pg_dump ends (with a broken pipe) instead of blocking for ever.
	_ = out.Close()
	if waitErr := dump.Wait(); waitErr != nil && restoreErr == nil {
		return 0, 0, fmt.Errorf("pg_dump: %w: %s", waitErr, strings.TrimSpace(dumpErr.String()))
	}
	if restoreErr != nil {
		return 0, 0, restoreErr
	}
	rows, err := s.checkCounts(ctx, c, &Manifest{RowCounts: counts, SchemaVersion: version})
	return rows, version, err
}

// closeOld stops a replaced database from taking connections and ends its
// sessions, so nothing is written there after routing moved on (a pool or
// a replica that has not heard of the switch yet gets an error, not a
// write that would be lost).
func (s *Service) closeOld(ctx context.Context, v *platform.Vendor) error {
	old := database.Ident(v.DBName)
	if err := s.Prov.AdminExec(ctx, v.ServerID, `ALTER DATABASE `+old+` ALLOW_CONNECTIONS false`); err != nil {
		return fmt.Errorf("close the replaced database %s: %w", v.DBName, err)
	}
	if err := s.Prov.AdminExec(ctx, v.ServerID, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, v.DBName); err != nil {
		return fmt.Errorf("end the sessions of %s: %w", v.DBName, err)
	}
	return nil
}
