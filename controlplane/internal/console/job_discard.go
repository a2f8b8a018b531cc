package console

import "net/http"

// POST /admin/jobs/{id}/discard
//
// Gives up on a job: one still to run is cancelled, one already failed or
// cancelled is deleted; audited as job.discard.
func (h *Handler) jobDiscard(w http.ResponseWriter, r *http.Request) error {
	return h.jobChange(w, r, h.monitor.Discard, "Job %d (%s) is discarded.")
}
