// Package stats rolls up per-vendor daily figures into the control-plane
// database, so that the console's dashboard and vendor pages never query a
// vendor database on a page view. The roll-up visits each active or
// suspended vendor's database as the vendor's own role (orders paid, sales
// and refunds per currency, customers, products), measures each database's
// size from its server's admin connection and each bucket's size by a
// bounded listing, and replaces the figures of the days it covers: running
// it again for a day gives the same rows. One vendor failing is recorded
// and does not stop the others.
package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/storage"
)

// Options are the roll-up's dependencies and bounds.
type Options struct {
	Store   *platform.Store
	Prov    *provision.Provisioner
	Objects *storage.Admin // nil: bucket sizes are not measured
	// Days is how many UTC days are computed, ending today (default 7):
	// refunds of older orders reach the figures of the day they were paid
	// while that day is in the window.
	Days int
	// Parallel is how many vendors are visited at once (default 4).
	Parallel int
	// MaxObjects bounds the listing of one bucket (default 100 000).
	MaxObjects int64
	// VendorTimeout bounds the work for one vendor (default 1 minute).
	VendorTimeout time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// MaxDays is the longest window a run may recompute.
const MaxDays = 400

// maxErrorsKept bounds the failed vendors a run records.
const maxErrorsKept = 50

// VendorError is a vendor the roll-up could not finish.
type VendorError struct {
	VendorID int64  `json:"vendor_id"`
	Slug     string `json:"slug"`
	Error    string `json:"error"`
}

// Run is one run of the roll-up.
type Run struct {
	ID         int64         `json:"id"`
	StartedAt  time.Time     `json:"started_at"`
	FinishedAt *time.Time    `json:"finished_at,omitempty"`
	FirstDay   time.Time     `json:"first_day"`
	LastDay    time.Time     `json:"last_day"`
	Vendors    int           `json:"vendors"`
	Failed     int           `json:"failed"`
	Errors     []VendorError `json:"errors"`
	Actor      string        `json:"actor"`
}

// figures are one vendor's numbers for one day.
type figures struct {
	OrdersPaid, OrdersRefunded      int
	CustomersNew, CustomersTotal    int
	ProductsTotal                   int
	Sales                           map[string]*sale // by currency
	dbSize, bucketBytes, bucketObjs *int64
	bucketComplete                  *bool
}

type sale struct {
	Orders          int
	Sales, Refunded int64
}

// dayOf is the UTC day of t, at midnight.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (o *Options) defaults() {
	if o.Days <= 0 {
		o.Days = 7
	}
	if o.Days > MaxDays {
		o.Days = MaxDays
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = 100_000
	}
	if o.VendorTimeout <= 0 {
		o.VendorTimeout = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Rollup computes the figures of every active and suspended vendor for
// the window of days ending today and stores them, with a record of the
// run. It returns an error only when the run itself cannot proceed (the
// control-plane database); vendors that fail are listed in the run.
func Rollup(ctx context.Context, o Options, actor string) (*Run, error) {
	o.defaults()
	now := o.Now()
	last := dayOf(now)
	first := last.AddDate(0, 0, -(o.Days - 1))
	run := &Run{StartedAt: now, FirstDay: first, LastDay: last, Actor: actor, Errors: []VendorError{}}
	if err := o.Store.Pool().QueryRow(ctx, `INSERT INTO stats_runs (started_at, first_day, last_day, actor) VALUES ($1, $2, $3, $4) RETURNING id`,
		now, first, last, actor).Scan(&run.ID); err != nil {
		return nil, fmt.Errorf("record stats run: %w", err)
	}
	vendors, err := o.Store.ListVendors(ctx, platform.VendorFilter{States: []platform.State{platform.StateActive, platform.StateSuspended}})
	if err != nil {
		return nil, err
	}
	sizes, sizeErrs := databaseSizes(ctx, o.Prov, vendors)

	var mu sync.Mutex
	fail := func(v *platform.Vendor, err error) {
		mu.Lock()
		defer mu.Unlock()
		run.Failed++
		if len(run.Errors) < maxErrorsKept {
			run.Errors = append(run.Errors, VendorError{VendorID: v.ID, Slug: v.Slug, Error: err.Error()})
		}
		o.Logger.Warn("stats roll-up: vendor failed", "vendor", v.Slug, "err", err)
	}
	work := make(chan *platform.Vendor)
	var wg sync.WaitGroup
	for range o.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range work {
				var size *int64
				if n, ok := sizes[v.ID]; ok {
					size = &n
				}
				err := rollupVendor(ctx, o, v, first, last, size)
				if err == nil {
					err = sizeErrs[v.ServerID]
				}
				if err != nil {
					fail(v, err)
				}
			}
		}()
	}
	for _, v := range vendors {
		if v.DBName == "" {
			continue
		}
		run.Vendors++
		select {
		case work <- v:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	sort.Slice(run.Errors, func(i, j int) bool { return run.Errors[i].Slug < run.Errors[j].Slug })

	finished := o.Now()
	run.FinishedAt = &finished
	errs, _ := json.Marshal(run.Errors)
	// The run's record is written even if ctx ended (a shutdown), so the
	// dashboard says how far it got.
	if _, err := o.Store.Pool().Exec(context.WithoutCancel(ctx), `UPDATE stats_runs SET finished_at = $2, vendors = $3, failed = $4, errors = $5 WHERE id = $1`,
		run.ID, finished, run.Vendors, run.Failed, errs); err != nil {
		return nil, fmt.Errorf("record stats run %d: %w", run.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return run, fmt.Errorf("stats roll-up stopped: %w", err)
	}
	return run, nil
}

// databaseSizes measures every vendor database's size, one admin
// connection per server. A server that cannot be measured gives an error
// for its vendors; their other figures are still rolled up.
func databaseSizes(ctx context.Context, prov *provision.Provisioner, vendors []*platform.Vendor) (map[int64]int64, map[int64]error) {
	byServer := map[int64][]*platform.Vendor{}
	for _, v := range vendors {
		if v.DBName != "" {
			byServer[v.ServerID] = append(byServer[v.ServerID], v)
		}
	}
	sizes, errs := map[int64]int64{}, map[int64]error{}
	for serverID, vs := range byServer {
		err := func() error {
			srv, err := prov.Server(ctx, serverID)
			if err != nil {
				return err
			}
			conn, err := prov.ConnectAdmin(ctx, serverID, srv.MaintenanceDB)
			if err != nil {
				return err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			names := make([]string, len(vs))
			byName := map[string]int64{}
			for i, v := range vs {
				names[i] = v.DBName
				byName[v.DBName] = v.ID
			}
			rows, err := conn.Query(ctx, `SELECT datname, pg_database_size(oid) FROM pg_database WHERE datname = ANY($1)`, names)
			if err != nil {
				return err
			}
			var name string
			var n int64
			_, err = pgx.ForEachRow(rows, []any{&name, &n}, func() error {
				sizes[byName[name]] = n
				return nil
			})
			return err
		}()
		if err != nil {
			errs[serverID] = fmt.Errorf("database size on server %d: %w", serverID, err)
		}
	}
	return sizes, errs
}

// rollupVendor reads one vendor's figures and stores them.
func rollupVendor(ctx context.Context, o Options, v *platform.Vendor, first, last time.Time, dbSize *int64) error {
	ctx, cancel := context.WithTimeout(ctx, o.VendorTimeout)
	defer cancel()
	days, err := vendorFigures(ctx, o.Prov, v, first, last)
	if err != nil {
		return err
	}
	today := days[last]
	today.dbSize = dbSize
	var bucketErr error
	if o.Objects != nil && v.Bucket != "" {
		u, err := o.Objects.BucketUsage(ctx, v.Bucket, o.MaxObjects)
		if err != nil {
			bucketErr = fmt.Errorf("bucket size: %w", err)
		} else {
			today.bucketBytes, today.bucketObjs, today.bucketComplete = &u.Bytes, &u.Objects, &u.Complete
		}
	}
	if err := store(ctx, o.Store, v.ID, first, last, days); err != nil {
		return err
	}
	return bucketErr
}

// vendorFigures reads a vendor's figures for each day from first to last,
// in one read-only snapshot of its database, connected as its own role.
func vendorFigures(ctx context.Context, prov *provision.Provisioner, v *platform.Vendor, first, last time.Time) (map[time.Time]*figures, error) {
	u, err := prov.VendorDatabaseURL(ctx, v)
	if err != nil {
		return nil, err
	}
	pool, err := database.Open(ctx, u, func(c *pgxpool.Config) {
		c.MaxConns = 1
		c.ConnConfig.RuntimeParams["application_name"] = "storefleet-stats"
	})
	if err != nil {
		return nil, fmt.Errorf("connect as the vendor's role: %w", err)
	}
	defer pool.Close()
	days := map[time.Time]*figures{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		days[d] = &figures{Sales: map[string]*sale{}}
	}
	end := last.AddDate(0, 0, 1)
	err = database.TransactOpts(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var hasOrders, hasCustomers bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('public.orders') IS NOT NULL, to_regclass('public.customers') IS NOT NULL`).
			Scan(&hasOrders, &hasCustomers); err != nil {
			return err
		}
		if hasOrders {
			rows, err := tx.Query(ctx, `SELECT (paid_at AT TIME ZONE 'UTC')::date, currency, count(*)::int,
					count(*) FILTER (WHERE refunded_minor > 0)::int, sum(total_minor)::bigint, sum(refunded_minor)::bigint
				FROM orders WHERE paid_at >= $1 AND paid_at < $2 GROUP BY 1, 2`, first, end)
			if err != nil {
				return fmt.Errorf("orders: %w", err)
			}
			var day time.Time
			var cur string
			var n, refunded int
			var sales, refundedMinor int64
			if _, err := pgx.ForEachRow(rows, []any{&day, &cur, &n, &refunded, &sales, &refundedMinor}, func() error {
				f := days[dayOf(day)]
				if f == nil {
					return nil
				}
				f.OrdersPaid += n
				f.OrdersRefunded += refunded
				f.Sales[cur] = &sale{Orders: n, Sales: sales, Refunded: refundedMinor}
				return nil
			}); err != nil {
				return fmt.Errorf("orders: %w", err)
			}
		}
		if hasCustomers {
			if err := cumulative(ctx, tx, "customers", first, end, days,
				func(f *figures, n int) { f.CustomersNew = n }, func(f *figures, n int) { f.CustomersTotal = n }); err != nil {
				return err
			}
		}
		return cumulative(ctx, tx, "products", first, end, days, nil, func(f *figures, n int) { f.ProductsTotal = n })
	})
	if err != nil {
		return nil, fmt.Errorf("read figures of %s: %w", v.Slug, err)
	}
	return days, nil
}

// cumulative counts a table's rows created on each day (setNew) and in
// total by the end of each day (setTotal).
func cumulative(ctx context.Context, tx pgx.Tx, table string, first, end time.Time, days map[time.Time]*figures,
	setNew, setTotal func(*figures, int)) error {
	var total int
	// table is one of two constants of this file
	if err := tx.QueryRow(ctx, `SELECT count(*)::int FROM `+table+` WHERE created_at < $1`, first).Scan(&total); err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	rows, err := tx.Query(ctx, `SELECT (created_at AT TIME ZONE 'UTC')::date, count(*)::int FROM `+table+`
		WHERE created_at >= $1 AND created_at < $2 GROUP BY 1`, first, end)
	if err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	perDay := map[time.Time]int{}
	var day time.Time
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&day, &n}, func() error { perDay[dayOf(day)] = n; return nil }); err != nil {
		return fmt.Errorf("%s: %w", table, err)
	}
	keys := make([]time.Time, 0, len(days))
	for d := range days {
		keys = append(keys, d)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Before(keys[j]) })
	for _, d := range keys {
		total += perDay[d]
		if setNew != nil {
			setNew(days[d], perDay[d])
		}
		setTotal(days[d], total)
	}
	return nil
}

// store replaces a vendor's figures for the days from first to last in
// one control-plane transaction. Sizes not measured in this run keep the
// values an earlier run stored.
func store(ctx context.Context, st *platform.Store, vendorID int64, first, last time.Time, days map[time.Time]*figures) error {
	err := st.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM vendor_sales_daily WHERE vendor_id = $1 AND day BETWEEN $2 AND $3`, vendorID, first, last); err != nil {
			return err
		}
		for d, f := range days {
			if _, err := tx.Exec(ctx, `INSERT INTO vendor_stats_daily (vendor_id, day, orders_paid, orders_refunded, customers_new,
					customers_total, products_total, db_size_bytes, bucket_bytes, bucket_objects, bucket_complete, computed_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
				ON CONFLICT (vendor_id, day) DO UPDATE SET orders_paid = EXCLUDED.orders_paid, orders_refunded = EXCLUDED.orders_refunded,
					customers_new = EXCLUDED.customers_new, customers_total = EXCLUDED.customers_total,
					products_total = EXCLUDED.products_total,
					db_size_bytes = COALESCE(EXCLUDED.db_size_bytes, vendor_stats_daily.db_size_bytes),
					bucket_bytes = COALESCE(EXCLUDED.bucket_bytes, vendor_stats_daily.bucket_bytes),
					bucket_objects = COALESCE(EXCLUDED.bucket_objects, vendor_stats_daily.bucket_objects),
					bucket_complete = COALESCE(EXCLUDED.bucket_complete, vendor_stats_daily.bucket_complete),
					computed_at = now()`,
				vendorID, d, f.OrdersPaid, f.OrdersRefunded, f.CustomersNew, f.CustomersTotal, f.ProductsTotal,
				f.dbSize, f.bucketBytes, f.bucketObjs, f.bucketComplete); err != nil {
				return err
			}
			for cur, m := range f.Sales {
				if _, err := tx.Exec(ctx, `INSERT INTO vendor_sales_daily (vendor_id, day, currency, orders_paid, sales_minor, refunded_minor)
					VALUES ($1, $2, $3, $4, $5, $6)`, vendorID, d, cur, m.Orders, m.Sales, m.Refunded); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store figures of vendor %d: %w", vendorID, err)
	}
	return nil
}
