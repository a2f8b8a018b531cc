// Package ratelimit limits requests per client address per vendor in
// Redis: a token bucket (GCRA, one key holding the bucket's "theoretical
// arrival time") run by a Lua script, so that one check is one round trip
// and atomic across replicas. Keys carry the vendor's id and the client's
// address, so one vendor's flood never spends another vendor's budget.
// When Redis is down the limiter lets requests through (fails open) and
// counts them.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/redisguard"
)

// Limit is a budget: N requests per Per, refilled evenly (a client that
// spent it all gets one more every Per/N), with bursts of up to N.
type Limit struct {
	N   int
	Per time.Duration
}

// Off reports whether the limit lets everything through.
func (l Limit) Off() bool { return l.N <= 0 || l.Per <= 0 }

func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	return strconv.Itoa(l.N) + "/" + l.Per.String()
}

// Classes of requests with a limit each.
const (
	ClassLogin    = "login"    // sign-in, registration and password-reset forms (staff and shoppers)
	ClassCheckout = "checkout" // placing an order and paying it
	ClassSearch   = "search"   // search pages, suggestions, the search API
	ClassAPI      = "api"      // every /api/v1/shop/* and /api/v1/vendor/* call
)

// DefaultLimits are the limits of each class unless configured.
func DefaultLimits() map[string]Limit {
	return map[string]Limit{
		ClassLogin:    {N: 20, Per: time.Minute},
		ClassCheckout: {N: 20, Per: time.Minute},
		ClassSearch:   {N: 120, Per: time.Minute},
		ClassAPI:      {N: 600, Per: time.Minute},
	}
}

// ParseLimits reads a spec such as "login=10/1m,search=300/1m,api=off"
// over the defaults; classes not named keep their default.
func ParseLimits(spec string) (map[string]Limit, error) {
	out := DefaultLimits()
	for _, part := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' }) {
		class, val, ok := strings.Cut(part, "=")
		if _, known := out[class]; !ok || !known {
			return nil, fmt.Errorf("%q: write class=N/duration with a class of %s", part, strings.Join(classNames(), ", "))
		}
		if val == "off" || val == "0" {
			out[class] = Limit{}
			continue
		}
		ns, ds, ok := strings.Cut(val, "/")
		n, err := strconv.Atoi(ns)
		d, derr := time.ParseDuration(ds)
		if !ok || err != nil || derr != nil || n < 1 || n > 1_000_000 || d < time.Second || d > 24*time.Hour {
			return nil, fmt.Errorf("%q: write %s=N/duration, N from 1 to 1000000 and a duration from 1s to 24h (e.g. %s=20/1m), or %s=off",
				part, class, class, class)
		}
		out[class] = Limit{N: n, Per: d}
	}
	return out, nil
}

func classNames() []string {
	var names []string
	for k := range DefaultLimits() {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Result is the answer of one check.
type Result struct {
	Allowed bool
	// Remaining is how many more requests the bucket holds now.
	Remaining int
	// RetryAfter is how long to wait before the next request is allowed
	// (when not allowed).
	RetryAfter time.Duration
	// FailedOpen is true when Redis could not be asked and the request
	// was let through.
	FailedOpen bool
}

// Limiter checks budgets in Redis.
type Limiter struct {
	guard    *redisguard.Guard
	prefix   string
	failOpen atomic.Int64
	limited  atomic.Int64
}

// New returns a limiter whose keys start with prefix ("sf:<platform
// prefix>:rl:").
func New(guard *redisguard.Guard, prefix string) *Limiter {
	return &Limiter{guard: guard, prefix: prefix}
}

// gcra is the token bucket: KEYS[1] holds the theoretical arrival time
// (µs, Redis's clock); ARGV[1] is the emission interval (µs per request),
// ARGV[2] the burst (requests). It answers {allowed, remaining, retry
// after in µs}.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return {0, 0, math.ceil(allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.floor((now - allow_at) / interval), 0}
`)

// Key is the bucket of a class, vendor and client address.
func (l *Limiter) Key(class string, vendorID int64, client string) string {
	return l.prefix + strconv.FormatInt(vendorID, 10) + ":" + class + ":" + client
}

// Allow spends one request of the bucket of class for a client of a
// vendor. A Redis that cannot be asked lets the request through.
func (l *Limiter) Allow(ctx context.Context, class string, vendorID int64, client string, lim Limit) Result {
	if lim.Off() {
		return Result{Allowed: true, Remaining: math.MaxInt32}
	}
	interval := max(lim.Per.Microseconds()/int64(lim.N), 1)
	var vals []int64
	err := l.guard.Do(ctx, func(ctx context.Context, c redis.UniversalClient) error {
		var err error
		vals, err = gcra.Run(ctx, c, []string{l.Key(class, vendorID, client)}, interval, lim.N).Int64Slice()
		return err
	})
	if err != nil || len(vals) != 3 {
		l.failOpen.Add(1)
		return Result{Allowed: true, FailedOpen: true}
	}
	if vals[0] == 0 {
		l.limited.Add(1)
		return Result{RetryAfter: time.Duration(vals[2]) * time.Microsecond}
	}
	return Result{Allowed: true, Remaining: int(vals[1])}
}

// Stats are the limiter's counters since start.
type Stats struct {
	Limited  int64 `json:"limited"`   // requests refused
	FailOpen int64 `json:"fail_open"` // requests let through without asking Redis
}

// Stats returns the limiter's counters.
func (l *Limiter) Stats() Stats {
	return Stats{Limited: l.limited.Load(), FailOpen: l.failOpen.Load()}
}

// ClientKey is the client address a budget is kept for: the address
// itself for IPv4, its /64 for IPv6 (one household or server holds a
// whole /64).
func ClientKey(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
