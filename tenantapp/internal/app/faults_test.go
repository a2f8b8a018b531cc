package app_test

// Fault injection (issue 9): Toxiproxy, run in this process
// (internal/testenv/faults), sits between the tenant app and one vendor's
// PostgreSQL, Redis, MinIO or the control-plane database, and adds
// latency, takes the service down or cuts connections in the middle of a
// transaction. docs/faults.md has what each fault does and the numbers.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/internal/testenv/faults"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
	"github.com/storefleet/storefleet/tenantapp/internal/pools"
)

// faultShop is newShopEnvWith whose app logs warnings and errors to the
// test's log, so that a failure shows what the app saw.
func faultShop(t *testing.T, edit func(cfg *config.Config)) *shopEnv {
	t.Helper()
	e := testenv.New(t)
	cfg := *e.Cfg
	if edit != nil {
		edit(&cfg)
	}
	a, err := app.New(context.Background(), &cfg, logging.New(tWriter{t}, "text", "warn"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewUnstartedServer(a.Handler())
	// The server's own complaints (a handler that answers twice) fail
	// the test.
	srv.Config.ErrorLog = log.New(serverLog{t}, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return &shopEnv{e: e, a: a, srv: srv}
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// serverLog is an http.Server's error log that fails the test on a
// response written twice ("superfluous response.WriteHeader call").
type serverLog struct{ t *testing.T }

func (w serverLog) Write(p []byte) (int, error) {
	if line := strings.TrimSpace(string(p)); strings.Contains(line, "superfluous") {
		w.t.Errorf("http server: %s", line)
	} else {
		w.t.Log("http server: " + line)
	}
	return len(p), nil
}

// hostPort is the host:port of a postgres:// URL.
func hostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// throughProxy routes a vendor's database connections through px: it
// records a database server whose address is the proxy (in front of the
// server that really holds the database) and moves the vendor's current
// database record onto it. The routing cache hears of it by NOTIFY and the
// pool manager replaces the vendor's pool. Other vendors are untouched.
func throughProxy(t *testing.T, s *shopEnv, v *platform.Vendor, px *faults.Proxy) {
	t.Helper()
	ctx := context.Background()
	u, err := url.Parse(s.e.Vars["STOREFLEET_DB_SERVER_URL"])
	if err != nil {
		t.Fatal(err)
	}
	if px.Upstream() != u.Host {
		t.Fatalf("proxy %s is not in front of the vendor's server %s", px.Upstream(), u.Host)
	}
	u.Host = px.Addr
	srv, err := s.e.Prov.AddServer(ctx, platform.Actor{Kind: "system", Name: "test"}, "faulty-"+v.Slug, u.String())
	if err != nil {
		t.Fatalf("record the proxied server: %v", err)
	}
	// New vendors go to the least loaded server: keep them off this one.
	cpExec(t, s, `UPDATE db_servers SET state = 'draining' WHERE id = $1`, srv.ID)
	cpExec(t, s, `UPDATE vendor_databases SET server_id = $1 WHERE vendor_id = $2 AND status = 'current'`, srv.ID, v.ID)
	var port int
	if err := s.e.CP.QueryRow(ctx, `SELECT db_port FROM routing_entries WHERE vendor_id = $1 LIMIT 1`, v.ID).Scan(&port); err != nil || port != px.Port {
		t.Fatalf("routing entry of %s: port %d (%v), want the proxy's %d", v.Slug, port, err, px.Port)
	}
}

// timedGet is get with the time it took.
func (s *shopEnv) timedGet(t *testing.T, host, path string) (int, string, http.Header, time.Duration) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	start := time.Now()
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v after %v", host, path, err, time.Since(start))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	return resp.StatusCode, string(body), resp.Header, time.Since(start)
}

var browsePages = []string{"/", "/products", "/products/widget-02", "/search?q=widget", "/api/v1/shop/products"}

// With 100 ms added each way on one vendor's database (200 ms a round
// trip) its pages still answer, in a time that grows with the round
// trips a page makes and not beyond; another vendor is not slowed.
func TestFaultVendorDatabaseLatency(t *testing.T) {
	t.Parallel()
	s := faultShop(t, nil)
	slow, _, _ := catalogFixture(t, s, "slowdb")
	fast, _, _ := catalogFixture(t, s, "fastdb")
	px := faults.Start(t).Proxy(t, "vendor-db", hostPort(t, s.e.Vars["STOREFLEET_DB_SERVER_URL"]))
	throughProxy(t, s, slow, px)
	for _, v := range []*platform.Vendor{slow, fast} { // warm: routes, pools, caches
		for _, p := range browsePages {
			if code, body, _, _ := s.timedGet(t, v.Slug+".localhost", p); code != 200 {
				t.Fatalf("%s%s before the fault: %d %.300s", v.Slug, p, code, body)
			}
		}
	}
	const rtt = 200 * time.Millisecond
	px.Latency(rtt/2, 0)
	for _, p := range browsePages {
		code, body, _, took := s.timedGet(t, "slowdb.localhost", p)
		if code != 200 {
			t.Fatalf("slow %s: %d %.300s", p, code, body)
		}
		// At least one round trip (the proxy works), at most 15: pages make
		// a handful of statements, and nothing waits on a timeout.
		if took < rtt || took > 15*rtt {
			t.Errorf("slow %s took %v with %v a round trip", p, took, rtt)
		}
		code, _, _, fastTook := s.timedGet(t, "fastdb.localhost", p)
		if code != 200 || fastTook > rtt {
			t.Errorf("the other vendor's %s: %d in %v, slowed by a vendor it does not share a database with", p, code, fastTook)
		}
		t.Logf("%-24s slow vendor %4d ms, other vendor %3d ms", p, took.Milliseconds(), fastTook.Milliseconds())
	}
}

// One vendor's database goes down (its port refuses, open connections are
// closed): its storefront, API and back office answer 503 with
// Retry-After at once, with a page or JSON that says so; other vendors
// keep serving; when the database is back, the vendor serves again without
// a restart.
func TestFaultVendorDatabaseDown(t *testing.T) {
	t.Parallel()
	s := faultShop(t, nil)
	down, _, _ := catalogFixture(t, s, "downdb")
	catalogFixture(t, s, "updb")
	px := faults.Start(t).Proxy(t, "vendor-db", hostPort(t, s.e.Vars["STOREFLEET_DB_SERVER_URL"]))
	throughProxy(t, s, down, px)
	for _, p := range browsePages {
		if code, body, _, _ := s.timedGet(t, "downdb.localhost", p); code != 200 {
			t.Fatalf("%s before the fault: %d %.300s", p, code, body)
		}
	}
	staffer := &browser{t: t, s: s, host: "downdb.localhost"}
	acceptOwnerInvite(t, s, down, staffer, "correct horse battery")
	if code := staffer.login(down.OwnerEmail, "correct horse battery"); code != 303 {
		t.Fatalf("owner signs in: %d", code)
	}
	px.Down()
	// The back office: a signed-in page, and signing in.
	for _, try := range []func() (int, string, http.Header){
		func() (int, string, http.Header) { return staffer.do("GET", "/admin/products", nil) },
		func() (int, string, http.Header) {
			other := &browser{t: t, s: s, host: "downdb.localhost"}
			other.do("GET", "/admin/login", nil)
			return other.do("POST", "/admin/login", url.Values{"email": {down.OwnerEmail}, "password": {"correct horse battery"}})
		},
	} {
		start := time.Now()
		code, body, h := try()
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "cannot be reached") {
			t.Errorf("back office with the database down: %d, Retry-After %q: %.500s", code, h.Get("Retry-After"), body)
		}
		t.Logf("back office: %d in %v", code, time.Since(start).Round(time.Millisecond))
	}
	for _, p := range append(browsePages, "/api/v1/shop/search?q=widget") {
		code, body, h, took := s.timedGet(t, "downdb.localhost", p)
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Errorf("%s with the database down: %d, Retry-After %q: %.300s", p, code, h.Get("Retry-After"), body)
		}
		if !strings.Contains(body, "cannot be reached") {
			t.Errorf("%s with the database down says: %.500s", p, body)
		}
		if strings.Contains(p, "/api/") != strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("%s answered %s", p, h.Get("Content-Type"))
		}
		if took > 2*time.Second {
			t.Errorf("%s with the database down took %v", p, took)
		}
		t.Logf("%-30s %d in %3d ms, Retry-After %s", p, code, took.Milliseconds(), h.Get("Retry-After"))
		if code, _, _, _ := s.timedGet(t, "updb.localhost", p); code != 200 {
			t.Errorf("another vendor's %s while one database is down: %d", p, code)
		}
	}
	px.Up()
	servesAgain(t, s, staffer, "downdb.localhost", 5*time.Second)
}

// servesAgain waits (up to within) for a vendor's database to be
// reachable again after a fault, then checks that its storefront pages
// and its back office answer.
func servesAgain(t *testing.T, s *shopEnv, staffer *browser, host string, within time.Duration) {
	t.Helper()
	start := time.Now()
	pollUntil(t, within, "the vendor after its database answers again", func() bool {
		code, _, _, _ := s.timedGet(t, host, "/")
		return code == 200
	})
	t.Logf("serving again %v after the database answers again", time.Since(start).Round(time.Millisecond))
	for _, p := range browsePages {
		if code, body, _, _ := s.timedGet(t, host, p); code != 200 {
			t.Errorf("%s after the database came back: %d %.300s", p, code, body)
		}
	}
	if code, body, _ := staffer.do("GET", "/admin/products", nil); code != 200 {
		t.Errorf("back office after the database came back: %d %.300s", code, body)
	}
}

// One vendor's database hangs: connections are accepted, nothing is ever
// answered (a black hole), on the connections the pool has open as on new
// ones. Every request of that vendor ends at the request bound
// (STOREFLEET_REQUEST_TIMEOUT, 1 s here) with a 503 and Retry-After
// instead of waiting as long as the client; a CSV export, a long request,
// gets the long bound (STOREFLEET_LONG_REQUEST_TIMEOUT, 3 s here). Other
// vendors are not slowed. When the database answers again the vendor
// serves again.
func TestFaultVendorDatabaseHanging(t *testing.T) {
	t.Parallel()
	const bound, longBound, connect = time.Second, 3 * time.Second, 2 * time.Second
	s := faultShop(t, func(c *config.Config) {
		c.RequestTimeout, c.LongRequestTimeout, c.PoolConnectTimeout = bound, longBound, connect
	})
	hung, _, _ := catalogFixture(t, s, "hungdb")
	catalogFixture(t, s, "livedb")
	px := faults.Start(t).Proxy(t, "vendor-db", hostPort(t, s.e.Vars["STOREFLEET_DB_SERVER_URL"]))
	throughProxy(t, s, hung, px)
	for _, p := range browsePages {
		if code, body, _, _ := s.timedGet(t, "hungdb.localhost", p); code != 200 {
			t.Fatalf("%s before the fault: %d %.300s", p, code, body)
		}
	}
	staffer := &browser{t: t, s: s, host: "hungdb.localhost"}
	acceptOwnerInvite(t, s, hung, staffer, "correct horse battery")
	if code := staffer.login(hung.OwnerEmail, "correct horse battery"); code != 303 {
		t.Fatalf("owner signs in: %d", code)
	}
	if code, _, _ := staffer.do("GET", "/admin/products", nil); code != 200 {
		t.Fatalf("back office before the fault: %d", code)
	}
	px.Blackhole()

	check := func(what string, code int, body string, h http.Header, took, lo, hi time.Duration) {
		t.Helper()
		t.Logf("%-34s %d in %4d ms, Retry-After %s", what, code, took.Milliseconds(), h.Get("Retry-After"))
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "cannot be reached") {
			t.Errorf("%s with the database hanging: %d, Retry-After %q: %.500s", what, code, h.Get("Retry-After"), body)
		}
		if took < lo || took > hi {
			t.Errorf("%s with the database hanging took %v, want %v to %v", what, took, lo, hi)
		}
	}
	// An export streams for as long as the catalog takes: the long bound
	// (or the connect timeout, if it has to dial), not the short one; and
	// running out of it does not count against the database (it is
	// patient: pools.Patient).
	start := time.Now()
	code, body, h := staffer.do("GET", "/admin/products/export.csv", nil)
	check("back office /admin/products/export.csv", code, body, h, time.Since(start), bound+500*time.Millisecond, longBound+time.Second)

	// The first page waits its whole bound; from then on the vendor's
	// requests are refused at once for the breaker's cooldown
	// (pools/breaker.go), with a Retry-After; other vendors serve.
	code, body, h, took := s.timedGet(t, "hungdb.localhost", "/")
	check("/ (the first)", code, body, h, took, bound-50*time.Millisecond, bound+time.Second)
	trips := func() int64 {
		t.Helper()
		res, err := http.Get(s.srv.URL + "/metrics/pools")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var st struct {
			BreakerTrips int64 `json:"breaker_trips"`
		}
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st.BreakerTrips
	}
	if n := trips(); n != 1 {
		t.Errorf("breaker trips after the first timeout (the export's does not count): %d, want 1", n)
	}
	fast := func(what string, code int, body string, h http.Header, took time.Duration) {
		t.Helper()
		check(what, code, body, h, took, 0, 250*time.Millisecond)
		if n, err := strconv.Atoi(h.Get("Retry-After")); err != nil || n < 1 || n > int(pools.DefaultCooldown/time.Second) {
			t.Errorf("%s: Retry-After %q, want 1 to %d", what, h.Get("Retry-After"), int(pools.DefaultCooldown/time.Second))
		}
	}
	for _, p := range append(browsePages, "/api/v1/shop/search?q=widget") {
		code, body, h, took := s.timedGet(t, "hungdb.localhost", p)
		fast(p, code, body, h, took)
		code, _, _, otherTook := s.timedGet(t, "livedb.localhost", p)
		if code != 200 || otherTook > 500*time.Millisecond {
			t.Errorf("another vendor's %s while one database hangs: %d in %v", p, code, otherTook)
		}
	}
	start = time.Now()
	code, body, h = staffer.do("GET", "/admin/products", nil)
	fast("back office /admin/products", code, body, h, time.Since(start))

	// After the cooldown one request tries the database again (and waits
	// its bound, as it still hangs); the others are still refused at once.
	time.Sleep(pools.DefaultCooldown + 100*time.Millisecond)
	type answer struct {
		code int
		took time.Duration
	}
	answers := make(chan answer, 4)
	for range 4 {
		go func() {
			code, _, _, took := s.timedGet(t, "hungdb.localhost", "/products")
			answers <- answer{code, took}
		}()
	}
	slow := 0
	for range 4 {
		a := <-answers
		if a.code != http.StatusServiceUnavailable {
			t.Errorf("a request after the cooldown, the database still hanging: %d", a.code)
		}
		if a.took > bound-50*time.Millisecond {
			slow++
		}
	}
	if slow != 1 {
		t.Errorf("%d of 4 requests after the cooldown tried the hanging database, want 1", slow)
	}

	px.Restore()
	servesAgain(t, s, staffer, "hungdb.localhost", pools.DefaultCooldown+5*time.Second)
}

// The connection to the vendor's database is cut in the middle of
// checkout's transaction. Twice:
//
//   - after the order, its lines and the stock reservation have reached
//     the server, before COMMIT: the transaction dies with its connection,
//     nothing of the order is left (no order, no line, no reservation, no
//     movement), the shopper gets a 503 with Retry-After, and sending the
//     same form again (the same checkout key) makes exactly one order;
//   - as COMMIT goes out: the server commits, the app never hears so and
//     answers 503; the same form sent again finds that order (one order,
//     stock reserved once) instead of making a second.
func TestFaultCheckoutConnectionCut(t *testing.T) {
	t.Parallel()
	s := faultShop(t, nil)
	v := s.e.CreateVendor(t, "cutshop", "Cut Shop")
	pool, ids := shopReady(t, s, v, 5, 5)
	px := faults.Start(t).Proxy(t, "vendor-db", hostPort(t, s.e.Vars["STOREFLEET_DB_SERVER_URL"]))
	throughProxy(t, s, v, px)

	invariants := func(when string) {
		t.Helper()
		for sql, want := range map[string]int{
			`SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)`: 0,
			`SELECT count(*) FROM order_lines l WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = l.order_id)`: 0,
			// every reserved unit is held by a pending order's line
			`SELECT count(*) FROM products p WHERE stock_reserved <> coalesce((SELECT sum(l.quantity) FROM order_lines l
				JOIN orders o ON o.id = l.order_id WHERE l.product_id = p.id AND o.status = 'pending'), 0)`: 0,
			`SELECT count(*) FROM inventory_movements m WHERE kind = 'reservation' AND NOT EXISTS
				(SELECT 1 FROM orders o WHERE 'order ' || o.id = m.reference)`: 0,
			`SELECT count(*) FROM products WHERE stock_reserved > stock_on_hand OR stock_reserved < 0`: 0,
		} {
			if n := count(t, pool, sql); n != want {
				t.Errorf("%s: %s = %d, want %d", when, sql, n, want)
			}
		}
	}
	checkout := func(name, match string, committed bool) {
		b := newShopper(t, s, v)
		if code, _, _ := b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[0])}, "quantity": {"2"}}); code != 303 {
			t.Fatalf("%s: add to cart: %d", name, code)
		}
		b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(ids[1])}, "quantity": {"1"}})
		form := b.checkoutForm()
		ordersBefore := count(t, pool, `SELECT count(*) FROM orders`)
		reservedBefore := stockOf(t, pool, ids[0]).reserved

		// Statements pgx has prepared on a connection are not sent as text
		// again: start from fresh connections so the one that places the
		// order sends the statement the cut waits for. The pool pings a
		// connection idle for over a second before handing it out, and
		// drops the ones Reset closed.
		px.Reset()
		time.Sleep(1100 * time.Millisecond)
		cut := px.CutOnMatch(match, true)
		start := time.Now()
		code, body, h := b.post("/checkout", form)
		took := time.Since(start)
		if cut.Count() != 1 {
			t.Fatalf("%s: %d connections cut, want 1 (checkout answered %d)", name, cut.Count(), code)
		}
		px.Restore()
		t.Logf("%s: checkout answered %d in %v, Retry-After %q", name, code, took.Round(time.Millisecond), h.Get("Retry-After"))
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "try again") {
			t.Errorf("%s: checkout with its connection cut: %d, Retry-After %q: %.500s", name, code, h.Get("Retry-After"), body)
		}
		if took > 5*time.Second {
			t.Errorf("%s: checkout with its connection cut took %v", name, took)
		}
		if committed {
			if n := count(t, pool, `SELECT count(*) FROM orders WHERE checkout_key = $1`, form.Get("checkout_key")); n != 1 {
				t.Fatalf("%s: %d orders of the checkout after a cut COMMIT, want the committed one", name, n)
			}
		} else {
			if n := count(t, pool, `SELECT count(*) FROM orders`); n != ordersBefore {
				t.Errorf("%s: %d orders after a cut transaction, %d before", name, n, ordersBefore)
			}
			if st := stockOf(t, pool, ids[0]); st.reserved != reservedBefore {
				t.Errorf("%s: stock %+v after a cut transaction, %d reserved before", name, st, reservedBefore)
			}
		}
		invariants(name + ", after the cut")

		// The shopper sends the form again: one order, reserved once.
		code, _, h = b.post("/checkout", form)
		if code != 303 || orderLocation.FindStringSubmatch(h.Get("Location")) == nil {
			t.Fatalf("%s: the same checkout again: %d %v", name, code, h)
		}
		if n := count(t, pool, `SELECT count(*) FROM orders WHERE checkout_key = $1`, form.Get("checkout_key")); n != 1 {
			t.Errorf("%s: %d orders of one checkout key", name, n)
		}
		if n := count(t, pool, `SELECT count(*) FROM orders`); n != ordersBefore+1 {
			t.Errorf("%s: %d orders, want %d", name, n, ordersBefore+1)
		}
		if st := stockOf(t, pool, ids[0]); st.reserved != reservedBefore+2 || st.onHand != 5 {
			t.Errorf("%s: stock %+v after the retry, want 2 more reserved than %d", name, st, reservedBefore)
		}
		if code2, _, h2 := b.post("/checkout", form); code2 != 303 || h2.Get("Location") != h.Get("Location") {
			t.Errorf("%s: a third send: %d %v, want the same order %v", name, code2, h2, h)
		}
		invariants(name + ", after the retry")
	}
	// The reservation's movement is the last statement of the order's
	// own rows: the order, its lines and the reserved stock are on the
	// server when the connection dies.
	checkout("cut before COMMIT", "INSERT INTO inventory_movements", false)
	checkout("cut at COMMIT", "commit", true)
}

// Redis refuses connections, then hangs (accepts, never answers), then
// comes back. Browsing (home, catalog, product, search, the shop API)
// answers 200 all along and quickly: the cache and rate limits are
// optional. The cart, which lives in the session in Redis, says clearly
// that it cannot be used (503, Retry-After) without hanging; once Redis is
// back, carts work again.
func TestFaultRedisDownAndHanging(t *testing.T) {
	t.Parallel()
	tp := faults.Start(t)
	rd := startPrivateRedis(t) // a Redis of this test's own: its keys and sessions
	px := tp.Proxy(t, "redis", fmt.Sprintf("127.0.0.1:%d", rd.port))
	s := faultShop(t, func(c *config.Config) { c.RedisURL = "redis://" + px.Addr + "/0" })
	v, pool, _ := catalogFixture(t, s, "redisfault")
	var productID int64
	if err := pool.QueryRow(context.Background(), `SELECT id FROM products WHERE handle = 'widget-02'`).Scan(&productID); err != nil {
		t.Fatal(err)
	}
	addToCart := func(b *shopper) (int, string, http.Header, time.Duration) {
		start := time.Now()
		code, body, h := b.post("/cart/lines", url.Values{"product_id": {fmt.Sprint(productID)}, "quantity": {"1"}})
		return code, body, h, time.Since(start)
	}
	browse := func(phase string, bound time.Duration) {
		t.Helper()
		for _, p := range browsePages {
			code, body, _, took := s.timedGet(t, "redisfault.localhost", p)
			if code != 200 {
				t.Errorf("%s: %s: %d %.300s", phase, p, code, body)
			}
			if took > bound {
				t.Errorf("%s: %s took %v, more than %v", phase, p, took, bound)
			}
			t.Logf("%s: %-24s %d in %3d ms", phase, p, code, took.Milliseconds())
		}
	}
	b := newShopper(t, s, v)
	if code, _, _, _ := addToCart(b); code != 303 {
		t.Fatalf("add to cart with Redis up: %d", code)
	}
	browse("redis up", time.Second)

	for _, fault := range []struct {
		name   string
		inject func()
		bound  time.Duration // one page; a hanging Redis costs a page 250 ms at most (redisguard)
	}{
		{"redis down", px.Down, time.Second},
		{"redis hanging", func() { px.Blackhole() }, 2 * time.Second},
	} {
		fault.inject()
		browse(fault.name, fault.bound)
		code, body, h, took := addToCart(newShopper(t, s, v))
		t.Logf("%s: add to cart: %d in %v, Retry-After %q", fault.name, code, took.Round(time.Millisecond), h.Get("Retry-After"))
		if code != http.StatusServiceUnavailable || !strings.Contains(strings.ToLower(body), "cart") {
			t.Errorf("%s: add to cart: %d %.500s", fault.name, code, body)
		}
		// One page: not the error page with the redirect's body after it.
		if n := strings.Count(body, "</html>"); n != 1 || h.Get("Location") != "" {
			t.Errorf("%s: add to cart answered %d pages, Location %q: %.2000s", fault.name, n, h.Get("Location"), body)
		}
		if took > 3*time.Second {
			t.Errorf("%s: add to cart took %v", fault.name, took)
		}
		if code, _, _ := b.get("/cart"); code != http.StatusServiceUnavailable {
			t.Errorf("%s: the cart page of a shopper with a cart: %d", fault.name, code)
		}
		px.Restore()
		start := time.Now()
		pollUntil(t, 10*time.Second, "carts after Redis is back", func() bool {
			code, _, _, _ := addToCart(b)
			return code == 303
		})
		t.Logf("%s: carts work again %v after Redis is back", fault.name, time.Since(start).Round(time.Millisecond))
		if code, body, _ := b.get("/cart"); code != 200 || !strings.Contains(body, "Widget 02") {
			t.Errorf("%s: the cart after Redis is back: %d %.300s", fault.name, code, body)
		}
	}
}

// The control-plane database (the routing cache's source) goes down
// under the tenant app. The cache is flushed when its LISTEN connection
// drops (notifications would be missed) and keeps entries for 1 s only
// until it is back, so a known host is served for at most about a second
// more; then every shop answers 503 with Retry-After at once (no hang),
// /readyz says not ready, and an unknown host is not mistaken for a 404.
// When the database is back, shops serve again without a restart.
func TestFaultControlPlaneDatabaseDown(t *testing.T) {
	t.Parallel()
	tp := faults.Start(t)
	var px *faults.Proxy
	s := faultShop(t, func(c *config.Config) {
		px = tp.Proxy(t, "controlplane-db", hostPort(t, c.RouterURL))
		u, _ := url.Parse(c.RouterURL)
		u.Host = px.Addr
		c.RouterURL = u.String()
	})
	catalogFixture(t, s, "cpfault")
	if code, _, _, _ := s.timedGet(t, "cpfault.localhost", "/"); code != 200 {
		t.Fatalf("before the fault: %d", code)
	}
	px.Down()
	start := time.Now()
	pollUntil(t, 5*time.Second, "a 503 with the control plane down", func() bool {
		code, _, _, _ := s.timedGet(t, "cpfault.localhost", "/")
		return code == http.StatusServiceUnavailable
	})
	t.Logf("known host served for %v after the control plane went down", time.Since(start).Round(time.Millisecond))
	for _, host := range []string{"cpfault.localhost", "nobody.localhost"} {
		code, body, h, took := s.timedGet(t, host, "/products")
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(body, "cannot be reached") {
			t.Errorf("%s with the control plane down: %d, Retry-After %q: %.300s", host, code, h.Get("Retry-After"), body)
		}
		if took > 2*time.Second {
			t.Errorf("%s with the control plane down took %v", host, took)
		}
		t.Logf("%s with the control plane down: %d in %v", host, code, took.Round(time.Millisecond))
	}
	if code, body, _, _ := s.timedGet(t, "x", "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the control plane down: %d %s", code, body)
	}
	px.Up()
	start = time.Now()
	pollUntil(t, 15*time.Second, "shops after the control plane is back", func() bool {
		code, _, _, _ := s.timedGet(t, "cpfault.localhost", "/")
		return code == 200
	})
	t.Logf("serving again %v after the control plane came back", time.Since(start).Round(time.Millisecond))
	if code, _, _, _ := s.timedGet(t, "nobody.localhost", "/"); code != 404 {
		t.Errorf("unknown host after the control plane is back: %d", code)
	}
}

// MinIO goes down under the tenant app. An image request answers 503
// within a bound, pages still render, an upload says nothing was saved;
// a thumbnail job that runs meanwhile fails, is retried (5 s after its
// first attempt) and finishes once MinIO is back.
func TestFaultObjectStoreDown(t *testing.T) {
	t.Parallel()
	tp := faults.Start(t)
	var px *faults.Proxy
	s := faultShop(t, func(c *config.Config) {
		px = tp.Proxy(t, "minio", c.S3Endpoint)
		c.S3Endpoint = px.Addr
	})
	v, alice := signedInOwner(t, s, "minioshop", "Minio Shop")
	pool := s.e.VendorPool(t, v) // one pool: the vendor's role has a connection limit
	code, _, h := uploadImage(alice, "cat.gif", gifBytes(t))
	if code != 303 {
		t.Fatalf("upload: %d", code)
	}
	id := h.Get("Location")[strings.LastIndex(h.Get("Location"), "/")+1:]
	pollUntil(t, 30*time.Second, "thumbnails", func() bool {
		return count(t, pool, `SELECT count(*) FROM media WHERE id = $1 AND thumbs_state = 'ready'`, id) == 1
	})
	px.Down()
	start := time.Now()
	code, _, hdr := fetch(t, s, "minioshop.localhost", "/media/"+id+"/200")
	took := time.Since(start)
	t.Logf("image with MinIO down: %d in %v, Retry-After %q", code, took.Round(time.Millisecond), hdr.Get("Retry-After"))
	if code != http.StatusServiceUnavailable || took > 15*time.Second {
		t.Errorf("image with MinIO down: %d in %v", code, took)
	}
	if code, body, _, took := s.timedGet(t, "minioshop.localhost", "/"); code != 200 || took > 2*time.Second {
		t.Errorf("home page with MinIO down: %d in %v %.300s", code, took, body)
	}
	start = time.Now()
	code, body, _ := uploadImage(alice, "dog.gif", gifBytes(t))
	t.Logf("upload with MinIO down: %d in %v", code, time.Since(start).Round(time.Millisecond))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "nothing was saved") {
		t.Errorf("upload with MinIO down: %d %.500s", code, body)
	}

	// A job that needs MinIO, left behind as by a process that died
	// (TestMediaJobsLeftBehindAreTakenUp), taken up by a new process
	// while MinIO is down.
	ctx := context.Background()
	for _, q := range []string{`DELETE FROM media_variants`, `UPDATE media SET thumbs_state = 'pending'`,
		`INSERT INTO media_jobs (kind, media_id, state, attempts, locked_until) VALUES ('thumbnails', ` + id + `, 'running', 0, now() - interval '1 minute')`} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	cfg := *s.e.Cfg
	cfg.S3Endpoint = px.Addr
	a2, err := app.New(ctx, &cfg, logging.New(tWriter{t}, "text", "warn"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a2.Close)
	srv2 := httptest.NewServer(a2.Handler())
	t.Cleanup(srv2.Close)
	s2 := &shopEnv{e: s.e, a: a2, srv: srv2}
	if code, _, _, _ := s2.timedGet(t, "minioshop.localhost", "/"); code != 200 {
		t.Fatalf("home page from the new process: %d", code)
	}
	pollUntil(t, 20*time.Second, "the job's failed attempt", func() bool {
		return count(t, pool, `SELECT count(*) FROM media_jobs WHERE state = 'pending' AND attempts = 1 AND last_error <> ''`) == 1
	})
	px.Up()
	start = time.Now()
	pollUntil(t, 30*time.Second, "the job after MinIO is back", func() bool {
		return count(t, pool, `SELECT count(*) FROM media WHERE id = $1 AND thumbs_state = 'ready'`, id) == 1
	})
	t.Logf("thumbnail job done %v after MinIO came back", time.Since(start).Round(time.Millisecond))
	if n := count(t, pool, `SELECT count(*) FROM media_jobs`); n != 0 {
		t.Errorf("%d jobs left", n)
	}
	if code, _, _ := fetch(t, s, "minioshop.localhost", "/media/"+id+"/200"); code != 200 {
		t.Errorf("image after MinIO is back: %d", code)
	}
}
