package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// VendorDatabase is one of a vendor's databases: the current one and
// copies a restore or a move left for their grace period.
type VendorDatabase struct {
	ID             int64      `json:"id"`
	Server         string     `json:"server"`
	Name           string     `json:"name"`
	Status         string     `json:"status"` // current, retired or dropped
	SchemaVersion  int64      `json:"schema_version"`
	MigrationError string     `json:"migration_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	RetiredAt      *time.Time `json:"retired_at,omitempty"`
}

// VendorDatabases lists a vendor's databases, current first.
func (s *Store) VendorDatabases(ctx context.Context, vendorID int64) ([]VendorDatabase, error) {
	rows, err := s.pool.Query(ctx, `SELECT vd.id, s.name, vd.db_name, vd.status, vd.schema_version, vd.migration_error, vd.created_at, vd.retired_at
		FROM vendor_databases vd JOIN db_servers s ON s.id = vd.server_id
		WHERE vd.vendor_id = $1 ORDER BY vd.status = 'current' DESC, vd.id DESC LIMIT 50`, vendorID)
	if err != nil {
		return nil, fmt.Errorf("list databases of vendor %d: %w", vendorID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[VendorDatabase])
	if err != nil {
		return nil, fmt.Errorf("list databases of vendor %d: %w", vendorID, err)
	}
	return out, nil
}

// VendorDomain is a host name of a vendor.
type VendorDomain struct {
	Host       string     `json:"host"`
	Kind       string     `json:"kind"` // subdomain or custom
	Primary    bool       `json:"primary"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// VendorDomains lists a vendor's domains, the primary one first.
func (s *Store) VendorDomains(ctx context.Context, vendorID int64) ([]VendorDomain, error) {
	rows, err := s.pool.Query(ctx, `SELECT host, kind, is_primary, verified_at, created_at FROM domains
		WHERE vendor_id = $1 ORDER BY is_primary DESC, kind DESC, host LIMIT 100`, vendorID)
	if err != nil {
		return nil, fmt.Errorf("list domains of vendor %d: %w", vendorID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[VendorDomain])
	if err != nil {
		return nil, fmt.Errorf("list domains of vendor %d: %w", vendorID, err)
	}
	return out, nil
}
