package api

import "net/http"

// POST /api/v1/jobs/{id}/retry
//
// Makes a failed (discarded), cancelled or erroring (retryable) job run
// again at once, with one more attempt if it used them all. 409 for a job
// in another state. Audited as job.retry.
func (h *Handler) jobRetry(w http.ResponseWriter, r *http.Request) error {
	return h.jobChange(w, r, h.monitor.Retry)
}
