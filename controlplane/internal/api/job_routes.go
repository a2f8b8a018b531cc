package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/monitor"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// SetMonitor gives the API the job controls (app.Main calls it once,
// before serving).
func (h *Handler) SetMonitor(m *monitor.Monitor) { h.monitor = m }

// jobRoutes declares the job routes on s, the token-checked subrouter.
//
//	GET  /api/v1/jobs                  queues and jobs
//	POST /api/v1/jobs/{id}/retry       run a job again (audited)
//	POST /api/v1/jobs/{id}/discard     give up on a job (audited)
func (h *Handler) jobRoutes(s *mux.Router) {
	s.Handle("/jobs", h.wrap(h.jobList)).Methods(http.MethodGet)
	s.Handle("/jobs/{id:[0-9]+}/retry", h.wrap(h.jobRetry)).Methods(http.MethodPost)
	s.Handle("/jobs/{id:[0-9]+}/discard", h.wrap(h.jobDiscard)).Methods(http.MethodPost)
}

var errNoMonitor = errors.New("api: the monitor is not wired (app.Main calls SetMonitor)")

// jobChange applies a job action for an admin who may change the
// platform, and answers the job as it is afterwards.
func (h *Handler) jobChange(w http.ResponseWriter, r *http.Request,
	change func(ctx context.Context, actor platform.Actor, id int64) (*monitor.Job, error)) error {
	if h.monitor == nil {
		return errNoMonitor
	}
	if !adminFrom(r.Context()).CanChange() {
		return web.Errorf(http.StatusForbidden, "this token's admin has a read-only role: ask a super admin to retry or discard jobs")
	}
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return fmt.Errorf("job id %q: %w", mux.Vars(r)["id"], platform.ErrNotFound)
	}
	j, err := change(r.Context(), actor(r), id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"job": j})
	return nil
}
