package app

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// withDeadlines gives every control-plane request a deadline: its
// database statements (pgx gives up when the context ends), Redis and the
// object store. A control-plane database that hangs (accepts, never
// answers) then costs a console page or an API call short at most, and
// the request ends in a 503 with Retry-After (web.Unavailable knows
// context.DeadlineExceeded) instead of waiting for as long as the client
// does. The requests longRequest picks get long instead. Zero: no bound.
// Work a request starts in the background (backups, restores, moves,
// verifications, migration rollouts) is detached from the request's
// context and not bound by it.
func withDeadlines(short, long time.Duration, next http.Handler) http.Handler {
	if short <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := short
		if long > short && longRequest(r) {
			d = long
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// longRequest reports whether a control-plane request streams or runs
// long, and so gets STOREFLEET_LONG_REQUEST_TIMEOUT instead of
// STOREFLEET_REQUEST_TIMEOUT: the audit log's CSV export (written row by
// row as the database returns them), creating a vendor (a database copied
// from the template, its roles and bucket), deleting one (its final
// backup and its data) and the console's bulk actions (one vendor after
// another). The Stripe webhook keeps the short bound: Stripe waits for
// its answer and sends the event again after an error.
func longRequest(r *http.Request) bool {
	p := r.URL.Path
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return strings.HasPrefix(p, "/admin/") && strings.HasSuffix(p, ".csv") // audit export
	case http.MethodPost:
		return p == "/admin/vendors" || p == "/api/v1/vendors" || // create
			p == "/admin/vendors/bulk" ||
			strings.HasPrefix(p, "/admin/vendors/") && strings.HasSuffix(p, "/delete")
	case http.MethodDelete:
		return strings.HasPrefix(p, "/api/v1/vendors/") // delete
	}
	return false
}
