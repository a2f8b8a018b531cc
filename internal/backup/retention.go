package backup

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RetentionResult lists the backups a retention pass expired.
type RetentionResult struct {
	Expired []int64 `json:"expired"`
	Kept    int     `json:"kept"`
}

// ApplyRetention keeps, per vendor, the newest completed backup of each of
// the last `daily` days and of each of the last `weekly` ISO weeks (and
// always the newest one, and every final backup); the others' objects are
// removed and they are marked expired. Failed backups left no objects.
func (s *Service) ApplyRetention(ctx context.Context, daily, weekly int) (*RetentionResult, error) {
	if err := s.sweepAbandoned(ctx); err != nil {
		return nil, err
	}
	rows, err := s.Store.Pool().Query(ctx, `SELECT id, vendor_id, kind, started_at, prefix FROM backups
		WHERE state = 'completed' AND expired_at IS NULL ORDER BY vendor_id, started_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list backups for retention: %w", err)
	}
	type row struct {
		ID, VendorID int64
		Kind         string
		At           time.Time
		Prefix       string
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return nil, fmt.Errorf("list backups for retention: %w", err)
	}
	res := &RetentionResult{Expired: []int64{}}
	var vendor int64 = -1
	var days, weeks map[string]bool
	first := false
	for _, b := range all {
		if b.VendorID != vendor {
			vendor, days, weeks, first = b.VendorID, map[string]bool{}, map[string]bool{}, true
		}
		day := b.At.UTC().Format("2006-01-02")
		y, w := b.At.UTC().ISOWeek()
		week := fmt.Sprintf("%d-W%02d", y, w)
		keep := first || b.Kind == "final"
		first = false
		if !days[day] && len(days) < daily {
			days[day], keep = true, true
		}
		if !weeks[week] && len(weeks) < weekly {
			weeks[week], keep = true, true
		}
		if keep {
			res.Kept++
			continue
		}
		s.removePrefix(ctx, b.Prefix)
		if _, err := s.Store.Pool().Exec(ctx, `UPDATE backups SET expired_at = now() WHERE id = $1`, b.ID); err != nil {
			return res, fmt.Errorf("expire backup %d: %w", b.ID, err)
		}
		res.Expired = append(res.Expired, b.ID)
	}
	return res, nil
}

// sweepAbandoned marks backups left 'running' for over six hours (their
// process died) as failed and removes what they wrote.
func (s *Service) sweepAbandoned(ctx context.Context) error {
	rows, err := s.Store.Pool().Query(ctx, `UPDATE backups SET state = 'failed', finished_at = now(),
		error = 'abandoned: the process making it stopped before the end'
		WHERE state = 'running' AND started_at < now() - interval '6 hours' RETURNING prefix`)
	if err != nil {
		return fmt.Errorf("sweep abandoned backups: %w", err)
	}
	prefixes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("sweep abandoned backups: %w", err)
	}
	for _, p := range prefixes {
		s.removePrefix(ctx, p)
	}
	return nil
}
