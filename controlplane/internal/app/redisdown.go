package app

// Issue 8, item 10: the control plane without Redis. Only admin console
// sessions live in Redis; the admin API (tokens in the database), the
// Stripe webhook, the TLS ask endpoint and the job system do not need it.
// So Redis is an optional readiness check here (a load balancer keeps the
// control plane in rotation, /readyz says "degraded"), and the console
// answers a clear 503 instead of a 500 while its sessions cannot be read.

import (
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/web"
)

// shortRedisTimeouts makes a Redis that hangs cost a page a second at
// most, not go-redis's default seconds per retry.
func shortRedisTimeouts(opts *redis.Options) {
	opts.DialTimeout = time.Second
	opts.ReadTimeout = time.Second
	opts.WriteTimeout = time.Second
	opts.PoolTimeout = time.Second
	opts.MaxRetries = 1
}

// sessionStoreDown answers console requests whose session cannot be
// read or saved.
func sessionStoreDown(rs *web.Responder) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		rs.SessionError(w, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 10, Err: err,
			Message: "The admin console cannot reach its session store (Redis) right now, so nobody can sign in. " +
				"The shops, the admin API and scheduled jobs keep working. Please try again in a moment."})
	}
}
