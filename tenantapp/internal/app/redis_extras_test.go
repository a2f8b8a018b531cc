package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
)

// newShopEnvWith is newShopEnv with a configuration changed by edit.
func newShopEnvWith(t *testing.T, edit func(cfg *config.Config)) *shopEnv {
	t.Helper()
	e := testenv.New(t)
	cfg := *e.Cfg
	edit(&cfg)
	a, err := app.New(context.Background(), &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &shopEnv{e: e, a: a, srv: srv}
}

// privateRedis is a redis-server of the test's own (the shared one is
// never stopped), which the test can stop and start again on its port.
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &privateRedis{t: t, port: port}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *privateRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--save", "", "--appendonly", "no", "--dir", r.t.TempDir())
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server (is it installed? deploy/local/services.sh installs it): %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer c.Close()
	for i := 0; ; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		if i > 100 {
			r.t.Fatal("private redis-server does not answer")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *privateRedis) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *privateRedis) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	r.t.Cleanup(func() { c.Close() })
	return c
}

// readyRedis returns /readyz's status code, and the status of its redis check.
func readyRedis(t *testing.T, s *shopEnv) (int, string) {
	t.Helper()
	resp, err := http.Get(s.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Checks map[string]struct{ Status string } `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out.Checks["redis"].Status
}

// Redis stopped during the test, and started again: the storefront's
// pages load all along (uncached while it is down), /readyz stays 200 and
// says "degraded", and the cache fills again once Redis is back.
func TestRedisStoppedStorefrontStillLoads(t *testing.T) {
	t.Parallel()
	rd := startPrivateRedis(t)
	s := newShopEnvWith(t, func(c *config.Config) { c.RedisURL = rd.url() })
	v, _, _ := catalogFixture(t, s, "downshop")
	pages := []string{"/", "/products", "/products?brand=Acme", "/search?q=widget", "/search/suggest?q=wid",
		"/products/widget-01", "/api/v1/shop/products", "/api/v1/shop/categories", "/api/v1/shop/search?q=widget"}
	load := func(phase string) {
		t.Helper()
		for _, p := range pages {
			if code, body := s.get(t, "downshop.localhost", p); code != 200 {
				t.Fatalf("%s: %s: %d %.300s", phase, p, code, body)
			}
		}
	}
	settingsKey := fmt.Sprintf("sf:%s:c:%d:s%d:settings", s.e.Cfg.Prefix, v.ID, schemaOf(t, s, v.ID))
	rc := rd.client()

	load("redis up")
	waitFor(t, func() bool { return rc.Exists(context.Background(), settingsKey).Val() == 1 })
	if code, st := readyRedis(t, s); code != 200 || st != "ok" {
		t.Fatalf("readyz with redis up: %d %q", code, st)
	}

	rd.stop() // up → down
	start := time.Now()
	load("redis down")
	load("redis still down")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("pages with redis down took %v", took)
	}
	if code, st := readyRedis(t, s); code != 200 || st != "degraded" {
		t.Fatalf("readyz with redis down: %d %q, want 200 degraded", code, st)
	}

	rd.start()                          // down → up: an empty Redis, filled again
	time.Sleep(2100 * time.Millisecond) // the breaker's cooldown and the in-process entries' life
	if code, st := readyRedis(t, s); code != 200 || st != "ok" {
		t.Fatalf("readyz with redis back: %d %q", code, st)
	}
	load("redis back")
	waitFor(t, func() bool { return rc.Exists(context.Background(), settingsKey).Val() == 1 })
}

// schemaOf is a vendor's schema version as the routing entries say.
func schemaOf(t *testing.T, s *shopEnv, vendorID int64) int64 {
	t.Helper()
	var v int64
	if err := s.e.CP.QueryRow(context.Background(), `SELECT schema_version FROM routing_entries WHERE vendor_id = $1 LIMIT 1`, vendorID).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A Redis that was never there (a closed port): pages load, rate limits
// let requests through, /readyz is 200 with redis "degraded".
func TestRedisAbsentPagesLoadAndLimitsFailOpen(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	s := newShopEnvWith(t, func(c *config.Config) {
		c.RedisURL = "redis://" + closed + "/0"
		c.RateLimits = "search=2/1m"
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	catalogFixture(t, s, "noredis")
	for i := range 5 { // over the limit of 2: let through, Redis cannot count
		if code, body := s.get(t, "noredis.localhost", "/search?q=widget", "X-Forwarded-For", "203.0.113.5"); code != 200 {
			t.Fatalf("search %d without redis: %d %.200s", i, code, body)
		}
	}
	for _, p := range []string{"/", "/products", "/products/widget-02"} {
		if code, _ := s.get(t, "noredis.localhost", p); code != 200 {
			t.Errorf("%s without redis: %d", p, code)
		}
	}
	if code, st := readyRedis(t, s); code != 200 || st != "degraded" {
		t.Errorf("readyz: %d %q, want 200 degraded", code, st)
	}
}

// Two vendors with the same data shape: each one's cache entries sit
// under its own id, hold its own values, and never show in the other's
// pages; a settings change in one's back office shows at once.
func TestStorefrontCacheKeysCarryTheVendor(t *testing.T) {
	t.Parallel()
	rd := startPrivateRedis(t)
	s := newShopEnvWith(t, func(c *config.Config) { c.RedisURL = rd.url() })
	a, alice := signedInOwner(t, s, "alpha", "Alpha Shop")
	b, bob := signedInOwner(t, s, "beta", "Beta Shop")
	for _, x := range []struct {
		br    *browser
		name  string
		brand string
	}{{alice, "Alpha Display", "AlphaBrand"}, {bob, "Beta Display", "BetaBrand"}} {
		f := settingsForm()
		f.Set("display_name", x.name)
		if code, body, _ := x.br.do("POST", "/admin/settings", f); code != 303 {
			t.Fatalf("save settings %s: %d %.300s", x.name, code, body)
		}
	}
	addShopProducts(t, s.e.VendorPool(t, a), shopProduct{sku: "SAME-1", title: "Same thing", handle: "same", brand: "AlphaBrand", price: 100, onHand: 1})
	addShopProducts(t, s.e.VendorPool(t, b), shopProduct{sku: "SAME-1", title: "Same thing", handle: "same", brand: "BetaBrand", price: 100, onHand: 1})
	for i := 0; i < 2; i++ { // the second round is served from the caches
		for _, x := range []struct{ host, own, other, brand, otherBrand string }{
			{"alpha.localhost", "Alpha Display", "Beta Display", "AlphaBrand", "BetaBrand"},
			{"beta.localhost", "Beta Display", "Alpha Display", "BetaBrand", "AlphaBrand"}} {
			_, body := s.get(t, x.host, "/products")
			if !strings.Contains(body, x.own) || strings.Contains(body, x.other) || !strings.Contains(body, x.brand) || strings.Contains(body, x.otherBrand) {
				t.Fatalf("round %d, %s shows another shop's cached data: %.500s", i, x.host, body)
			}
		}
	}
	rc := rd.client()
	ctx := context.Background()
	for _, x := range []struct {
		id         int64
		own, brand string
	}{{a.ID, "Alpha Display", "AlphaBrand"}, {b.ID, "Beta Display", "BetaBrand"}} {
		prefix := fmt.Sprintf("sf:%s:c:%d:", s.e.Cfg.Prefix, x.id)
		var settings, brands string
		schema := schemaOf(t, s, x.id)
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			settings = rc.Get(ctx, fmt.Sprintf("%ss%d:settings", prefix, schema)).Val()
			brands = rc.Get(ctx, fmt.Sprintf("%ss%d:brands", prefix, schema)).Val()
			if settings != "" && brands != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("vendor %d's entries are not in Redis", x.id)
			}
			s.get(t, map[int64]string{a.ID: "alpha.localhost", b.ID: "beta.localhost"}[x.id], "/products") // store again
		}
		if !strings.Contains(settings, x.own) || !strings.Contains(brands, x.brand) {
			t.Errorf("vendor %d's entries hold %s / %s", x.id, settings, brands)
		}
	}
	// Every key of the cache carries a vendor's id.
	keys := rc.Keys(ctx, "sf:"+s.e.Cfg.Prefix+":c:*").Val()
	for _, k := range keys {
		if !strings.HasPrefix(k, fmt.Sprintf("sf:%s:c:%d:", s.e.Cfg.Prefix, a.ID)) && !strings.HasPrefix(k, fmt.Sprintf("sf:%s:c:%d:", s.e.Cfg.Prefix, b.ID)) {
			t.Errorf("cache key without a vendor: %s", k)
		}
	}

	// A change in alpha's back office shows at once (its entries dropped); beta's stay.
	f := settingsForm()
	f.Set("display_name", "Alpha Renamed")
	if code, _, _ := alice.do("POST", "/admin/settings", f); code != 303 {
		t.Fatalf("rename: %d", code)
	}
	if _, body := s.get(t, "alpha.localhost", "/"); !strings.Contains(body, "Alpha Renamed") {
		t.Errorf("alpha's home page after the change shows the old settings")
	}
	if _, body := s.get(t, "beta.localhost", "/"); !strings.Contains(body, "Beta Display") {
		t.Errorf("beta's home page changed with alpha's settings")
	}
}

// Rate limits are per vendor and per client address: a flood at one
// vendor gets 429s (JSON with Retry-After on the API, a page otherwise)
// while the same address still gets answers from another vendor.
func TestRateLimitsPerVendor(t *testing.T) {
	t.Parallel()
	rd := startPrivateRedis(t)
	s := newShopEnvWith(t, func(c *config.Config) {
		c.RedisURL = rd.url()
		c.RateLimits = "search=5/1m,api=8/1m"
		// Requests come through a proxy on this machine, which names the client.
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	const client = "203.0.113.5"
	get := func(host, path string, headers ...string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
		req.Host = host
		req.Header.Set("X-Forwarded-For", "198.51.100.77, "+client) // the left one is the client's own claim
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	catalogFixture(t, s, "flooded")
	catalogFixture(t, s, "calm")
	for i := range 5 {
		if code, _, _ := get("flooded.localhost", "/search?q=widget"); code != 200 {
			t.Fatalf("search %d: %d", i, code)
		}
	}
	code, body, h := get("flooded.localhost", "/search?q=widget")
	if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(body, "Too many searches") || !strings.Contains(body, "<html") {
		t.Fatalf("search over the limit: %d Retry-After=%q %.300s", code, h.Get("Retry-After"), body)
	}
	if ra, _ := strconv.Atoi(h.Get("Retry-After")); ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", h.Get("Retry-After"))
	}
	// The same address at another vendor: its own budget.
	for i := range 5 {
		if code, _, _ := get("calm.localhost", "/search?q=widget"); code != 200 {
			t.Fatalf("calm vendor's search %d while the other is flooded: %d", i, code)
		}
	}
	// Pages outside the limited classes are not limited; another client
	// of the flooded vendor has its own budget.
	if code, _, _ := get("flooded.localhost", "/products"); code != 200 {
		t.Errorf("catalog of the flooded vendor: %d", code)
	}
	if code, _ := s.get(t, "flooded.localhost", "/search?q=widget", "X-Forwarded-For", "192.0.2.9"); code != 200 {
		t.Errorf("another client of the flooded vendor: %d", code)
	}
	// The API: JSON 429 once its own budget is spent.
	var last int
	var out map[string]any
	for range 9 {
		var body string
		last, body, _ = get("flooded.localhost", "/api/v1/shop/products", "Accept", "application/json")
		out = nil
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("API answer is not JSON: %d %.200s", last, body)
		}
	}
	errObj, _ := out["error"].(map[string]any)
	if last != 429 || errObj == nil || errObj["limit"] != "api" || errObj["retry_after_seconds"] == nil {
		t.Fatalf("API over the limit: %d %v", last, out)
	}
	if code, _, _ := get("calm.localhost", "/api/v1/shop/products"); code != 200 {
		t.Errorf("calm vendor's API while the other is flooded: %d", code)
	}
	// The buckets' keys carry the vendor and the address.
	keys := rd.client().Keys(context.Background(), "sf:"+s.e.Cfg.Prefix+":rl:*").Val()
	if len(keys) < 5 {
		t.Errorf("rate-limit keys: %v", keys)
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, ":"+client) && !strings.HasSuffix(k, ":192.0.2.9") {
			t.Errorf("rate-limit key without the client address: %s", k)
		}
	}
}
