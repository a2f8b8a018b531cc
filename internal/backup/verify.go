package backup

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
)

// VerifyResult reports one verification.
type VerifyResult struct {
	BackupID int64         `json:"backup_id"`
	Vendor   string        `json:"vendor"`
	OK       bool          `json:"ok"`
	Error    string        `json:"error,omitempty"`
	Rows     int64         `json:"rows_checked"`
	Duration time.Duration `json:"duration_ns"`
}

// Verify restores a backup into a scratch database, checks its checksum,
// size, schema version and every table's row count against the manifest,
// drops the scratch copy and records the result (an alert if it failed).
func (s *Service) Verify(ctx context.Context, actor platform.Actor, backupID int64) (*VerifyResult, error) {
	start := time.Now()
	b, err := s.Get(ctx, backupID)
	if err != nil {
		return nil, err
	}
	if b.State != "completed" {
		return nil, fmt.Errorf("backup %d is %s: %w", b.ID, b.State, ErrNotUsable)
	}
	v, err := s.Store.VendorByID(ctx, b.VendorID)
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{BackupID: b.ID, Vendor: b.Slug}
	verr := s.verify(ctx, v, b, res)
	res.Duration = time.Since(start)
	state, msg := "ok", ""
	if verr != nil {
		state, msg, res.Error = "failed", verr.Error(), verr.Error()
	}
	res.OK = verr == nil
	err = s.Store.Transact(context.WithoutCancel(ctx), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE backups SET verify_state = $2, verified_at = now(), verify_error = $3 WHERE id = $1`, b.ID, state, msg); err != nil {
			return fmt.Errorf("record verification: %w", err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "backup.verify", TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), After: map[string]any{"backup": b.ID, "result": state, "error": msg}})
	})
	if err != nil {
		return nil, err
	}
	if verr != nil {
		_ = Alert(context.WithoutCancel(ctx), s.Store, "critical", "verify.failed", v.ID,
			fmt.Sprintf("Verification of backup %d of %s failed: %v", b.ID, v.Slug, verr))
	}
	return res, nil
}

func (s *Service) verify(ctx context.Context, v *platform.Vendor, b *Backup, res *VerifyResult) error {
	if v.DBName == "" {
		return fmt.Errorf("vendor %s has no database to verify against", v.Slug)
	}
	m, err := s.manifest(ctx, b)
	if err != nil {
		return err
	}
	// Scratch copies run under the vendor lock too, so they never race a
	// restore or a move of the same vendor.
	return s.Prov.WithVendorLock(ctx, v.ID, func() error {
		c, rows, err := s.restoreCopy(ctx, v, b, m, "verify", v.ServerID)
		if err != nil {
			return err
		}
		res.Rows = rows
		s.dropCopy(context.WithoutCancel(ctx), c)
		return nil
	})
}

// VerifyRandom verifies the newest completed backup of n vendors picked at
// random.
func (s *Service) VerifyRandom(ctx context.Context, actor platform.Actor, n int) ([]*VerifyResult, error) {
	rows, err := s.Store.Pool().Query(ctx, `SELECT DISTINCT ON (vendor_id) id FROM backups
		WHERE state = 'completed' AND expired_at IS NULL ORDER BY vendor_id, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("pick backups to verify: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("pick backups to verify: %w", err)
	}
	rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	if n < len(ids) {
		ids = ids[:n]
	}
	var out []*VerifyResult
	for _, id := range ids {
		r, err := s.Verify(ctx, actor, id)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// AllResult is one vendor's outcome in BackupAll.
type AllResult struct {
	Vendor   string        `json:"vendor"`
	BackupID int64         `json:"backup_id,omitempty"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// BackupAll backs up every active and suspended vendor with parallel
// workers; one vendor's failure does not stop the others.
func (s *Service) BackupAll(ctx context.Context, actor platform.Actor, kind string, parallel int) ([]AllResult, error) {
	vendors, err := s.Store.ListVendors(ctx, platform.VendorFilter{States: []platform.State{platform.StateActive, platform.StateSuspended}})
	if err != nil {
		return nil, err
	}
	if parallel < 1 {
		parallel = 1
	}
	out := make([]AllResult, len(vendors))
	work := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t0 := time.Now()
				b, err := s.Run(ctx, actor, vendors[i].Slug, kind)
				out[i] = AllResult{Vendor: vendors[i].Slug, Duration: time.Since(t0)}
				if err != nil {
					out[i].Error = err.Error()
				} else {
					out[i].BackupID = b.ID
				}
			}
		}()
	}
	for i := range vendors {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return out, ctx.Err()
}

// DeleteOptions control DeleteVendor.
type DeleteOptions struct {
	// Now removes the data at once instead of after the grace period.
	Now bool
	// SkipFinalBackup deletes without taking a final backup first.
	SkipFinalBackup bool
}

// DeleteVendor takes a final backup of the vendor and then deletes it
// (unrouted at once, data removed after the grace period, or now). If the
// final backup fails, nothing is deleted.
func (s *Service) DeleteVendor(ctx context.Context, actor platform.Actor, slug string, o DeleteOptions) (*platform.Vendor, *Backup, error) {
	v, err := s.Store.VendorBySlug(ctx, slug)
	if err != nil {
		return nil, nil, err
	}
	var final *Backup
	if !o.SkipFinalBackup && v.DBName != "" && !v.State.Provisioning() && v.State != platform.StateDeleting {
		final, err = s.Run(ctx, actor, slug, "final")
		if err != nil {
			return nil, nil, fmt.Errorf("the final backup failed, so %s was not deleted: %w", slug, err)
		}
	}
	v, err = s.Prov.DeleteVendor(ctx, actor, slug, provision.DeleteOptions{Now: o.Now})
	return v, final, err
}
