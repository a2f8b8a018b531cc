package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/storage"
	"github.com/storefleet/storefleet/internal/testenv"
)

// closedPort returns an address on loopback where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// scrapeMetrics reads /metrics as a local scraper does.
func scrapeMetrics(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", res.StatusCode, b)
	}
	return string(b)
}

// The control plane's /metrics labels requests by route template, never
// by the raw path, and reports its pool, River's queues, the platform's
// figures and its dependencies.
func TestControlPlaneMetrics(t *testing.T) {
	t.Parallel()
	c := start(t)
	v := c.CreateVendor(t, "metered-shop", "Metered Shop")
	b := c.browser()
	b.mustLogin()
	wantStatus(t, "vendor page", b.get("/admin/vendors/"+v.Slug), http.StatusOK)
	wantStatus(t, "vendor page by id", b.get("/admin/vendors/id/"+strconv.FormatInt(v.ID, 10)), http.StatusSeeOther)
	api := c.api(c.newToken())
	wantStatus(t, "API vendor", api.do(http.MethodGet, "/api/v1/vendors/"+v.Slug, nil), http.StatusOK)
	wantStatus(t, "API unknown vendor", api.do(http.MethodGet, "/api/v1/vendors/no-such-shop", nil), http.StatusNotFound)
	wantStatus(t, "nothing here", b.get("/no/such/page/4242"), http.StatusNotFound)
	// A job waiting for tomorrow, inserted as the console would.
	inserter, err := river.NewClient(riverpgxv5.New(c.CP), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inserter.Insert(context.Background(), jobs.ReconcileArgs{}, &river.InsertOpts{ScheduledAt: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	body := scrapeMetrics(t, c.URL)
	for _, want := range []string{
		`storefleet_http_request_duration_seconds_count{code="2xx",method="GET",route="/admin/vendors/{slug}"} 1`,
		`storefleet_http_request_duration_seconds_count{code="3xx",method="GET",route="/admin/vendors/id/{id:[0-9]+}"} 1`,
		`storefleet_http_request_duration_seconds_count{code="2xx",method="GET",route="/api/v1/vendors/{slug}"} 1`,
		`storefleet_http_request_duration_seconds_count{code="4xx",method="GET",route="/api/v1/vendors/{slug}"} 1`,
		`storefleet_http_request_duration_seconds_count{code="4xx",method="GET",route="unmatched"}`,
		`storefleet_http_requests_in_flight 1`, // the scrape itself
		`storefleet_db_pool_max_connections{pool="controlplane"}`,
		`storefleet_jobs{queue="default",state="scheduled"} 1`,
		`storefleet_jobs{queue="default",state="discarded"} 0`,
		`storefleet_jobs_oldest_available_age_seconds{queue="default"} 0`,
		`storefleet_jobs_stats_up 1`,
		`storefleet_platform_stats_up 1`,
		`storefleet_vendors{state="active"} 1`,
		`storefleet_backup_missing_vendors 1`,
		`storefleet_platform_alerts_unresolved{severity="critical"} 0`,
		`storefleet_dependency_up{dependency="controlplane_db"} 1`,
		`storefleet_dependency_up{dependency="redis"} 1`,
		`storefleet_dependency_up{dependency="object_store"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, raw := range []string{v.Slug, "no-such-shop", "/no/such/page", `route="/admin/vendors/id/` + strconv.FormatInt(v.ID, 10)} {
		if strings.Contains(body, raw) {
			t.Errorf("a raw path made it into a label: %q", raw)
		}
	}
	if strings.Contains(body, "storefleet_vendor_requests_total") {
		t.Error("the control plane exports per-vendor request counters; it serves no vendor traffic")
	}
}

// /metrics answers loopback and holders of the token, and no one else: a
// request from another address, or one a local proxy forwarded, gets 404.
func TestMetricsAccessControl(t *testing.T) {
	t.Parallel()
	const token = "scrape-me-0123456789"
	c := startWith(t, func(e *testenv.Env, m *app.Main) {
		cfg := *e.Cfg
		cfg.MetricsToken = token
		m.Config = &cfg
	})
	h := c.Main.Handler()
	get := func(remote string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.RemoteAddr = remote
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	cases := []struct {
		name    string
		remote  string
		headers []string
		want    int
	}{
		{"loopback", "127.0.0.1:40000", nil, 200},
		{"remote without token", "203.0.113.9:40000", nil, 404},
		{"remote with a wrong token", "203.0.113.9:40000", []string{"Authorization", "Bearer not-it"}, 404},
		{"forwarded by a local proxy", "127.0.0.1:40000", []string{"X-Forwarded-For", "203.0.113.9"}, 404},
		{"remote with the token", "203.0.113.9:40000", []string{"Authorization", "Bearer " + token}, 200},
	}
	for _, tc := range cases {
		rec := get(tc.remote, tc.headers...)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
		}
		if tc.want == 200 && !strings.Contains(rec.Body.String(), "storefleet_http_requests_in_flight") {
			t.Errorf("%s: no request histogram in the answer", tc.name)
		}
		if tc.want == 404 && strings.Contains(rec.Body.String(), "storefleet_") {
			t.Errorf("%s: metrics leaked in a refusal", tc.name)
		}
	}
}

// The Monitoring page shows every part of the platform with a status,
// its latency and an explanation; parts that do not answer (a database
// server, the object store and the mailer on closed ports, in a copy of
// the configuration) show as down, and the rest stay healthy.
func TestMonitoringPage(t *testing.T) {
	t.Parallel()
	c := start(t)
	b := c.browser()
	b.mustLogin()
	p := b.get("/admin/monitoring")
	wantStatus(t, "monitoring", p, http.StatusOK)
	for _, group := range []string{"Database servers", "Redis", "Object store", "Mailer", "Job system"} {
		if !strings.Contains(p.Body, `data-component="`+group+`"`) {
			t.Errorf("the page lacks %s", group)
		}
	}
	for _, healthy := range []string{"Database servers", "Redis", "Object store", "Mailer"} {
		if !strings.Contains(p.Body, `data-component="`+healthy+`" data-status="ok"`) {
			t.Errorf("%s is not healthy on the page", healthy)
		}
	}
	for _, text := range []string{"connections in use", "Latency", "answers EHLO", "lists its", `href="/admin/monitoring"`, "Refresh"} {
		if !strings.Contains(p.Body, text) {
			t.Errorf("the page lacks %q", text)
		}
	}
	// No control plane runs jobs in this test: the job system says so.
	if !strings.Contains(p.Body, `data-component="Job system" data-status="warn"`) || !strings.Contains(p.Body, "No control plane is running jobs") {
		t.Error("the job system does not say that no control plane runs jobs")
	}
	if p := b.get("/admin/monitoring?refresh=30"); p.Status != 200 || !strings.Contains(p.Body, "x-init=\"setTimeout") {
		t.Errorf("auto-refresh: %d", p.Status)
	}

	// A copy of the platform whose mailer, object store and second
	// database server point at closed ports.
	smtpAddr, s3Addr, pgAddr := closedPort(t), closedPort(t), closedPort(t)
	d := startWith(t, func(e *testenv.Env, m *app.Main) {
		cfg := *e.Cfg
		cfg.SMTPURL = "smtp://" + smtpAddr
		m.Config = &cfg
		objects, err := storage.NewAdmin(storage.Config{Endpoint: s3Addr, AccessKey: "nobody", SecretKey: "nothing-at-all", Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		e.Objects = objects
	})
	host, port, _ := net.SplitHostPort(pgAddr)
	portN, _ := strconv.Atoi(port)
	if _, err := d.Store.UpsertServer(context.Background(), &platform.Server{Name: "gone", Host: host, Port: portN, AdminUser: "storefleet",
		AdminPasswordEnc: d.Box.Seal([]byte("whatever"), platform.ServerPasswordContext("gone")), MaintenanceDB: "postgres"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Store.SetServerState(context.Background(), "gone", "draining"); err != nil {
		t.Fatal(err)
	}
	db := d.browser()
	db.mustLogin()
	p = db.get("/admin/monitoring")
	wantStatus(t, "monitoring with parts down", p, http.StatusOK)
	for _, group := range []string{"Object store", "Mailer"} {
		if !strings.Contains(p.Body, `data-component="`+group+`" data-status="down"`) {
			t.Errorf("%s is not shown as down", group)
		}
	}
	if n := strings.Count(p.Body, `data-component="Database servers" data-status="down"`); n != 1 {
		t.Errorf("%d database servers down, want the one on the closed port", n)
	}
	if !strings.Contains(p.Body, `data-component="Database servers" data-status="ok"`) || !strings.Contains(p.Body, `data-component="Redis" data-status="ok"`) {
		t.Error("the parts that answer are not healthy any more")
	}
	for _, text := range []string{"gone (" + pgAddr + ")", smtpAddr, "connection refused", "e-mails wait in the outbox", "MinIO does not answer"} {
		if !strings.Contains(p.Body, text) {
			t.Errorf("the page lacks %q", text)
		}
	}
	if !strings.Contains(scrapeMetrics(t, d.URL), `storefleet_dependency_up{dependency="object_store"} 0`) {
		t.Error("/metrics does not report the object store down")
	}
}

var jobRow = regexp.MustCompile(`<tr id="job-(\d+)"`)

// A job that fails shows on the Jobs page and in the API with its error;
// Retry runs it again and Discard gives up on it, both audited; a support
// admin can look but do neither.
func TestJobsPage(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	r, err := jobs.Start(ctx, c.Main.Platform, slog.New(slog.DiscardHandler), jobs.Options{NoSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = r.Stop(sctx)
	}()
	v := c.CreateVendor(t, "failing-work", "Failing Work")
	// Work of a kind the marketplace does not know fails in the worker:
	// with one attempt, the job is discarded at once.
	res, err := r.Client().Insert(ctx, jobs.VendorWorkArgs{VendorID: v.ID, Work: "no-such-work"}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Job.ID
	state := func() string {
		var s string
		err := c.CP.QueryRow(ctx, `SELECT COALESCE((SELECT state::text FROM river_job WHERE id = $1), 'deleted')`, id).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitState := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for state() != want {
			if time.Now().After(deadline) {
				t.Fatalf("job %d is %s, want %s", id, state(), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitState("discarded")

	b := c.browser()
	b.mustLogin()
	p := b.get("/admin/jobs")
	wantStatus(t, "jobs page", p, http.StatusOK)
	for _, text := range []string{fmt.Sprintf(`<tr id="job-%d"`, id), "vendor_work", "unknown", `data-queue="vendor_work"`,
		fmt.Sprintf(`action="/admin/jobs/%d/retry"`, id), fmt.Sprintf(`action="/admin/jobs/%d/discard"`, id), "Periodic jobs"} {
		if !strings.Contains(p.Body, text) {
			t.Errorf("the jobs page lacks %q", text)
		}
	}
	if m := jobRow.FindAllStringSubmatch(p.Body, -1); len(m) == 0 {
		t.Error("no job rows")
	}

	// A support admin sees the page without the buttons, and is refused.
	sam := c.addAdmin("sam@example.com", "support password 123")
	if _, err := c.Store.Pool().Exec(ctx, `UPDATE admins SET role = $2 WHERE id = $1`, sam.ID, platform.RoleSupport); err != nil {
		t.Fatal(err)
	}
	s := c.browser()
	if p := s.login("sam@example.com", "support password 123"); p.Status != http.StatusSeeOther {
		t.Fatalf("support sign-in: %d", p.Status)
	}
	sp := s.get("/admin/jobs")
	wantStatus(t, "jobs page for support", sp, http.StatusOK)
	if strings.Contains(sp.Body, fmt.Sprintf(`action="/admin/jobs/%d/retry"`, id)) {
		t.Error("a support admin is offered Retry")
	}
	wantStatus(t, "support retries", s.submit("/admin/jobs", fmt.Sprintf("/admin/jobs/%d/retry", id), nil), http.StatusForbidden)
	supportToken, _, err := c.Store.CreateAPIToken(ctx, platform.Actor{Kind: "system", Name: "test"}, sam.ID, "support")
	if err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, "support retries through the API", c.api(supportToken).do(http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/retry", id), nil), http.StatusForbidden, "")
	if state() != "discarded" || len(c.audit("job.retry")) != 0 {
		t.Fatal("a support admin's retry changed something")
	}

	// Retry: the job runs again (one more attempt), fails again.
	p = b.submit("/admin/jobs", fmt.Sprintf("/admin/jobs/%d/retry", id), url.Values{"next": {"/admin/jobs?queue=vendor_work"}})
	wantStatus(t, "retry", p, http.StatusSeeOther)
	if p.Location != "/admin/jobs?queue=vendor_work" {
		t.Errorf("retry went to %q", p.Location)
	}
	if rows := c.audit("job.retry"); len(rows) != 1 || rows[0].TargetID != strconv.FormatInt(id, 10) {
		t.Fatalf("job.retry audit rows: %+v", rows)
	}
	if p := b.get("/admin/jobs?queue=vendor_work"); !strings.Contains(p.Body, "will run again") {
		t.Error("no flash after retry")
	}
	var attempts int
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := c.CP.QueryRow(ctx, `SELECT attempt FROM river_job WHERE id = $1`, id).Scan(&attempts); err != nil {
			t.Fatal(err)
		}
		if attempts == 2 && state() == "discarded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retried job did not run again: attempt %d, %s", attempts, state())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The API lists it with its last error, and retrying a completed or
	// unknown job is refused.
	api := c.api(c.newToken())
	list := decode[struct {
		Queues []struct {
			Name string           `json:"name"`
			Jobs map[string]int64 `json:"jobs"`
		} `json:"queues"`
		Jobs []struct {
			ID        int64  `json:"id"`
			State     string `json:"state"`
			LastError string `json:"last_error"`
			Errors    int    `json:"errors"`
		} `json:"jobs"`
	}](t, api.do(http.MethodGet, "/api/v1/jobs?state=failed&queue=vendor_work", nil))
	if len(list.Jobs) != 1 || list.Jobs[0].ID != id || list.Jobs[0].State != "discarded" || !strings.Contains(list.Jobs[0].LastError, "unknown") || list.Jobs[0].Errors != 2 {
		t.Errorf("API jobs: %+v", list.Jobs)
	}
	found := false
	for _, q := range list.Queues {
		found = found || q.Name == "vendor_work" && q.Jobs["discarded"] == 1
	}
	if !found {
		t.Errorf("API queues: %+v", list.Queues)
	}
	wantAPIError(t, "bad state", api.do(http.MethodGet, "/api/v1/jobs?state=sideways", nil), http.StatusUnprocessableEntity, "state")
	wantAPIError(t, "unknown job", api.do(http.MethodPost, "/api/v1/jobs/987654321/retry", nil), http.StatusNotFound, "")

	// Discard through the API: a failed job is deleted.
	p = api.do(http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/discard", id), nil)
	wantStatus(t, "API discard", p, http.StatusOK)
	if got := decode[struct {
		Job struct{ State string } `json:"job"`
	}](t, p); got.Job.State != "deleted" || state() != "deleted" {
		t.Errorf("after discard: answer %q, table %q", got.Job.State, state())
	}
	if rows := c.audit("job.discard"); len(rows) != 1 || rows[0].TargetID != strconv.FormatInt(id, 10) {
		t.Fatalf("job.discard audit rows: %+v", rows)
	}

	// Discard in the console: a scheduled job is cancelled and never runs.
	later, err := r.Client().Insert(ctx, jobs.VendorWorkArgs{VendorID: v.ID, Work: "no-such-work"}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	id = later.Job.ID
	if p := b.get("/admin/jobs"); !strings.Contains(p.Body, fmt.Sprintf(`<tr id="job-%d"`, id)) {
		t.Error("the scheduled job is not listed")
	}
	wantStatus(t, "discard", b.submit("/admin/jobs", fmt.Sprintf("/admin/jobs/%d/discard", id), nil), http.StatusSeeOther)
	if state() != "cancelled" || len(c.audit("job.discard")) != 2 {
		t.Errorf("discarded scheduled job is %s", state())
	}
	// A cancelled job cannot be discarded twice into anything but deleted,
	// and one that completed cannot be retried.
	if _, err := c.CP.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, "retry a completed job", api.do(http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/retry", id), nil), http.StatusConflict, "")
	p = b.submit("/admin/jobs", fmt.Sprintf("/admin/jobs/%d/discard", id), nil)
	wantStatus(t, "discard a completed job", p, http.StatusSeeOther)
	if p := b.get("/admin/jobs"); !strings.Contains(p.Body, "nothing to discard") {
		t.Error("no error flash for discarding a completed job")
	}
}
