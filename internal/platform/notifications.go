package platform

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Kinds of admin notification.
const (
	NoticeVendorCreated      = "vendor.created"
	NoticeProvisioningFailed = "provisioning.failed"
	NoticeBackupFailed       = "backup.failed"
	NoticeMigrationFailed    = "migration.failed"
)

// Notice is an admin notification: something every admin should hear of.
type Notice struct {
	ID       int64     `json:"id"`
	Kind     string    `json:"kind"`
	VendorID *int64    `json:"vendor_id,omitempty"`
	Vendor   string    `json:"vendor,omitempty"`
	Message  string    `json:"message"`
	Link     string    `json:"link,omitempty"`
	At       time.Time `json:"created_at"`
	Read     bool      `json:"read"`
}

// noticeDedupe is how long the same notice (kind, vendor and message) is
// not repeated: a step that reconcile retries every few minutes says so
// once.
const noticeDedupe = time.Hour

// Notify records an admin notification of kind about vendorID (0: none)
// with q, which may be the transaction of the change it tells of. link,
// if set, is a console path ("/admin/vendors/id/7"). The same notice is
// not repeated within an hour.
func Notify(ctx context.Context, q Querier, kind string, vendorID int64, message, link string) error {
	var vid *int64
	if vendorID != 0 {
		vid = &vendorID
	}
	rows, err := q.Query(ctx, `
		INSERT INTO admin_notifications (kind, vendor_id, message, link)
		SELECT $1, $2, $3, $4
		WHERE NOT EXISTS (SELECT 1 FROM admin_notifications
			WHERE kind = $1 AND vendor_id IS NOT DISTINCT FROM $2 AND message = $3 AND created_at > now() - $5::interval)`,
		kind, vid, message, link, fmt.Sprintf("%d seconds", int(noticeDedupe.Seconds())))
	if err != nil {
		return fmt.Errorf("notify admins of %s: %w", kind, err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("notify admins of %s: %w", kind, err)
	}
	return nil
}

// NotifyFailure is Notify on the store's pool for failure paths: it
// outlives a cancelled ctx and returns nothing, since the failure it
// tells of is the error worth returning.
func (s *Store) NotifyFailure(ctx context.Context, kind string, vendorID int64, message, link string) {
	_ = Notify(context.WithoutCancel(ctx), s.pool, kind, vendorID, message, link)
}

// UnreadNotices counts the notices an admin has not read (those made
// since the admin's account was).
func (s *Store) UnreadNotices(ctx context.Context, adminID int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM admin_notifications n, admins a
		WHERE a.id = $1 AND n.created_at >= a.created_at
		  AND NOT EXISTS (SELECT 1 FROM admin_notification_reads r WHERE r.admin_id = $1 AND r.notification_id = n.id)`,
		adminID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread notifications: %w", err)
	}
	return n, nil
}

// Notices lists an admin's notices, newest first, page by page (page from
// 1); unreadOnly keeps the unread ones. It returns the total too.
func (s *Store) Notices(ctx context.Context, adminID int64, unreadOnly bool, page, perPage int) ([]Notice, int, error) {
	if page < 1 {
		page = 1
	}
	const where = ` FROM admin_notifications n
		JOIN admins a ON a.id = $1 AND n.created_at >= a.created_at
		LEFT JOIN vendors v ON v.id = n.vendor_id
		LEFT JOIN admin_notification_reads r ON r.admin_id = $1 AND r.notification_id = n.id
		WHERE (NOT $2 OR r.admin_id IS NULL)`
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*)`+where, adminID, unreadOnly).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count notifications: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT n.id, n.kind, n.vendor_id, COALESCE(v.slug, ''), n.message, n.link, n.created_at, r.admin_id IS NOT NULL`+
		where+` ORDER BY n.id DESC LIMIT $3 OFFSET $4`, adminID, unreadOnly, perPage, (page-1)*perPage)
	if err != nil {
		return nil, 0, fmt.Errorf("list notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Notice])
	if err != nil {
		return nil, 0, fmt.Errorf("list notifications: %w", err)
	}
	return out, total, nil
}

// MarkNoticesRead marks notices read for an admin: the ones in ids, or
// every one if ids is empty. It returns how many changed.
func (s *Store) MarkNoticesRead(ctx context.Context, adminID int64, ids []int64) (int64, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO admin_notification_reads (notification_id, admin_id)
		SELECT n.id, $1 FROM admin_notifications n JOIN admins a ON a.id = $1 AND n.created_at >= a.created_at
		WHERE (COALESCE(cardinality($2::bigint[]), 0) = 0 OR n.id = ANY($2))
		ON CONFLICT DO NOTHING`, adminID, ids)
	if err != nil {
		return 0, fmt.Errorf("mark notifications read: %w", err)
	}
	return tag.RowsAffected(), nil
}
