package app

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/controlplane/internal/api"
	"github.com/storefleet/storefleet/controlplane/internal/console"
	"github.com/storefleet/storefleet/controlplane/internal/monitor"
	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/metrics"
)

// observe wires the monitoring of issue 8: the monitor behind the
// console's Monitoring and Jobs pages and the API's job routes, and the
// control plane's Prometheus registry (requests by route template, the
// control-plane pool, River's queues and the outcomes of the jobs this
// process runs, backups and alerts, and whether the database, Redis and
// the object store answer). See docs/monitoring.md.
func (m *Main) observe(cons *console.Handler, a *api.Handler) (*metrics.Metrics, error) {
	p := m.Platform
	mo := monitor.Options{Store: p.Store, ServerURL: p.Prov.AdminURL, Redis: m.Redis, SMTPURL: m.Config.SMTPURL, Logger: m.Logger}
	if p.Objects != nil {
		mo.Objects = p.Objects
	}
	mon, err := monitor.New(mo)
	if err != nil {
		return nil, err
	}
	cons.SetMonitor(mon)
	a.SetMonitor(mon)

	prom := metrics.New(metrics.Options{VendorLabels: -1}) // no vendor traffic here
	pool := p.Store.Pool()
	checks := []metrics.Check{
		{Name: "controlplane_db", Ping: pool.Ping},
		{Name: "redis", Ping: func(ctx context.Context) error { return m.Redis.Ping(ctx).Err() }},
	}
	if p.Objects != nil {
		checks = append(checks, metrics.Check{Name: "object_store", Ping: p.Objects.Ping})
	}
	prom.Registry.MustRegister(
		metrics.NewPoolCollector(map[string]*pgxpool.Pool{"controlplane": pool}),
		metrics.NewJobsCollector(pool),
		mon.Collector(),
		metrics.NewDependencyCollector(3*time.Second, checks...),
	)
	m.jobOutcomes = prom.RegisterJobOutcomes()
	return prom, nil
}

// watchJobs counts the outcomes of the jobs runner runs (until the
// returned stop is called).
func (m *Main) watchJobs(runner *jobs.Runner) (stop func()) {
	if m.jobOutcomes == nil {
		return func() {}
	}
	return m.jobOutcomes.Watch(runner.Client())
}
