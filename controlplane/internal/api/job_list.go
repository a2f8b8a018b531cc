package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/storefleet/storefleet/controlplane/internal/monitor"
	"github.com/storefleet/storefleet/internal/metrics"
	"github.com/storefleet/storefleet/internal/web"
)

// jobStateGroups are the names GET /jobs?state= takes besides River's
// own states.
var jobStateGroups = map[string][]string{
	"failed":    monitor.StatesFailed,
	"running":   monitor.StatesRunning,
	"scheduled": monitor.StatesScheduled,
}

// GET /api/v1/jobs?state=&queue=&kind=&limit=
//
// River's queues (jobs per state, the oldest waiting job's age) and the
// jobs that match, newest activity first (scheduled ones by when they are
// due). state takes River's states and the groups failed (discarded,
// retryable, cancelled), running and scheduled (scheduled, available,
// pending), several separated by commas; by default failed.
func (h *Handler) jobList(w http.ResponseWriter, r *http.Request) error {
	if h.monitor == nil {
		return errNoMonitor
	}
	ctx := r.Context()
	q := r.URL.Query()
	f := monitor.JobFilter{Limit: 100, Queue: q.Get("queue"), Kind: q.Get("kind")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return web.FieldError("limit", "limit must be a whole number from 1 to 500")
		}
		f.Limit = n
	}
	all := false
	for _, s := range q["state"] {
		for _, st := range strings.Split(s, ",") {
			st = strings.TrimSpace(st)
			if g, ok := jobStateGroups[st]; ok {
				f.States = append(f.States, g...)
				continue
			}
			known := st == "all"
			for _, rs := range metrics.JobStates {
				known = known || rs == st
			}
			if !known {
				return web.FieldError("state", "state must be failed, running, scheduled, all, or one of River's states: "+strings.Join(metrics.JobStates, ", "))
			}
			if st == "all" {
				all = true
			} else {
				f.States = append(f.States, st)
			}
		}
	}
	if all {
		f.States = nil
	} else if len(f.States) == 0 {
		f.States = monitor.StatesFailed
	}
	stats, err := h.monitor.JobStats(ctx)
	if err != nil {
		return err
	}
	jobs, err := h.monitor.Jobs(ctx, f)
	if err != nil {
		return err
	}
	if jobs == nil {
		jobs = []*monitor.Job{}
	}
	type queueJSON struct {
		Name                   string           `json:"name"`
		Jobs                   map[string]int64 `json:"jobs"`
		OldestAvailableSeconds float64          `json:"oldest_available_seconds"`
		Erroring               int64            `json:"erroring"`
	}
	queues := []queueJSON{}
	for _, name := range stats.Queues {
		counts := map[string]int64{}
		for _, s := range metrics.JobStates {
			counts[s] = stats.Counts[name][s]
		}
		queues = append(queues, queueJSON{Name: name, Jobs: counts,
			OldestAvailableSeconds: stats.OldestAvailable[name].Seconds(), Erroring: stats.Erroring[name]})
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"queues": queues, "jobs": jobs})
	return nil
}
