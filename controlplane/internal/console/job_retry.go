package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/monitor"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// jobIDFromPath is the job id in the URL.
func jobIDFromPath(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("job id %q: %w", mux.Vars(r)["id"], platform.ErrNotFound)
	}
	return id, nil
}

// jobsBack is where a job form returns: the Jobs page it came from.
func jobsBack(r *http.Request) string {
	if next := r.PostForm.Get("next"); next == "/admin/jobs" || strings.HasPrefix(next, "/admin/jobs?") {
		return safeNext(next)
	}
	return "/admin/jobs"
}

// POST /admin/jobs/{id}/retry
//
// Makes a failed, cancelled or erroring job available at once (with one
// more attempt if it used them all); audited as job.retry.
func (h *Handler) jobRetry(w http.ResponseWriter, r *http.Request) error {
	return h.jobChange(w, r, h.monitor.Retry, "Job %d (%s) will run again in a moment.")
}

// jobChange applies a job action for a super admin and says how it went.
func (h *Handler) jobChange(w http.ResponseWriter, r *http.Request,
	change func(ctx context.Context, actor platform.Actor, id int64) (*monitor.Job, error), done string) error {
	if h.monitor == nil {
		return errNoMonitor
	}
	ctx := r.Context()
	if !adminFrom(ctx).CanChange() {
		return web.Errorf(http.StatusForbidden, "Your role is read-only: ask a super admin to retry or discard jobs.")
	}
	id, err := jobIDFromPath(r)
	if err != nil {
		return err
	}
	j, err := change(ctx, actor(r), id)
	var we *web.Error
	if errors.As(err, &we) && we.Status == http.StatusConflict {
		h.flashError(ctx, "%s", we.Message)
		return redirect(w, r, jobsBack(r))
	}
	if err != nil {
		return err
	}
	h.flashOK(ctx, done, id, j.Kind)
	return redirect(w, r, jobsBack(r))
}
