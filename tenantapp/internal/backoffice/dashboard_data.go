package backoffice

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/money"
)

// salesPeriod is one of the dashboard's sales figures.
type salesPeriod struct {
	Label   string
	Orders  int64
	Revenue []string // one formatted total per currency; empty: nothing sold
}

// salesSummary returns orders and revenue for today, the last 7 and the
// last 30 days (UTC). Until the shop's schema has an orders table it
// returns zeros and tracked = false.
//
// It reads orders(created_at, total_minor, currency, status) and leaves
// out cancelled orders; when the orders area lands, point this at its
// own summary function.
func salesSummary(ctx context.Context, db *pgxpool.Pool) (periods []salesPeriod, tracked bool, err error) {
	periods = []salesPeriod{{Label: "Today"}, {Label: "Last 7 days"}, {Label: "Last 30 days"}}
	var n int
	err = db.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = 'orders' AND column_name IN ('paid_at', 'total_minor', 'refunded_minor', 'currency')
		AND to_regclass('public.orders') IS NOT NULL`).Scan(&n)
	if err != nil {
		return nil, false, fmt.Errorf("look for the orders table: %w", err)
	}
	if n < 4 {
		return periods, false, nil
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	starts := []time.Time{today, today.AddDate(0, 0, -6), today.AddDate(0, 0, -29)}
	for i, start := range starts {
		// sales are orders paid in the period, less what was refunded
		rows, err := db.Query(ctx, `SELECT currency, count(*), coalesce(sum(total_minor - refunded_minor), 0)::bigint FROM orders
			WHERE paid_at >= $1 GROUP BY currency ORDER BY 2 DESC`, start)
		if err != nil {
			return nil, false, fmt.Errorf("sum orders: %w", err)
		}
		var cur string
		var count, total int64
		_, err = pgx.ForEachRow(rows, []any{&cur, &count, &total}, func() error {
			periods[i].Orders += count
			periods[i].Revenue = append(periods[i].Revenue, money.Format(total, cur))
			return nil
		})
		if err != nil {
			return nil, false, fmt.Errorf("sum orders: %w", err)
		}
	}
	return periods, true, nil
}

// recentActivity returns the newest audit log entries: everyone's for
// staff who may read the audit log, otherwise the member's own.
func recentActivity(ctx context.Context, db *pgxpool.Pool, staffID int64, everyone bool, limit int) ([]auditRow, error) {
	f := auditFilter{}
	if !everyone {
		f.StaffID = staffID
	}
	rows, _, _, err := auditPage(ctx, db, f, 0, 0, limit)
	return rows, err
}
