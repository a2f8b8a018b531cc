package console

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/rollouts"
	"github.com/storefleet/storefleet/internal/rollout"
)

// POST /admin/migrations/{id}/resume
//
// Takes up the failed and unfinished vendors of the newest migrate-all run
// in the background; the run's page then follows it.
func (h *Handler) migrationResume(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := runIDFromPath(r)
	if err != nil {
		return err
	}
	back := fmt.Sprintf("/admin/migrations/%d", id)
	err = h.rollouts.Resume(ctx, actor(r), id)
	var busy *rollout.ErrBusy
	var nr *rollouts.NotResumableError
	switch {
	case errors.As(err, &busy) && busy.RunID == id:
		h.flashError(ctx, "Run %d is already running; this page follows its progress.", id)
		return redirect(w, r, back)
	case errors.As(err, &busy) && busy.RunID != 0:
		h.flashError(ctx, "Another rollout is running (run %d, started %s by %s). Wait for it to end, then resume this one.",
			busy.RunID, busy.StartedAt.UTC().Format("2006-01-02 15:04 UTC"), busy.Actor)
		return redirect(w, r, back)
	case errors.As(err, &busy):
		h.flashError(ctx, "Another rollout holds the lock (a migrate-all that is starting). Wait for it to end, then resume this one.")
		return redirect(w, r, back)
	case errors.As(err, &nr):
		h.flashError(ctx, "Run %d cannot be resumed: %s.", id, nr.Reason)
		return redirect(w, r, back)
	case errors.Is(err, rollouts.ErrShuttingDown):
		h.flashError(ctx, "The control plane is shutting down; resume the run once it is back.")
		return redirect(w, r, back)
	case err != nil:
		return err
	}
	h.flashOK(ctx, "Run %d is resuming: its failed and unfinished vendors are being migrated. This page follows its progress.", id)
	return redirect(w, r, back)
}
