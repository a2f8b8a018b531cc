package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MarketplaceImport is the platform's summary of one vendor's import,
// written by the import job as it starts and ends.
type MarketplaceImport struct {
	VendorID     int64      `json:"vendor_id"`
	Vendor       string     `json:"vendor"`
	ImportID     int64      `json:"import_id"`
	State        string     `json:"state"`
	Source       string     `json:"source"`
	FileName     string     `json:"file_name"`
	RowsRead     int64      `json:"rows_read"`
	RowsImported int64      `json:"rows_imported"`
	RowsRejected int64      `json:"rows_rejected"`
	Error        string     `json:"error,omitempty"`
	Attempts     int        `json:"attempts"`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// MarketplaceFilter narrows the imports listed.
type MarketplaceFilter struct {
	State    string // "" for all
	VendorID int64  // 0 for all
	Limit    int
}

// MarketplaceImports lists imports across vendors, most recently updated
// first.
func (s *Store) MarketplaceImports(ctx context.Context, f MarketplaceFilter) ([]MarketplaceImport, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT m.vendor_id, v.slug, m.import_id, m.state, m.source, m.file_name, m.rows_read,
			m.rows_imported, m.rows_rejected, m.error, m.attempts, m.created_at, m.started_at, m.finished_at, m.updated_at
		FROM marketplace_imports m JOIN vendors v ON v.id = m.vendor_id
		WHERE ($1 = '' OR m.state = $1) AND ($2 = 0 OR m.vendor_id = $2)
		ORDER BY m.updated_at DESC LIMIT $3`, f.State, f.VendorID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list marketplace imports: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[MarketplaceImport])
	if err != nil {
		return nil, fmt.Errorf("list marketplace imports: %w", err)
	}
	return out, nil
}

// MarketplaceVendor is one vendor's imports in a period, by state.
type MarketplaceVendor struct {
	VendorID   int64      `json:"vendor_id"`
	Vendor     string     `json:"vendor"`
	Running    int        `json:"running"`
	Finished   int        `json:"finished"`
	Failed     int        `json:"failed"`
	Cancelled  int        `json:"cancelled"`
	Rows       int64      `json:"rows_imported"`
	LastImport *time.Time `json:"last_import,omitempty"`
}

// MarketplaceByVendor counts each vendor's imports updated since a time,
// vendors with running or failed imports first.
func (s *Store) MarketplaceByVendor(ctx context.Context, since time.Time) ([]MarketplaceVendor, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.vendor_id, v.slug,
			count(*) FILTER (WHERE m.state IN ('queued', 'running'))::int,
			count(*) FILTER (WHERE m.state = 'finished')::int,
			count(*) FILTER (WHERE m.state = 'failed')::int,
			count(*) FILTER (WHERE m.state = 'cancelled')::int,
			COALESCE(sum(m.rows_imported) FILTER (WHERE m.state = 'finished'), 0)::bigint,
			max(m.created_at)
		FROM marketplace_imports m JOIN vendors v ON v.id = m.vendor_id
		WHERE m.updated_at >= $1 OR m.state IN ('queued', 'running')
		GROUP BY m.vendor_id, v.slug
		ORDER BY 3 DESC, 5 DESC, 8 DESC`, since)
	if err != nil {
		return nil, fmt.Errorf("count marketplace imports: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[MarketplaceVendor])
	if err != nil {
		return nil, fmt.Errorf("count marketplace imports: %w", err)
	}
	return out, nil
}
