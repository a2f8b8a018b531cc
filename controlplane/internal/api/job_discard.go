package api

import "net/http"

// POST /api/v1/jobs/{id}/discard
//
// Gives up on a job: one still to run (or running) is cancelled, one
// already failed or cancelled is deleted (the answer then shows it with
// state "deleted"). 409 for a completed job. Audited as job.discard.
func (h *Handler) jobDiscard(w http.ResponseWriter, r *http.Request) error {
	return h.jobChange(w, r, h.monitor.Discard)
}
