package app

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/metrics"
	"github.com/storefleet/storefleet/internal/storage"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// newMetrics makes the tenant app's Prometheus registry: requests by
// route template, the vendor pool manager, the router role's pool, the
// per-vendor request counters, and whether the control plane, Redis and
// the object store answer. See docs/monitoring.md.
func (a *App) newMetrics() *metrics.Metrics {
	m := metrics.New(metrics.Options{VendorLabels: a.cfg.MetricsVendorLabels})
	m.Registry.MustRegister(
		metrics.NewPoolCollector(map[string]*pgxpool.Pool{"router": a.router}),
		metrics.NewPoolManagerCollector(func() metrics.PoolManagerStats {
			s := a.pools.Stats()
			return metrics.PoolManagerStats{OpenPools: s.OpenPools, MaxConns: s.MaxConns, TotalConns: s.TotalConns,
				AcquiredConns: s.AcquiredConns, IdleConns: s.IdleConns, Waiting: s.Waiting, Waits: s.Waits,
				WaitFailures: s.WaitFailures, Reclaimed: s.Reclaimed, Evictions: s.Evictions, IdleClosed: s.IdleClosed, Replaced: s.Replaced,
				BreakerTrips: s.BreakerTrips}
		}),
	)
	checks := []metrics.Check{{Name: "controlplane_db", Ping: a.router.Ping}}
	if a.redis != nil {
		checks = append(checks, metrics.Check{Name: "redis", Ping: func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }})
	}
	if a.cfg.S3Endpoint != "" {
		if objects, err := storage.NewAdmin(storage.Config{Endpoint: a.cfg.S3Endpoint, AccessKey: a.cfg.S3AccessKey,
			SecretKey: a.cfg.S3SecretKey, Secure: a.cfg.S3Secure, Region: a.cfg.S3Region}); err == nil {
			checks = append(checks, metrics.Check{Name: "object_store", Ping: objects.Ping})
		}
	}
	m.Registry.MustRegister(metrics.NewDependencyCollector(3*time.Second, checks...))
	return m
}

// instrument measures every request of the tenant app (outermost, so it
// sees the status the error pages and the panic handler write), labelled
// by the route templates of the top router and the shop router, and
// counts them per vendor.
func (a *App) instrument(m *metrics.Metrics, h http.Handler, root, shop *mux.Router) http.Handler {
	vendor := func(r *http.Request) string {
		if t := tenant.FromContext(r.Context()); t != nil && t.Entry != nil {
			return t.Entry.Slug
		}
		return ""
	}
	return m.Instrument(h, vendor, root, shop)
}
