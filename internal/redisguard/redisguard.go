// Package redisguard runs the Redis calls of what works without Redis
// (caches, rate limits): every call has a short timeout; a failed call
// opens a breaker, so that for a moment the next calls skip Redis instead
// of each waiting for it; failures are counted and logged at most once a
// minute, never once per request.
package redisguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable means Redis was not asked (no client, or the breaker is
// open after a recent failure) or did not answer in time; callers go on
// without it.
var ErrUnavailable = errors.New("redis unavailable")

// Guard wraps a Redis client for optional work.
type Guard struct {
	client   redis.UniversalClient
	name     string
	timeout  time.Duration
	cooldown time.Duration
	logEvery time.Duration
	log      *slog.Logger

	failures  atomic.Int64 // calls that failed
	skipped   atomic.Int64 // calls not made: the breaker was open
	openUntil atomic.Int64 // unix nanoseconds; 0 when closed
	lastLog   atomic.Int64 // unix nanoseconds of the last failure logged
	lastErr   atomic.Pointer[string]
}

// Options tune a Guard; zero values take the defaults.
type Options struct {
	// Name says what the guard serves in log lines ("storefront cache").
	Name string
	// Timeout bounds one call (default 250 ms).
	Timeout time.Duration
	// Cooldown is how long calls skip Redis after a failure (default 2 s).
	Cooldown time.Duration
	// LogEvery is the least time between two failure log lines (default 1 min).
	LogEvery time.Duration
	Logger   *slog.Logger
}

// New returns a guard over client; a nil client makes every call
// ErrUnavailable (a service running without Redis).
func New(client redis.UniversalClient, o Options) *Guard {
	if o.Timeout <= 0 {
		o.Timeout = 250 * time.Millisecond
	}
	if o.Cooldown <= 0 {
		o.Cooldown = 2 * time.Second
	}
	if o.LogEvery <= 0 {
		o.LogEvery = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		o.Name = "redis"
	}
	return &Guard{client: client, name: o.Name, timeout: o.Timeout, cooldown: o.Cooldown, logEvery: o.LogEvery, log: o.Logger}
}

// Do runs fn with the client under the guard's timeout. It returns
// ErrUnavailable (wrapping the cause) when Redis failed or was skipped;
// redis.Nil and fn's other answers pass through.
func (g *Guard) Do(ctx context.Context, fn func(ctx context.Context, c redis.UniversalClient) error) error {
	if g == nil || g.client == nil {
		return ErrUnavailable
	}
	now := time.Now().UnixNano()
	if until := g.openUntil.Load(); until != 0 && now < until {
		g.skipped.Add(1)
		return ErrUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	err := fn(cctx, g.client)
	cancel()
	if err == nil || errors.Is(err, redis.Nil) {
		if g.openUntil.Swap(0) != 0 {
			g.log.Info(g.name+": Redis answers again", "failures", g.failures.Load(), "skipped", g.skipped.Load())
		}
		return err
	}
	if ctx.Err() != nil { // the request went away: not Redis's fault
		return err
	}
	var rerr redis.Error
	if errors.As(err, &rerr) && !isConnError(err) {
		return err // Redis answered with an error (a script's, a wrong type): it is up
	}
	g.fail(err)
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// isConnError reports Redis errors that mean it cannot serve now.
func isConnError(err error) bool {
	s := err.Error()
	for _, p := range []string{"LOADING", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "TRYAGAIN", "BUSY"} {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}

func (g *Guard) fail(err error) {
	n := g.failures.Add(1)
	now := time.Now()
	g.openUntil.Store(now.Add(g.cooldown).UnixNano())
	msg := err.Error()
	g.lastErr.Store(&msg)
	last := g.lastLog.Load()
	if now.UnixNano()-last >= int64(g.logEvery) && g.lastLog.CompareAndSwap(last, now.UnixNano()) {
		g.log.Warn(g.name+": Redis is unavailable; serving without it", "err", err, "failures", n, "skipped", g.skipped.Load())
	}
}

// Stats are a guard's counters since start.
type Stats struct {
	Failures  int64  `json:"failures"`
	Skipped   int64  `json:"skipped"`
	Degraded  bool   `json:"degraded"`
	LastError string `json:"last_error,omitempty"`
}

// Stats returns the guard's counters; Degraded is true while the breaker
// is open.
func (g *Guard) Stats() Stats {
	if g == nil {
		return Stats{}
	}
	s := Stats{Failures: g.failures.Load(), Skipped: g.skipped.Load(), Degraded: time.Now().UnixNano() < g.openUntil.Load()}
	if p := g.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	return s
}

// Ping asks Redis directly (readiness checks), past the breaker, and
// closes the breaker when Redis answers.
func (g *Guard) Ping(ctx context.Context) error {
	if g == nil || g.client == nil {
		return errors.New("no Redis configured (STOREFLEET_REDIS_URL)")
	}
	if err := g.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping Redis: %w", err)
	}
	g.openUntil.Store(0)
	return nil
}
