package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
}

// PoolCollector reports pgx pools' figures, by pool name.
type PoolCollector struct {
	pools map[string]*pgxpool.Pool

	conns, max, acquires, emptyAcquires, waitSeconds, canceled *prometheus.Desc
}

// NewPoolCollector reports the given pools ("controlplane", "router", ...).
func NewPoolCollector(pools map[string]*pgxpool.Pool) *PoolCollector {
	return &PoolCollector{
		pools:         pools,
		conns:         desc("db_pool_connections", "Connections of a database pool by state (acquired: in use; idle; constructing).", "pool", "state"),
		max:           desc("db_pool_max_connections", "Most connections a database pool opens.", "pool"),
		acquires:      desc("db_pool_acquires_total", "Connections taken from a database pool.", "pool"),
		emptyAcquires: desc("db_pool_empty_acquires_total", "Acquires that found no idle connection and waited for one to be opened or returned.", "pool"),
		waitSeconds:   desc("db_pool_empty_acquire_wait_seconds_total", "Time spent waiting in acquires that found the pool empty.", "pool"),
		canceled:      desc("db_pool_canceled_acquires_total", "Acquires given up before a connection came (timeouts, cancelled requests).", "pool"),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conns, c.max, c.acquires, c.emptyAcquires, c.waitSeconds, c.canceled} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, p := range c.pools {
		s := p.Stat()
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.AcquiredConns()), name, "acquired")
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.IdleConns()), name, "idle")
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.ConstructingConns()), name, "constructing")
		ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(s.AcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(c.emptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(c.waitSeconds, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds(), name)
		ch <- prometheus.MustNewConstMetric(c.canceled, prometheus.CounterValue, float64(s.CanceledAcquireCount()), name)
	}
}

// PoolManagerStats are the tenant app's pool manager figures (its Stats,
// converted by the tenant app).
type PoolManagerStats struct {
	OpenPools                                                       int
	MaxConns                                                        int
	TotalConns, AcquiredConns, IdleConns, Waiting                   int64
	Waits, WaitFailures, Reclaimed, Evictions, IdleClosed, Replaced int64
	BreakerTrips                                                    int64
}

// PoolManagerCollector reports the vendor pool manager of a tenant app.
type PoolManagerCollector struct {
	stats func() PoolManagerStats

	open, conns, slots, max, waiting, waits, waitFailures, closed, trips *prometheus.Desc
}

// NewPoolManagerCollector reports what stats returns at each scrape.
func NewPoolManagerCollector(stats func() PoolManagerStats) *PoolManagerCollector {
	return &PoolManagerCollector{
		stats:        stats,
		open:         desc("vendor_pools_open", "Vendor connection pools open in this tenant app."),
		conns:        desc("vendor_pool_connections", "Connections across all vendor pools by state (acquired: in use by requests; idle).", "state"),
		slots:        desc("vendor_pool_slots_used", "Connections open or being opened across all vendor pools: slots of the global cap in use."),
		max:          desc("vendor_pool_max_connections", "The global cap on connections across all vendor pools (STOREFLEET_POOL_MAX_CONNS)."),
		waiting:      desc("vendor_pool_waiting", "Connection dials waiting for a free slot now."),
		waits:        desc("vendor_pool_waits_total", "Connection dials that had to wait for a free slot."),
		waitFailures: desc("vendor_pool_wait_failures_total", "Dials that gave up waiting for a slot (the request failed)."),
		closed:       desc("vendor_pools_closed_total", "Vendor pools or connections closed, by reason (evicted: over STOREFLEET_POOL_MAX_OPEN; idle; replaced: the vendor's database changed; reclaimed: idle connection closed to free a slot).", "reason"),
		trips:        desc("vendor_database_breaker_trips_total", "Times a vendor database stopped answering (a statement, connection or wait ran out of time) and its requests were refused for a while."),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolManagerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.conns, c.slots, c.max, c.waiting, c.waits, c.waitFailures, c.closed, c.trips} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolManagerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	g, ctr := prometheus.GaugeValue, prometheus.CounterValue
	ch <- prometheus.MustNewConstMetric(c.open, g, float64(s.OpenPools))
	ch <- prometheus.MustNewConstMetric(c.conns, g, float64(s.AcquiredConns), "acquired")
	ch <- prometheus.MustNewConstMetric(c.conns, g, float64(s.IdleConns), "idle")
	ch <- prometheus.MustNewConstMetric(c.slots, g, float64(s.TotalConns))
	ch <- prometheus.MustNewConstMetric(c.max, g, float64(s.MaxConns))
	ch <- prometheus.MustNewConstMetric(c.waiting, g, float64(s.Waiting))
	ch <- prometheus.MustNewConstMetric(c.waits, ctr, float64(s.Waits))
	ch <- prometheus.MustNewConstMetric(c.waitFailures, ctr, float64(s.WaitFailures))
	ch <- prometheus.MustNewConstMetric(c.closed, ctr, float64(s.Evictions), "evicted")
	ch <- prometheus.MustNewConstMetric(c.closed, ctr, float64(s.IdleClosed), "idle")
	ch <- prometheus.MustNewConstMetric(c.closed, ctr, float64(s.Replaced), "replaced")
	ch <- prometheus.MustNewConstMetric(c.closed, ctr, float64(s.Reclaimed), "reclaimed")
	ch <- prometheus.MustNewConstMetric(c.trips, ctr, float64(s.BreakerTrips))
}

// Check is a dependency and how to ask whether it answers.
type Check struct {
	Name string // "redis", "object_store", ...
	Ping func(ctx context.Context) error
}

// DependencyCollector asks every dependency at each scrape (in parallel,
// each within Timeout) and reports whether it answered and how fast.
type DependencyCollector struct {
	checks  []Check
	timeout time.Duration

	up, seconds *prometheus.Desc
}

// NewDependencyCollector reports the checks; timeout 0 means 3 s.
func NewDependencyCollector(timeout time.Duration, checks ...Check) *DependencyCollector {
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	return &DependencyCollector{checks: checks, timeout: timeout,
		up:      desc("dependency_up", "1 if the dependency answered its check at this scrape, else 0.", "dependency"),
		seconds: desc("dependency_check_duration_seconds", "How long the dependency's check took at this scrape.", "dependency"),
	}
}

// Describe implements prometheus.Collector.
func (c *DependencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.up; ch <- c.seconds }

// Collect implements prometheus.Collector.
func (c *DependencyCollector) Collect(ch chan<- prometheus.Metric) {
	var wg sync.WaitGroup
	for _, chk := range c.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			defer cancel()
			start := time.Now()
			err := chk.Ping(ctx)
			up := 1.0
			if err != nil {
				up = 0
			}
			ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, chk.Name)
			ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, time.Since(start).Seconds(), chk.Name)
		}()
	}
	wg.Wait()
}
