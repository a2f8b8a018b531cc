package stats

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/platform"
)

// This file reads the rolled-up figures for the console. Nothing here
// touches a vendor database or bucket.

// Amount is a sum of money in one currency.
type Amount struct {
	Currency string `json:"currency"`
	Orders   int    `json:"orders"`
	Sales    int64  `json:"sales_minor"`
	Refunded int64  `json:"refunded_minor"`
}

// Net is sales less refunds.
func (a Amount) Net() int64 { return a.Sales - a.Refunded }

// Format shows an amount in minor units for people: "1,234.50 EUR".
func Format(minor int64, currency string) string {
	return money.Format(minor, currency)
}

// Day is the platform's figures of one day.
type Day struct {
	Day    time.Time `json:"day"`
	Orders int       `json:"orders"`
	// Percent is Orders against the busiest day of the series (for bars).
	Percent int `json:"-"`
}

// TopVendor is a vendor with its figures over the period.
type TopVendor struct {
	VendorID int64    `json:"vendor_id"`
	Slug     string   `json:"slug"`
	Name     string   `json:"name"`
	Orders   int      `json:"orders"`
	Amounts  []Amount `json:"amounts"`
}

// Size is a vendor's latest measured storage.
type Size struct {
	VendorID       int64     `json:"vendor_id"`
	Slug           string    `json:"slug"`
	Name           string    `json:"name"`
	Day            time.Time `json:"day"`
	DBBytes        *int64    `json:"db_size_bytes"`
	BucketBytes    *int64    `json:"bucket_bytes"`
	BucketObjects  *int64    `json:"bucket_objects"`
	BucketComplete *bool     `json:"bucket_complete"`
}

// Total is the database and bucket bytes together.
func (s Size) Total() int64 {
	var n int64
	if s.DBBytes != nil {
		n += *s.DBBytes
	}
	if s.BucketBytes != nil {
		n += *s.BucketBytes
	}
	return n
}

// Summary is the dashboard's platform figures.
type Summary struct {
	// Period is how many days the totals cover, ending today (UTC).
	Period int       `json:"period_days"`
	Since  time.Time `json:"since"`
	// LastRun is the newest roll-up, nil before the first.
	LastRun *Run `json:"last_run"`
	// Orders are the orders paid in the period; Today those paid today.
	Orders int `json:"orders"`
	Today  int `json:"orders_today"`
	// Amounts are the period's sales by currency, largest first.
	Amounts []Amount `json:"amounts"`
	// Days is one entry per day of the period, oldest first.
	Days []Day `json:"days"`
	// Top are the vendors with the most orders paid in the period.
	Top []TopVendor `json:"top"`
	// Largest are the vendors using the most storage, and DBBytes and
	// BucketBytes the platform's totals, from each vendor's latest
	// measurement.
	Largest     []Size `json:"largest"`
	DBBytes     int64  `json:"db_bytes"`
	BucketBytes int64  `json:"bucket_bytes"`
	Measured    int    `json:"measured_vendors"`
}

// LatestRun returns the newest roll-up run, or nil.
func LatestRun(ctx context.Context, q platform.Querier) (*Run, error) {
	rows, err := q.Query(ctx, `SELECT id, started_at, finished_at, first_day, last_day, vendors, failed, errors, actor
		FROM stats_runs ORDER BY id DESC LIMIT 1`)
	if err != nil {
		return nil, fmt.Errorf("read stats runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Run])
	if err != nil {
		return nil, fmt.Errorf("read stats runs: %w", err)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	return &runs[0], nil
}

// Dashboard reads the platform's figures for the period days ending on
// today's UTC date, with top vendors and largest vendors (limit each).
func Dashboard(ctx context.Context, q platform.Querier, now time.Time, period, limit int) (*Summary, error) {
	today := dayOf(now)
	since := today.AddDate(0, 0, -(period - 1))
	s := &Summary{Period: period, Since: since, Amounts: []Amount{}, Top: []TopVendor{}, Largest: []Size{}}
	var err error
	if s.LastRun, err = LatestRun(ctx, q); err != nil {
		return nil, err
	}
	// Orders per day (the chart) and in total.
	rows, err := q.Query(ctx, `SELECT d.day::date, COALESCE(sum(s.orders_paid), 0)::int
		FROM generate_series($1::date, $2::date, interval '1 day') d (day)
		LEFT JOIN vendor_stats_daily s ON s.day = d.day::date
		GROUP BY 1 ORDER BY 1`, since, today)
	if err != nil {
		return nil, fmt.Errorf("read orders per day: %w", err)
	}
	if s.Days, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Day, error) {
		var d Day
		return d, r.Scan(&d.Day, &d.Orders)
	}); err != nil {
		return nil, fmt.Errorf("read orders per day: %w", err)
	}
	busiest := 0
	for _, d := range s.Days {
		s.Orders += d.Orders
		busiest = max(busiest, d.Orders)
	}
	if n := len(s.Days); n > 0 {
		s.Today = s.Days[n-1].Orders
	}
	for i := range s.Days {
		if busiest > 0 {
			s.Days[i].Percent = s.Days[i].Orders * 100 / busiest
		}
	}
	rows, err = q.Query(ctx, `SELECT currency, sum(orders_paid)::int, sum(sales_minor)::bigint, sum(refunded_minor)::bigint
		FROM vendor_sales_daily WHERE day BETWEEN $1 AND $2 GROUP BY 1 ORDER BY 2 DESC, 1`, since, today)
	if err != nil {
		return nil, fmt.Errorf("read sales: %w", err)
	}
	if s.Amounts, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Amount]); err != nil {
		return nil, fmt.Errorf("read sales: %w", err)
	}
	if s.Top, err = topVendors(ctx, q, since, today, limit); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT x.vendor_id, v.slug, v.name, x.day, x.db_size_bytes, x.bucket_bytes, x.bucket_objects, x.bucket_complete
		FROM (SELECT DISTINCT ON (vendor_id) * FROM vendor_stats_daily
			WHERE db_size_bytes IS NOT NULL OR bucket_bytes IS NOT NULL ORDER BY vendor_id, day DESC) x
		JOIN vendors v ON v.id = x.vendor_id AND v.state <> 'deleted'`)
	if err != nil {
		return nil, fmt.Errorf("read sizes: %w", err)
	}
	sizes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Size])
	if err != nil {
		return nil, fmt.Errorf("read sizes: %w", err)
	}
	for _, z := range sizes {
		if z.DBBytes != nil {
			s.DBBytes += *z.DBBytes
		}
		if z.BucketBytes != nil {
			s.BucketBytes += *z.BucketBytes
		}
	}
	s.Measured = len(sizes)
	sort.SliceStable(sizes, func(i, j int) bool { return sizes[i].Total() > sizes[j].Total() })
	if len(sizes) > limit {
		sizes = sizes[:limit]
	}
	s.Largest = sizes
	return s, nil
}

// topVendors are the vendors with the most orders paid between since and
// until, with their sales by currency.
func topVendors(ctx context.Context, q platform.Querier, since, until time.Time, limit int) ([]TopVendor, error) {
	rows, err := q.Query(ctx, `SELECT s.vendor_id, v.slug, v.name, sum(s.orders_paid)::int
		FROM vendor_stats_daily s JOIN vendors v ON v.id = s.vendor_id
		WHERE s.day BETWEEN $1 AND $2 AND v.state <> 'deleted'
		GROUP BY 1, 2, 3 HAVING sum(s.orders_paid) > 0 ORDER BY 4 DESC, 2 LIMIT $3`, since, until, limit)
	if err != nil {
		return nil, fmt.Errorf("read top vendors: %w", err)
	}
	top, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TopVendor, error) {
		var t TopVendor
		return t, r.Scan(&t.VendorID, &t.Slug, &t.Name, &t.Orders)
	})
	if err != nil {
		return nil, fmt.Errorf("read top vendors: %w", err)
	}
	if len(top) == 0 {
		return []TopVendor{}, nil
	}
	ids := make([]int64, len(top))
	at := map[int64]int{}
	for i, t := range top {
		ids[i], at[t.VendorID] = t.VendorID, i
	}
	rows, err = q.Query(ctx, `SELECT vendor_id, currency, sum(orders_paid)::int, sum(sales_minor)::bigint, sum(refunded_minor)::bigint
		FROM vendor_sales_daily WHERE day BETWEEN $1 AND $2 AND vendor_id = ANY($3)
		GROUP BY 1, 2 ORDER BY 1, 4 DESC`, since, until, ids)
	if err != nil {
		return nil, fmt.Errorf("read top vendors' sales: %w", err)
	}
	var id int64
	var a Amount
	if _, err := pgx.ForEachRow(rows, []any{&id, &a.Currency, &a.Orders, &a.Sales, &a.Refunded}, func() error {
		top[at[id]].Amounts = append(top[at[id]].Amounts, a)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read top vendors' sales: %w", err)
	}
	return top, nil
}

// VendorDay is one vendor's figures of one day.
type VendorDay struct {
	Day            time.Time `json:"day"`
	Orders         int       `json:"orders_paid"`
	OrdersRefunded int       `json:"orders_refunded"`
	CustomersNew   int       `json:"customers_new"`
	CustomersTotal int       `json:"customers_total"`
	ProductsTotal  int       `json:"products_total"`
	ComputedAt     time.Time `json:"computed_at"`
	Amounts        []Amount  `json:"amounts"`
}

// Vendor is one vendor's rolled-up figures for its page.
type Vendor struct {
	Period int `json:"period_days"`
	// Orders and Amounts are the totals of the period.
	Orders  int      `json:"orders"`
	Amounts []Amount `json:"amounts"`
	// Latest is the newest day rolled up (customers and products are as of
	// its end), nil if the vendor was never rolled up.
	Latest *VendorDay `json:"latest"`
	// Days are the period's days that have figures, newest first.
	Days []VendorDay `json:"days"`
	// Size is the latest measurement of the vendor's storage, nil if none.
	Size *Size `json:"size"`
	// Error is the vendor's error in the newest run, if it failed there.
	Error string `json:"error,omitempty"`
}

// ForVendor reads a vendor's figures for the period days ending today.
func ForVendor(ctx context.Context, q platform.Querier, vendorID int64, now time.Time, period int) (*Vendor, error) {
	today := dayOf(now)
	since := today.AddDate(0, 0, -(period - 1))
	out := &Vendor{Period: period, Amounts: []Amount{}, Days: []VendorDay{}}
	rows, err := q.Query(ctx, `SELECT day, orders_paid, orders_refunded, customers_new, customers_total, products_total, computed_at
		FROM vendor_stats_daily WHERE vendor_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day DESC`, vendorID, since, today)
	if err != nil {
		return nil, fmt.Errorf("read vendor figures: %w", err)
	}
	if out.Days, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (VendorDay, error) {
		var d VendorDay
		return d, r.Scan(&d.Day, &d.Orders, &d.OrdersRefunded, &d.CustomersNew, &d.CustomersTotal, &d.ProductsTotal, &d.ComputedAt)
	}); err != nil {
		return nil, fmt.Errorf("read vendor figures: %w", err)
	}
	at := map[time.Time]int{}
	for i, d := range out.Days {
		out.Orders += d.Orders
		at[dayOf(d.Day)] = i
	}
	if len(out.Days) > 0 {
		out.Latest = &out.Days[0]
	}
	rows, err = q.Query(ctx, `SELECT day, currency, orders_paid, sales_minor, refunded_minor FROM vendor_sales_daily
		WHERE vendor_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day DESC, sales_minor DESC`, vendorID, since, today)
	if err != nil {
		return nil, fmt.Errorf("read vendor sales: %w", err)
	}
	totals := map[string]*Amount{}
	var day time.Time
	var a Amount
	if _, err := pgx.ForEachRow(rows, []any{&day, &a.Currency, &a.Orders, &a.Sales, &a.Refunded}, func() error {
		if i, ok := at[dayOf(day)]; ok {
			out.Days[i].Amounts = append(out.Days[i].Amounts, a)
		}
		t := totals[a.Currency]
		if t == nil {
			t = &Amount{Currency: a.Currency}
			totals[a.Currency] = t
		}
		t.Orders += a.Orders
		t.Sales += a.Sales
		t.Refunded += a.Refunded
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read vendor sales: %w", err)
	}
	for _, t := range totals {
		out.Amounts = append(out.Amounts, *t)
	}
	sort.Slice(out.Amounts, func(i, j int) bool { return out.Amounts[i].Sales > out.Amounts[j].Sales })
	rows, err = q.Query(ctx, `SELECT s.vendor_id, v.slug, v.name, s.day, s.db_size_bytes, s.bucket_bytes, s.bucket_objects, s.bucket_complete
		FROM vendor_stats_daily s JOIN vendors v ON v.id = s.vendor_id
		WHERE s.vendor_id = $1 AND (s.db_size_bytes IS NOT NULL OR s.bucket_bytes IS NOT NULL) ORDER BY s.day DESC LIMIT 1`, vendorID)
	if err != nil {
		return nil, fmt.Errorf("read vendor size: %w", err)
	}
	sizes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Size])
	if err != nil {
		return nil, fmt.Errorf("read vendor size: %w", err)
	}
	if len(sizes) > 0 {
		out.Size = &sizes[0]
	}
	run, err := LatestRun(ctx, q)
	if err != nil {
		return nil, err
	}
	if run != nil {
		for _, e := range run.Errors {
			if e.VendorID == vendorID {
				out.Error = e.Error
			}
		}
	}
	return out, nil
}

// AmountsText shows amounts for people: "1,234.50 EUR · 99.00 USD".
func AmountsText(as []Amount, net bool) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		n := a.Sales
		if net {
			n = a.Net()
		}
		parts = append(parts, Format(n, a.Currency))
	}
	return strings.Join(parts, " · ")
}

// SalesText is the amount's sales for people.
func (a Amount) SalesText() string { return Format(a.Sales, a.Currency) }

// RefundedText is the amount's refunds for people.
func (a Amount) RefundedText() string { return Format(a.Refunded, a.Currency) }

// NetText is the amount's sales less refunds for people.
func (a Amount) NetText() string { return Format(a.Net(), a.Currency) }

// NetText is the vendor's sales less refunds, every currency.
func (t TopVendor) NetText() string { return AmountsText(t.Amounts, true) }

// NetText is the day's sales less refunds, every currency.
func (d VendorDay) NetText() string { return AmountsText(d.Amounts, true) }

// NetText is the period's sales less refunds, every currency.
func (v *Vendor) NetText() string { return AmountsText(v.Amounts, true) }

// Partial reports whether the bucket's listing stopped at its bound, so
// that its sums are lower bounds.
func (s Size) Partial() bool { return s.BucketComplete != nil && !*s.BucketComplete }

// Files is the number of objects counted in the bucket (0 if unmeasured).
func (s Size) Files() int64 {
	if s.BucketObjects == nil {
		return 0
	}
	return *s.BucketObjects
}

// Days is how many days the run covered.
func (r *Run) Days() int { return int(r.LastDay.Sub(r.FirstDay).Hours()/24) + 1 }
