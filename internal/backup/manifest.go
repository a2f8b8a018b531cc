// Package backup backs up, verifies and restores one vendor at a time, and
// moves vendors between database servers. A backup is a `pg_dump -Fc` of
// the vendor's database streamed into the platform's backups bucket (no
// temporary file), a copy of the vendor's bucket objects, and a manifest
// with sizes, SHA-256 checksums, the schema version and row counts taken in
// the same snapshot as the dump. A restore goes into a new database and
// flips routing only after the copy checks out; it never writes over the
// live database.
package backup

import (
	"encoding/json"
	"fmt"
	"time"
)

// Manifest describes one backup; it is stored next to the dump.
type Manifest struct {
	Format        int               `json:"format"`
	BackupID      int64             `json:"backup_id"`
	VendorID      int64             `json:"vendor_id"`
	Slug          string            `json:"slug"`
	Database      string            `json:"database"`
	SchemaVersion int64             `json:"schema_version"`
	CreatedAt     time.Time         `json:"created_at"`
	Dump          ObjectInfo        `json:"dump"`
	Objects       []ObjectInfo      `json:"objects"`
	RowCounts     map[string]int64  `json:"row_counts"`
	Tools         map[string]string `json:"tools"`
}

// ObjectInfo is one stored object: where, how big, its checksum.
type ObjectInfo struct {
	Key    string `json:"key"`
	Source string `json:"source,omitempty"` // the key in the vendor's bucket
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	ETag   string `json:"etag,omitempty"`
}

func (m *Manifest) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return b, nil
}

// Prefix is where a backup's objects live in the backups bucket: one
// prefix per vendor, then one per backup.
func Prefix(vendorID, backupID int64) string {
	return fmt.Sprintf("v%d/%d/", vendorID, backupID)
}
