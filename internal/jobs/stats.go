package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/stats"
	"github.com/storefleet/storefleet/internal/wiring"
)

// StatsRollupArgs rolls up every active and suspended vendor's figures
// for the console's dashboard (see internal/stats), over the last
// stats.days days.
type StatsRollupArgs struct{}

// Kind names the job.
func (StatsRollupArgs) Kind() string { return "stats_rollup" }

type statsWorker struct {
	river.WorkerDefaults[StatsRollupArgs]
	p *wiring.Platform
}

func (w *statsWorker) Timeout(*river.Job[StatsRollupArgs]) time.Duration { return time.Hour }

// Work runs the roll-up. Vendors that fail are recorded in the run (and
// shown on the dashboard); they do not fail the job, which the next
// scheduled run repeats anyway.
func (w *statsWorker) Work(ctx context.Context, job *river.Job[StatsRollupArgs]) error {
	values, err := w.p.Store.SettingValues(ctx)
	if err != nil {
		return err
	}
	_, err = stats.Rollup(ctx, stats.Options{Store: w.p.Store, Prov: w.p.Prov, Objects: w.p.Objects,
		Days: platform.SettingInt(values, "stats.days")}, "system:scheduler")
	return err
}
