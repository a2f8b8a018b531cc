package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/wiring"
)

// DomainCheckArgs checks the custom domains whose TXT record is due for a
// look: those a vendor or an admin asked about, new ones, and the others
// every few minutes until verified or given up (docs/domains.md).
type DomainCheckArgs struct{}

// Kind names the job.
func (DomainCheckArgs) Kind() string { return "domain_check" }

type domainCheckWorker struct {
	river.WorkerDefaults[DomainCheckArgs]
	d *domains.Service
}

func (w *domainCheckWorker) Timeout(*river.Job[DomainCheckArgs]) time.Duration {
	return 10 * time.Minute
}

func (w *domainCheckWorker) Work(ctx context.Context, job *river.Job[DomainCheckArgs]) error {
	_, err := w.d.CheckDue(ctx, system)
	return err
}

// domainService is o.Domains, or one over the platform that looks records
// up in DNS.
func domainService(p *wiring.Platform, o Options) *domains.Service {
	if o.Domains != nil {
		return o.Domains
	}
	return domains.New(domains.Options{Store: p.Store, BaseDomain: p.Cfg.BaseDomain})
}

// addDomainWorkers registers the domain check.
func addDomainWorkers(workers *river.Workers, p *wiring.Platform, o Options) {
	river.AddWorker(workers, &domainCheckWorker{d: domainService(p, o)})
}

// addDomainSchedules runs the domain check every minute, so that a check
// someone asked for happens within a minute.
func addDomainSchedules(client *river.Client[pgx.Tx]) error {
	_, err := client.PeriodicJobs().AddSafely(river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
		func() (river.JobArgs, *river.InsertOpts) {
			return DomainCheckArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
		},
		&river.PeriodicJobOpts{ID: "domain_check", RunOnStart: true}))
	return err
}
