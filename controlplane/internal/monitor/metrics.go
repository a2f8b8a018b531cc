package monitor

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storefleet/storefleet/internal/metrics"
)

// PlatformCollector reports platform-wide figures from the control-plane
// database at each scrape: vendors by state, backups (vendors whose newest
// backup failed, the oldest newest good backup) and unresolved alerts.
type PlatformCollector struct {
	m *Monitor

	vendors, backupFailing, backupAge, backupNone, alerts, up *prometheus.Desc
}

// Collector returns the monitor's platform collector.
func (m *Monitor) Collector() *PlatformCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(metrics.Namespace+"_"+name, help, labels, nil)
	}
	return &PlatformCollector{m: m,
		vendors:       d("vendors", "Vendors by lifecycle state.", "state"),
		backupFailing: d("backup_failing_vendors", "Active or suspended vendors whose newest finished backup failed."),
		backupAge:     d("backup_newest_success_max_age_seconds", "For the vendor whose newest completed backup is oldest: that backup's age (active or suspended vendors that have one)."),
		backupNone:    d("backup_missing_vendors", "Active or suspended vendors with no completed backup at all."),
		alerts:        d("platform_alerts_unresolved", "Platform alerts not resolved yet, by severity.", "severity"),
		up:            d("platform_stats_up", "1 if the control-plane database could be read for these figures at this scrape."),
	}
}

// Describe implements prometheus.Collector.
func (c *PlatformCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.vendors, c.backupFailing, c.backupAge, c.backupNone, c.alerts, c.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PlatformCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pool := c.m.o.Store.Pool()
	fail := func() { ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0) }

	rows, err := pool.Query(ctx, `SELECT state, count(*) FROM vendors GROUP BY state`)
	if err != nil {
		fail()
		return
	}
	states := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			fail()
			return
		}
		states[s] = n
	}
	rows.Close()
	if rows.Err() != nil {
		fail()
		return
	}
	var failing, none int64
	var age float64
	err = pool.QueryRow(ctx, `
		WITH live AS (SELECT id FROM vendors WHERE state IN ('active', 'suspended')),
		newest AS (
			SELECT DISTINCT ON (b.vendor_id) b.vendor_id, b.state
			FROM backups b JOIN live ON live.id = b.vendor_id
			WHERE b.state IN ('completed', 'failed')
			ORDER BY b.vendor_id, b.started_at DESC, b.id DESC),
		good AS (
			SELECT b.vendor_id, max(b.started_at) AS at
			FROM backups b JOIN live ON live.id = b.vendor_id
			WHERE b.state = 'completed' GROUP BY b.vendor_id)
		SELECT (SELECT count(*) FROM newest WHERE state = 'failed'),
			(SELECT count(*) FROM live WHERE id NOT IN (SELECT vendor_id FROM good)),
			COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(at)) FROM good), 0)::float8`).Scan(&failing, &none, &age)
	if err != nil {
		fail()
		return
	}
	alerts := map[string]int64{"info": 0, "warning": 0, "critical": 0}
	rows, err = pool.Query(ctx, `SELECT severity, count(*) FROM platform_alerts WHERE resolved_at IS NULL GROUP BY severity`)
	if err != nil {
		fail()
		return
	}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			fail()
			return
		}
		alerts[s] = n
	}
	rows.Close()
	if rows.Err() != nil {
		fail()
		return
	}
	g := prometheus.GaugeValue
	ch <- prometheus.MustNewConstMetric(c.up, g, 1)
	for s, n := range states {
		ch <- prometheus.MustNewConstMetric(c.vendors, g, float64(n), s)
	}
	ch <- prometheus.MustNewConstMetric(c.backupFailing, g, float64(failing))
	ch <- prometheus.MustNewConstMetric(c.backupNone, g, float64(none))
	ch <- prometheus.MustNewConstMetric(c.backupAge, g, age)
	for s, n := range alerts {
		ch <- prometheus.MustNewConstMetric(c.alerts, g, float64(n), s)
	}
}
