package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/storefleet/storefleet/controlplane/internal/monitor"
)

// errNoMonitor is returned by the monitoring pages of a console built
// without SetMonitor.
var errNoMonitor = errors.New("console: the monitor is not wired (app.Main calls SetMonitor)")

// refreshChoices are the auto-refresh periods the Monitoring page offers
// (seconds); 0 is off.
var refreshChoices = []int{0, 15, 30, 60}

// GET /admin/monitoring
//
// Checks every database server, Redis, the object store, the mailer and
// the job system now, in parallel, and shows each one's status, latency
// and what it means. ?refresh=N (15, 30 or 60) reloads the page every N
// seconds with Alpine; the Refresh link works without it.
func (h *Handler) monitoring(w http.ResponseWriter, r *http.Request) error {
	if h.monitor == nil {
		return errNoMonitor
	}
	refresh, _ := strconv.Atoi(r.URL.Query().Get("refresh"))
	ok := false
	for _, c := range refreshChoices {
		ok = ok || c == refresh
	}
	if !ok {
		refresh = 0
	}
	rep := h.monitor.Check(r.Context())
	var servers, services []monitor.Component
	for _, c := range rep.Components {
		if c.Group == monitor.GroupServers {
			servers = append(servers, c)
		} else {
			services = append(services, c)
		}
	}
	return h.render(w, r, http.StatusOK, "monitoring", map[string]any{
		"Title": "Monitoring", "Nav": "monitoring", "Report": rep, "Servers": servers, "Services": services,
		"Refresh": refresh, "RefreshChoices": refreshChoices[1:],
	})
}
