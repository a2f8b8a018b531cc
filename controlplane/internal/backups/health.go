package backups

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/backup"
)

// RecentWindow is how old a vendor's newest completed backup may be for
// the vendor to count as backed up recently.
const RecentWindow = 24 * time.Hour

// FailedWindow is how far back failed backups are counted.
const FailedWindow = 7 * 24 * time.Hour

// Health sums up the platform's backups.
type Health struct {
	// Vendors is the number of active and suspended vendors; each is in
	// one of Recent, Stale and Never.
	Vendors int `json:"vendors"`
	// Recent vendors have a completed backup from the last RecentWindow.
	Recent int `json:"recent"`
	// Stale vendors' newest completed backup is older than that.
	Stale int `json:"stale"`
	// Never is the number of vendors without any completed backup.
	Never int `json:"never"`
	// Failed is the number of backups that failed in the last FailedWindow.
	Failed int `json:"failed_last_7_days"`
	// Verification counts the completed, unexpired backups by the result
	// of their last verification.
	Verification VerifyCounts `json:"verification"`
	// StoredBytes is the size of the dumps of those backups.
	StoredBytes int64 `json:"stored_bytes"`
	// Attention lists the vendors that are Stale or Never, those never
	// backed up first.
	Attention []VendorStatus `json:"attention"`
	// RecentFailures are the newest backups that failed in the last
	// FailedWindow.
	RecentFailures []backup.Backup `json:"recent_failures"`
}

// NeedBackup is the number of vendors without a completed backup from
// the last RecentWindow.
func (h *Health) NeedBackup() int { return h.Stale + h.Never }

// VerifyCounts are backups by verification result.
type VerifyCounts struct {
	OK         int `json:"ok"`
	Failed     int `json:"failed"`
	Unverified int `json:"unverified"`
}

// VendorStatus is a vendor's backup standing.
type VendorStatus struct {
	Slug string `json:"vendor"`
	Name string `json:"name"`
	// LastCompleted is when its newest completed backup finished.
	LastCompleted *time.Time `json:"last_completed,omitempty"`
	// LastState and LastError are those of its newest backup, whatever
	// its state.
	LastState string `json:"last_state,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// attentionShown and failuresShown bound the lists in Health.
const (
	attentionShown = 50
	failuresShown  = 10
)

// vendorStanding is every live vendor with its newest completed backup
// and its newest backup of any state.
const vendorStanding = `SELECT v.slug, v.name, last.finished_at, COALESCE(newest.state, ''), COALESCE(newest.error, '')
	FROM vendors v
	LEFT JOIN LATERAL (SELECT max(b.finished_at) AS finished_at FROM backups b
		WHERE b.vendor_id = v.id AND b.state = 'completed' AND b.expired_at IS NULL) last ON true
	LEFT JOIN LATERAL (SELECT b.state, b.error FROM backups b WHERE b.vendor_id = v.id ORDER BY b.id DESC LIMIT 1) newest ON true
	WHERE v.state IN ('active', 'suspended')`

// Health reads the platform's backup health.
func (s *Service) Health(ctx context.Context) (*Health, error) {
	if s.svc == nil {
		return nil, errNotConfigured
	}
	h := &Health{Attention: []VendorStatus{}, RecentFailures: []backup.Backup{}}
	recent := time.Now().Add(-RecentWindow)
	err := s.store.Pool().QueryRow(ctx, `SELECT count(*),
			count(*) FILTER (WHERE x.finished_at >= $1),
			count(*) FILTER (WHERE x.finished_at < $1),
			count(*) FILTER (WHERE x.finished_at IS NULL)
		FROM (`+vendorStanding+`) x (slug, name, finished_at, state, error)`, recent).Scan(&h.Vendors, &h.Recent, &h.Stale, &h.Never)
	if err != nil {
		return nil, fmt.Errorf("count vendors by backup age: %w", err)
	}
	err = s.store.Pool().QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE verify_state = 'ok'),
			count(*) FILTER (WHERE verify_state = 'failed'),
			count(*) FILTER (WHERE verify_state = 'unverified'),
			COALESCE(sum(dump_size), 0)
		FROM backups WHERE state = 'completed' AND expired_at IS NULL`).Scan(
		&h.Verification.OK, &h.Verification.Failed, &h.Verification.Unverified, &h.StoredBytes)
	if err != nil {
		return nil, fmt.Errorf("count backups by verification: %w", err)
	}
	rows, err := s.store.Pool().Query(ctx, `SELECT * FROM (`+vendorStanding+`) x (slug, name, finished_at, state, error)
		WHERE x.finished_at IS NULL OR x.finished_at < $1
		ORDER BY x.finished_at NULLS FIRST, x.slug LIMIT $2`, recent, attentionShown)
	if err != nil {
		return nil, fmt.Errorf("list vendors without a recent backup: %w", err)
	}
	if h.Attention, err = pgx.CollectRows(rows, pgx.RowToStructByPos[VendorStatus]); err != nil {
		return nil, fmt.Errorf("list vendors without a recent backup: %w", err)
	}
	if h.Attention == nil {
		h.Attention = []VendorStatus{}
	}
	since := time.Now().Add(-FailedWindow)
	if err := s.store.Pool().QueryRow(ctx, `SELECT count(*) FROM backups WHERE state = 'failed' AND started_at >= $1`, since).Scan(&h.Failed); err != nil {
		return nil, fmt.Errorf("count failed backups: %w", err)
	}
	rows, err = s.store.Pool().Query(ctx, `SELECT id FROM backups WHERE state = 'failed' AND started_at >= $1 ORDER BY id DESC LIMIT $2`,
		since, failuresShown)
	if err != nil {
		return nil, fmt.Errorf("list failed backups: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("list failed backups: %w", err)
	}
	for _, id := range ids {
		b, err := s.svc.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		h.RecentFailures = append(h.RecentFailures, *b)
	}
	return h, nil
}
