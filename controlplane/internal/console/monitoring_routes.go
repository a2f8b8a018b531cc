package console

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/monitor"
)

// SetMonitor gives the console the platform's health checks and job
// controls (app.Main calls it once, before serving).
func (h *Handler) SetMonitor(m *monitor.Monitor) { h.monitor = m }

// monitoringRoutes declares the Monitoring and Jobs pages on s, the
// signed-in subrouter (support admins may look; requireAdmin refuses them
// the posts, and the handlers check again).
//
//	GET  /admin/monitoring              health of every part of the platform
//	GET  /admin/jobs                    River's queues and jobs
//	POST /admin/jobs/{id}/retry         run a failed job again (audited)
//	POST /admin/jobs/{id}/discard       give up on a job (audited)
func (h *Handler) monitoringRoutes(s *mux.Router) {
	s.Handle("/monitoring", h.wrap(h.monitoring)).Methods(http.MethodGet)
	s.Handle("/jobs", h.wrap(h.jobList)).Methods(http.MethodGet)
	s.Handle("/jobs/{id:[0-9]+}/retry", h.wrap(h.jobRetry)).Methods(http.MethodPost)
	s.Handle("/jobs/{id:[0-9]+}/discard", h.wrap(h.jobDiscard)).Methods(http.MethodPost)
}
