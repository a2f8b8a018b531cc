package app_test

// Fault injection in the control plane (docs/faults.md): Toxiproxy, run
// in this process (internal/testenv/faults), sits between the control
// plane and the SMTP server, MinIO or its own database. Jobs that need a
// service that is down fail, keep their work, and finish once it is back;
// the console answers, more slowly, over a slow database.

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/mail/mailtest"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/storage"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/internal/testenv/faults"
	"github.com/storefleet/storefleet/internal/wiring"
)

// faultJobs starts the job system over p (a platform whose SMTP server or
// object store is reached through a proxy) and stops it when the test
// ends.
func faultJobs(t *testing.T, c *cp, p *wiring.Platform) {
	t.Helper()
	ctx := context.Background()
	if err := jobs.Migrate(ctx, c.CP); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.Start(ctx, p, testLogger(t), jobs.Options{NoSchedules: true, Marketplace: marketplace.Config{AllowPrivateURLs: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = r.Stop(sctx)
	})
}

// pollFor waits up to d for cond.
func pollFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func requestWork(t *testing.T, c *cp, vendorID int64, kind string) {
	t.Helper()
	if _, err := c.CP.Exec(context.Background(), `SELECT request_vendor_work($1, $2)`, vendorID, kind); err != nil {
		t.Fatal(err)
	}
}

// mailFaultCase is a vendor with one shipping notice in its outbox and a
// job system whose SMTP server is behind px.
type mailFaultCase struct {
	px   *faults.Proxy
	v    *platform.Vendor
	pool *pgxpool.Pool
	id   int64
	to   string
}

// mailFault puts the test services' SMTP server behind a proxy (with
// query added to STOREFLEET_SMTP_URL), starts the job system on it, and
// makes a vendor (slug, name) with a shipping notice of order orderID
// queued to a fresh address of local part user.
func mailFault(t *testing.T, c *cp, query url.Values, slug, name, user, orderID string) mailFaultCase {
	t.Helper()
	u, err := url.Parse(c.Cfg.SMTPURL)
	if err != nil {
		t.Fatal(err)
	}
	px := faults.Start(t).Proxy(t, "smtp", u.Host)
	cfg := *c.Cfg
	u.Host = px.Addr
	q := u.Query()
	for k, vs := range query {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	cfg.SMTPURL = u.String()
	p := envPlatform(c.Env)
	p.Cfg = &cfg
	faultJobs(t, c, p)

	v := c.CreateVendor(t, slug, name)
	pool := c.VendorPool(t, v)
	to := mailtest.UniqueAddress(user, slug+".example")
	var id int64
	if err := pool.QueryRow(context.Background(), `INSERT INTO notifications (kind, to_email, data) VALUES ('shipping_notice', $1, jsonb_build_object('order_id', $2::text)) RETURNING id`,
		to, orderID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return mailFaultCase{px: px, v: v, pool: pool, id: id, to: to}
}

// The SMTP server is down while a vendor's outbox is sent: the message
// is not lost nor given up, it waits for its next attempt with the error
// noted; once the server is back, that attempt delivers it, and the
// vendor's request for mail work is closed.
func TestFaultMailWithSMTPDown(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	mf := mailFault(t, c, nil, "mailfault", "Mail Fault Shop", "fault", "7")
	px, v, pool, id, to := mf.px, mf.v, mf.pool, mf.id, mf.to
	type row struct {
		state, lastError string
		attempts         int
		wait             time.Duration
	}
	read := func() row {
		var r row
		var secs float64
		if err := pool.QueryRow(ctx, `SELECT state, coalesce(last_error, ''), attempts, extract(epoch FROM next_attempt_at - now())
			FROM notifications WHERE id = $1`, id).Scan(&r.state, &r.lastError, &r.attempts, &secs); err != nil {
			t.Fatal(err)
		}
		r.wait = time.Duration(secs * float64(time.Second))
		return r
	}
	px.Down()
	start := time.Now()
	requestWork(t, c, v.ID, "mail")
	pollFor(t, 15*time.Second, "the failed attempt", func() bool { r := read(); return r.attempts == 1 && r.state == "pending" })
	r := read()
	t.Logf("SMTP down: attempt 1 failed after %v: %q, next attempt in %v", time.Since(start).Round(time.Millisecond), r.lastError, r.wait.Round(time.Second))
	if r.lastError == "" || r.wait < 30*time.Second {
		t.Errorf("after a failed attempt: %+v, want the error and the next attempt in about a minute", r)
	}
	var open int
	if err := c.CP.QueryRow(ctx, `SELECT count(*) FROM vendor_work WHERE vendor_id = $1 AND kind = 'mail'`, v.ID).Scan(&open); err != nil || open != 1 {
		t.Errorf("the vendor's mail request: %d open (%v), want it kept while a message waits", open, err)
	}

	px.Up()
	// The next attempt is due a minute later (notify.Backoff); the test
	// brings it forward instead of waiting, and asks for the work again
	// (the job that failed sleeps until the attempt's original time).
	if _, err := pool.Exec(ctx, `UPDATE notifications SET next_attempt_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	requestWork(t, c, v.ID, "mail")
	msg := mailtest.New(t, c.Vars["STOREFLEET_MAILPIT_URL"]).Wait(t, to, "Your order 7 from Mail Fault Shop is on its way")
	t.Logf("SMTP back: delivered %v after the attempt was due", time.Since(start).Round(time.Millisecond))
	if msg.From.Name != "Mail Fault Shop" {
		t.Errorf("from %+v", msg.From)
	}
	pollFor(t, 10*time.Second, "the message marked sent", func() bool { r := read(); return r.state == "sent" && r.attempts == 2 })
	pollFor(t, 10*time.Second, "the mail request closed", func() bool {
		var n int
		_ = c.CP.QueryRow(ctx, `SELECT count(*) FROM vendor_work WHERE vendor_id = $1 AND kind = 'mail'`, v.ID).Scan(&n)
		return n == 0
	})
}

// The SMTP server hangs (accepts the connection, never answers) while a
// vendor's outbox is sent: the mailer's bound on one e-mail's dialogue
// (timeout= in STOREFLEET_SMTP_URL, 1 s here, 20 s by default) ends the
// attempt, the message waits for its next attempt with the error noted,
// and that attempt delivers it once the server answers again.
func TestFaultMailWithSMTPHanging(t *testing.T) {
	t.Parallel()
	c := start(t)
	const bound = time.Second
	ctx := context.Background()
	mf := mailFault(t, c, url.Values{"timeout": {bound.String()}}, "mailhang", "Mail Hang Shop", "hang", "8")
	px, v, pool, id, to := mf.px, mf.v, mf.pool, mf.id, mf.to
	read := func() (state, lastError string, attempts int) {
		if err := pool.QueryRow(ctx, `SELECT state, coalesce(last_error, ''), attempts FROM notifications WHERE id = $1`, id).
			Scan(&state, &lastError, &attempts); err != nil {
			t.Fatal(err)
		}
		return
	}
	px.Blackhole()
	start := time.Now()
	requestWork(t, c, v.ID, "mail")
	pollFor(t, 10*time.Second, "the failed attempt", func() bool { s, _, n := read(); return n == 1 && s == "pending" })
	took := time.Since(start)
	_, lastError, _ := read()
	t.Logf("SMTP hanging: attempt 1 failed after %v: %q", took.Round(time.Millisecond), lastError)
	if took < bound || took > bound+3*time.Second {
		t.Errorf("the attempt ended after %v, want the SMTP bound (%v) and little more", took, bound)
	}
	if !strings.Contains(lastError, "timeout") || !strings.Contains(lastError, "did not end within 1s") {
		t.Errorf("the error noted: %q, want a timeout that names the bound", lastError)
	}

	px.Restore()
	if _, err := pool.Exec(ctx, `UPDATE notifications SET next_attempt_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	requestWork(t, c, v.ID, "mail")
	mailtest.New(t, c.Vars["STOREFLEET_MAILPIT_URL"]).Wait(t, to, "Your order 8 from Mail Hang Shop is on its way")
	t.Logf("SMTP answering again: delivered %v after the attempt was due", time.Since(start).Round(time.Millisecond))
	pollFor(t, 10*time.Second, "the message marked sent", func() bool { s, _, n := read(); return s == "sent" && n == 2 })
}

// MinIO is down while the job system fetches a vendor's marketplace
// images: the fetch downloads the image but cannot store it, so it waits
// for its next attempt (not failed for good) with the error noted; once
// MinIO is back, that attempt stores the image and its sizes and links it
// to the product.
func TestFaultMarketplaceImagesWithObjectStoreDown(t *testing.T) {
	t.Parallel()
	c := start(t)
	px := faults.Start(t).Proxy(t, "minio", c.Cfg.S3Endpoint)
	objects, err := storage.NewAdmin(storage.Config{Endpoint: px.Addr, AccessKey: c.Cfg.S3AccessKey, SecretKey: c.Cfg.S3SecretKey,
		Secure: c.Cfg.S3Secure, Region: c.Cfg.S3Region})
	if err != nil {
		t.Fatal(err)
	}
	p := envPlatform(c.Env)
	p.Objects = objects
	faultJobs(t, c, p)

	ctx := context.Background()
	pic := faultPNG(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(pic) }))
	t.Cleanup(srv.Close)
	v := c.CreateVendor(t, "imagefault", "Image Fault Shop")
	pool := c.VendorPool(t, v)
	var product int64
	if err := pool.QueryRow(ctx, `INSERT INTO products (sku, title, handle, price_minor) VALUES ('P', 'P', 'p', 100) RETURNING id`).Scan(&product); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO image_fetches (product_id, url) VALUES ($1, $2)`, product, srv.URL+"/photo.png"); err != nil {
		t.Fatal(err)
	}
	fetch := func() marketplace.ImageFetch {
		fs, err := marketplace.ImageFetches(ctx, pool, product)
		if err != nil || len(fs) != 1 {
			t.Fatalf("image fetches: %v %v", fs, err)
		}
		return fs[0]
	}
	px.Down()
	start := time.Now()
	requestWork(t, c, v.ID, "images")
	pollFor(t, 20*time.Second, "the failed attempt", func() bool { f := fetch(); return f.Attempts == 1 && f.State == "pending" })
	f := fetch()
	t.Logf("MinIO down: attempt 1 failed after %v: %q, next attempt in %v", time.Since(start).Round(time.Millisecond), f.LastError,
		time.Until(f.RunAfter).Round(time.Second))
	if f.LastError == "" || time.Until(f.RunAfter) < 30*time.Second {
		t.Errorf("after a failed attempt: %+v, want the error and the next attempt in about a minute", f)
	}

	px.Up()
	// The next attempt is due a minute later; the test brings it forward.
	if _, err := pool.Exec(ctx, `UPDATE image_fetches SET run_after = now()`); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	requestWork(t, c, v.ID, "images")
	pollFor(t, 20*time.Second, "the image stored", func() bool { return fetch().State == marketplace.FetchDone })
	t.Logf("MinIO back: image stored %v after the attempt was due", time.Since(start).Round(time.Millisecond))
	var linked int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM product_media WHERE product_id = $1`, product).Scan(&linked); err != nil || linked != 1 {
		t.Errorf("%d images linked, %v", linked, err)
	}
	if f := fetch(); f.Attempts != 2 {
		t.Errorf("the fetch took %d attempts, want 2", f.Attempts)
	}
}

// The control plane's own database answers 50 ms late each way (100 ms a
// round trip): the console's pages still answer, signing in included,
// in a time bounded by the round trips each makes.
func TestFaultControlPlaneDatabaseLatency(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	u, err := url.Parse(e.Cfg.ControlPlaneURL)
	if err != nil {
		t.Fatal(err)
	}
	px := faults.Start(t).Proxy(t, "controlplane-db", u.Host)
	u.Host = px.Addr
	cfg := *e.Cfg
	cfg.ControlPlaneURL = u.String()
	// The program opens its own platform (wiring.Open) on the proxied URL.
	m := &app.Main{Config: &cfg, Logger: testLogger(t)}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open control plane: %v", err)
	}
	t.Cleanup(m.Close)
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	c := &cp{Env: e, t: t, URL: srv.URL, Main: m}
	c.Admin = c.addAdmin(adminEmail, adminPassword)
	v := c.CreateVendor(t, "slowcp", "Slow CP Shop")
	pages := []string{"/admin/", "/admin/vendors", "/admin/vendors/" + v.Slug, "/admin/backups", "/admin/audit", "/admin/tokens"}
	b := c.browser()
	b.mustLogin()
	for _, p := range pages { // warm: connections open, statements prepared
		wantStatus(t, p+" before the fault", b.get(p), http.StatusOK)
	}

	const rtt = 100 * time.Millisecond
	px.Latency(rtt/2, 0)
	// Latency acts on open connections too; a page is bounded by the
	// statements it makes, and nothing waits on a timeout.
	const most = 40 * rtt
	start := time.Now()
	b2 := c.browser()
	b2.mustLogin()
	took := time.Since(start)
	t.Logf("%-28s %5d ms", "sign in (form and post)", took.Milliseconds())
	if took > most {
		t.Errorf("signing in took %v with %v a round trip", took, rtt)
	}
	for _, p := range pages {
		start := time.Now()
		pg := b2.get(p)
		took := time.Since(start)
		t.Logf("%-28s %d in %5d ms (%.1f round trips)", p, pg.Status, took.Milliseconds(), float64(took)/float64(rtt))
		if pg.Status != http.StatusOK {
			t.Errorf("%s with a slow database: %d %.300s", p, pg.Status, pg.Body)
		}
		if took < rtt || took > most {
			t.Errorf("%s took %v with %v a round trip", p, took, rtt)
		}
	}
	px.Restore()
	start = time.Now()
	pg := b2.get("/admin/vendors")
	t.Logf("after the fault: /admin/vendors %d in %v", pg.Status, time.Since(start).Round(time.Millisecond))
	wantStatus(t, "vendors after the fault", pg, http.StatusOK)
	if !strings.Contains(pg.Body, v.Name) {
		t.Error("the vendor list lacks the vendor")
	}
}

// The control plane's own database hangs (accepts, never answers, on open
// and new connections): every request ends at its deadline
// (STOREFLEET_REQUEST_TIMEOUT, 1 s here; the audit CSV export
// STOREFLEET_LONG_REQUEST_TIMEOUT, 3 s here) with 503 and Retry-After,
// console pages and admin API alike, instead of waiting for as long as
// the client does; once the database answers again, so do they.
func TestFaultControlPlaneDatabaseHanging(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	u, err := url.Parse(e.Cfg.ControlPlaneURL)
	if err != nil {
		t.Fatal(err)
	}
	px := faults.Start(t).Proxy(t, "controlplane-db", u.Host)
	u.Host = px.Addr
	const bound, long = time.Second, 3 * time.Second
	cfg := *e.Cfg
	cfg.ControlPlaneURL = u.String()
	cfg.RequestTimeout, cfg.LongRequestTimeout = bound, long
	m := &app.Main{Config: &cfg, Logger: testLogger(t)}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open control plane: %v", err)
	}
	t.Cleanup(m.Close)
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	c := &cp{Env: e, t: t, URL: srv.URL, Main: m}
	c.Admin = c.addAdmin(adminEmail, adminPassword)
	token := c.newToken()
	b := c.browser()
	b.mustLogin()

	// A client that gives up well after the bounds, so that a request the
	// control plane does not end fails the test rather than hang it.
	client := &http.Client{Jar: b.c.Jar, Timeout: long + 5*time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type answer struct {
		status           int
		retryAfter, body string
		took             time.Duration
		err              error
	}
	get := func(path string) answer {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if strings.HasPrefix(path, "/api/") {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return answer{took: time.Since(start), err: err}
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		return answer{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), body: string(body), took: time.Since(start)}
	}
	paths := []struct {
		path  string
		bound time.Duration
	}{{"/admin/", bound}, {"/admin/vendors", bound}, {"/api/v1/vendors", bound}, {"/api/v1/alerts", bound}, {"/admin/audit.csv", long}}
	for _, p := range paths { // warm: connections open, statements prepared
		if a := get(p.path); a.err != nil || a.status != http.StatusOK {
			t.Fatalf("%s before the fault: %d %v", p.path, a.status, a.err)
		}
	}

	px.Blackhole()
	answers := make([]answer, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() { answers[i] = get(p.path) })
	}
	wg.Wait()
	for i, p := range paths {
		a := answers[i]
		t.Logf("%-18s %d Retry-After %q in %5d ms (bound %v)", p.path, a.status, a.retryAfter, a.took.Milliseconds(), p.bound)
		if a.err != nil {
			t.Errorf("%s with a hanging database: %v", p.path, a.err)
			continue
		}
		// The database's 503 (Retry-After: 5), not the session store's
		// (10), which a failed save of the console session after the
		// deadline would put in its place.
		if a.status != http.StatusServiceUnavailable || a.retryAfter != "5" || strings.Contains(a.body, "session store") ||
			!strings.Contains(a.body, "cannot reach one of its services") && !strings.HasSuffix(p.path, ".csv") {
			t.Errorf("%s with a hanging database: %d, Retry-After %q; want 503 with Retry-After 5\n%.400s", p.path, a.status, a.retryAfter, a.body)
		}
		if a.took < p.bound || a.took > p.bound+time.Second {
			t.Errorf("%s with a hanging database answered in %v, want its bound %v and little more", p.path, a.took, p.bound)
		}
	}

	px.Restore()
	start := time.Now()
	for _, p := range paths {
		a := get(p.path)
		if a.err != nil || a.status != http.StatusOK {
			t.Errorf("%s after the fault: %d %v", p.path, a.status, a.err)
		}
	}
	t.Logf("after the fault: every page and API call answered 200 within %v", time.Since(start).Round(time.Millisecond))
}

// faultPNG is a small PNG, as a marketplace image link serves it.
func faultPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 600, 300))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
