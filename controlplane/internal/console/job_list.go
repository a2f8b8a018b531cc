package console

import (
	"net/http"
	"strings"

	"github.com/storefleet/storefleet/controlplane/internal/monitor"
)

// jobsPerSection is how many jobs each section of the Jobs page lists.
const jobsPerSection = 50

// GET /admin/jobs
//
// River's queues with their jobs per state, then the failed and erroring
// jobs with their last error (Retry, Discard), the running ones, the ones
// waiting or scheduled, and the periodic schedules from the settings.
// ?queue= and ?kind= narrow the lists.
func (h *Handler) jobList(w http.ResponseWriter, r *http.Request) error {
	if h.monitor == nil {
		return errNoMonitor
	}
	ctx := r.Context()
	q := r.URL.Query()
	queue, kind := strings.TrimSpace(q.Get("queue")), strings.TrimSpace(q.Get("kind"))
	stats, err := h.monitor.JobStats(ctx)
	if err != nil {
		return err
	}
	list := func(states []string) ([]*monitor.Job, error) {
		return h.monitor.Jobs(ctx, monitor.JobFilter{States: states, Queue: queue, Kind: kind, Limit: jobsPerSection})
	}
	failed, err := list(monitor.StatesFailed)
	if err != nil {
		return err
	}
	running, err := list(monitor.StatesRunning)
	if err != nil {
		return err
	}
	scheduled, err := list(monitor.StatesScheduled)
	if err != nil {
		return err
	}
	schedules, err := h.monitor.Schedules(ctx)
	if err != nil {
		return err
	}
	next := "/admin/jobs"
	if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	return h.render(w, r, http.StatusOK, "job_list", map[string]any{
		"Title": "Jobs", "Nav": "jobs", "Stats": stats, "Failed": failed, "Running": running, "Scheduled": scheduled,
		"Schedules": schedules, "Queue": queue, "Kind": kind, "Next": next, "PerSection": jobsPerSection,
		"CanChange": adminFrom(ctx).CanChange(),
	})
}
