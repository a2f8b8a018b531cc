package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/internal/redisguard"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/internal/web"
)

func TestParseLimits(t *testing.T) {
	l, err := ratelimit.ParseLimits("login=5/30s, api=off")
	if err != nil || l["login"] != (ratelimit.Limit{N: 5, Per: 30 * time.Second}) || !l["api"].Off() || l["search"] != ratelimit.DefaultLimits()["search"] {
		t.Errorf("%v %v", l, err)
	}
	for _, bad := range []string{"login", "nope=1/1m", "login=0/1m", "login=5", "login=5/1ms", "search=x/1m"} {
		if _, err := ratelimit.ParseLimits(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestClientAddr(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		remote, xff, want string
	}{
		{"203.0.113.5:1234", "1.2.3.4", "203.0.113.5"},              // not a proxy: its header is ignored
		{"10.0.0.2:1234", "1.2.3.4, 198.51.100.7", "198.51.100.7"},  // the right-most untrusted hop
		{"10.0.0.2:1234", "198.51.100.7, 10.0.0.9", "198.51.100.7"}, // proxies chained
		{"10.0.0.2:1234", "", "10.0.0.2"},                           // a proxy's own request
		{"[2001:db8:1:2:3:4:5:6]:80", "", "2001:db8:1:2::/64"},      // IPv6 by /64
		{"[::ffff:203.0.113.9]:80", "", "203.0.113.9"},              // v4-mapped
		{"10.0.0.2:1234", "garbage, 198.51.100.7", "198.51.100.7"},  // garbage left of a good hop
		{"10.0.0.2:1234", "198.51.100.7, garbage", "10.0.0.2"},      // nothing right of garbage is believed
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ratelimit.ClientAddr(r, proxy); got != c.want {
			t.Errorf("%s %q: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func prefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "sf:test" + hex.EncodeToString(b) + ":rl:"
}

// The bucket: N at once, then refused with the time to wait; another
// vendor's or client's bucket is untouched; a refill comes at Per/N.
func TestLimiterBuckets(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(testenv.Vars(t)["STOREFLEET_REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	l := ratelimit.New(redisguard.New(rc, redisguard.Options{}), prefix())
	ctx := context.Background()
	lim := ratelimit.Limit{N: 3, Per: 3 * time.Second}
	for i := range 3 {
		if res := l.Allow(ctx, "search", 1, "203.0.113.5", lim); !res.Allowed || res.Remaining != 2-i {
			t.Fatalf("request %d: %+v", i, res)
		}
	}
	res := l.Allow(ctx, "search", 1, "203.0.113.5", lim)
	if res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > time.Second {
		t.Fatalf("4th request: %+v", res)
	}
	if res := l.Allow(ctx, "search", 2, "203.0.113.5", lim); !res.Allowed {
		t.Errorf("vendor 2, same client: %+v", res)
	}
	if res := l.Allow(ctx, "search", 1, "198.51.100.7", lim); !res.Allowed {
		t.Errorf("vendor 1, other client: %+v", res)
	}
	if res := l.Allow(ctx, "login", 1, "203.0.113.5", lim); !res.Allowed {
		t.Errorf("vendor 1, same client, other class: %+v", res)
	}
	time.Sleep(res.RetryAfter + 50*time.Millisecond)
	if res := l.Allow(ctx, "search", 1, "203.0.113.5", lim); !res.Allowed {
		t.Errorf("after the refill: %+v", res)
	}
	if ttl := rc.PTTL(ctx, l.Key("search", 1, "203.0.113.5")).Val(); ttl <= 0 || ttl > 3100*time.Millisecond {
		t.Errorf("bucket key's life: %v", ttl)
	}
	if s := l.Stats(); s.Limited != 1 || s.FailOpen != 0 {
		t.Errorf("stats: %+v", s)
	}
}

// Without Redis the limiter lets requests through, quickly, and counts
// them; the guard logs nothing per request (checked by its counters).
func TestLimiterFailsOpen(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rc := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rc.Close()
	g := redisguard.New(rc, redisguard.Options{Cooldown: time.Minute})
	l := ratelimit.New(g, prefix())
	start := time.Now()
	for range 100 {
		if res := l.Allow(context.Background(), "api", 1, "203.0.113.5", ratelimit.Limit{N: 1, Per: time.Minute}); !res.Allowed || !res.FailedOpen {
			t.Fatalf("%+v", res)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("100 checks without Redis took %v", took)
	}
	if s := l.Stats(); s.FailOpen != 100 {
		t.Errorf("stats: %+v", s)
	}
	if s := g.Stats(); s.Failures != 1 || s.Skipped != 99 || !s.Degraded {
		t.Errorf("guard: %+v (one failure, then the breaker skips Redis)", s)
	}
}

// A request from this machine is not limited when it comes straight to
// us (health checks), but one a local proxy forwarded is, even when the
// proxy is not trusted: its clients then share one budget rather than
// have none.
func TestLoopbackIsLimitedWhenForwarded(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(testenv.Vars(t)["STOREFLEET_REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	m := &ratelimit.Middleware{
		Limiter:   ratelimit.New(redisguard.New(rc, redisguard.Options{}), prefix()),
		Limits:    map[string]ratelimit.Limit{ratelimit.ClassSearch: {N: 2, Per: time.Minute}},
		Classify:  func(*http.Request) []string { return []string{ratelimit.ClassSearch} },
		Vendor:    func(*http.Request) (int64, bool) { return 7, true },
		Responder: &web.Responder{},
	}
	h := m.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	send := func(forwarded bool) int {
		r := httptest.NewRequest("GET", "/search", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		if forwarded {
			r.Header.Set("X-Forwarded-For", "203.0.113.9")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for range 5 {
		if code := send(false); code != http.StatusOK {
			t.Fatalf("a direct local request: %d", code)
		}
	}
	codes := []int{send(true), send(true), send(true)}
	if codes[0] != http.StatusOK || codes[1] != http.StatusOK || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("forwarded through an untrusted local proxy: %v", codes)
	}
}
