package app_test

import (
	"context"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/rollout"
	"github.com/storefleet/storefleet/internal/testenv"
)

// priceCap is a migration that fails on a vendor holding a product over
// the cap; it sleeps first, so a resumed run stays running long enough to
// be seen running.
const priceCap = `-- +goose Up
SELECT pg_sleep(1);
ALTER TABLE products ADD CONSTRAINT products_price_cap CHECK (price_minor <= 1000000);
-- +goose Down
ALTER TABLE products DROP CONSTRAINT products_price_cap;
`

// priceCapVersion is priceCap's version.
const priceCapVersion = 100

// withPriceCap is the tenant migration set plus priceCap.
func withPriceCap(t *testing.T) migrate.Set {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(migrate.Tenant.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrate.Tenant.FS, path)
		m[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m[fmt.Sprintf("%05d_price_cap.sql", priceCapVersion)] = &fstest.MapFile{Data: []byte(priceCap)}
	return migrate.Tenant.WithFS("tenant+controlplane-test-price-cap", m)
}

// rolloutFixture is a control plane whose console and API use a migration
// set with priceCap, after a real migrate-all run in which one vendor
// (pricey) failed.
type rolloutFixture struct {
	*cp
	set     migrate.Set
	vendors []*platform.Vendor
	pricey  *platform.Vendor
	pool    *pgxpool.Pool // pricey's database
	runID   int64
}

func startRollout(t *testing.T) *rolloutFixture {
	t.Helper()
	ctx := context.Background()
	set := withPriceCap(t)
	c := startWith(t, func(e *testenv.Env, m *app.Main) {
		e.UseOwnTemplate(t, migrate.Tenant, migrate.Tenant.Head())
		m.MigrationSet = set
	})
	f := &rolloutFixture{cp: c, set: set}
	for i := range 3 {
		f.vendors = append(f.vendors, c.CreateVendor(t, fmt.Sprintf("shop-%02d", i), fmt.Sprintf("Shop %d", i)))
	}
	f.pricey = f.vendors[1]
	f.pool = c.VendorPool(t, f.pricey)
	if _, err := f.pool.Exec(ctx, `INSERT INTO products (sku, title, price_minor) VALUES ('GOLD', 'Gold bar', 5000000)`); err != nil {
		t.Fatal(err)
	}
	runner := &rollout.Runner{Store: c.Store, Prov: c.Prov}
	sum, err := runner.Run(ctx, platform.Actor{Kind: "cli", Name: "tester"}, rollout.Options{Set: set, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Migrated != 2 || sum.Failed != 1 || sum.Failures[0].Vendor != f.pricey.Slug {
		t.Fatalf("the first run: %+v", sum)
	}
	f.runID = sum.RunID
	return f
}

// fixData lets priceCap pass on pricey.
func (f *rolloutFixture) fixData() {
	f.t.Helper()
	if _, err := f.pool.Exec(context.Background(), `UPDATE products SET price_minor = 99000 WHERE sku = 'GOLD'`); err != nil {
		f.t.Fatal(err)
	}
}

// runState reads a run's state as the control plane recorded it.
func (f *rolloutFixture) runState(id int64) string {
	f.t.Helper()
	var state string
	if err := f.CP.QueryRow(context.Background(), `SELECT state FROM migration_runs WHERE id = $1`, id).Scan(&state); err != nil {
		f.t.Fatal(err)
	}
	return state
}

// waitForState polls poll (which returns a run's state) until it is not
// running, for up to 10 s, and returns the last state.
func waitForState(t *testing.T, poll func() string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		state := poll()
		if state != "running" || time.Now().After(deadline) {
			return state
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// progress is the console's progress JSON.
type progress struct {
	ID      int64          `json:"id"`
	State   string         `json:"state"`
	Done    int            `json:"done"`
	Total   int            `json:"total"`
	Percent int            `json:"percent"`
	Counts  map[string]int `json:"counts"`
}

func TestConsoleMigrations(t *testing.T) {
	t.Parallel()
	f := startRollout(t)
	b := f.browser()
	b.mustLogin()
	runPath := fmt.Sprintf("/admin/migrations/%d", f.runID)
	pricey := f.pricey.Slug

	// The migrations page: status and the run.
	p := b.get("/admin/migrations")
	wantStatus(t, "migrations page", p, http.StatusOK)
	wantContains(t, "migrations page", html.UnescapeString(p.Body),
		`<a href="/admin/migrations" class="active" aria-current="page">Migrations</a>`,
		"v100", "Newest tenant version", // the head of the injected set
		`<span class="badge warn">behind</span>`, `<span class="badge ok">newest</span>`,
		"Failed vendors", `href="/admin/vendors/`+pricey+`"`, "products_price_cap",
		`href="`+runPath+`"`, `<span class="badge bad">failed</span>`, "cli:tester", "resume…")
	if strings.Contains(p.Body, "is running:") {
		t.Error("the migrations page says a run is running")
	}

	// The run page: the failed vendor first, with its error, and the
	// resume button in a CSRF-protected form.
	p = b.get(runPath)
	wantStatus(t, "run page", p, http.StatusOK)
	body := html.UnescapeString(p.Body)
	wantContains(t, "run page", body, "Run #1", "1 failed, 0 not attempted", `<span x-text="done">3</span> of <span x-text="total">3</span> vendors done`,
		`<span class="badge bad">failed</span>`, "products_price_cap", fmt.Sprintf("v%d → v%d", tenantHead, tenantHead), fmt.Sprintf("v%d → v100", tenantHead),
		`action="`+runPath+`/resume"`, `name="csrf_token"`, "Resume run #1", "confirm(")
	first := strings.Index(body, `href="/admin/vendors/`+pricey+`"`)
	for _, v := range f.vendors {
		if i := strings.Index(body, `href="/admin/vendors/`+v.Slug+`"`); v != f.pricey && (i < 0 || i < first) {
			t.Errorf("run page: %s listed before the failed vendor (or missing)", v.Slug)
		}
	}
	if strings.Contains(body, "x-data=\"{url:") {
		t.Error("a finished run polls for progress")
	}
	wantStatus(t, "unknown run", b.get("/admin/migrations/999"), http.StatusNotFound)

	// The vendor pages: the schema card and the history.
	p = b.get("/admin/vendors/" + pricey)
	wantStatus(t, "failed vendor page", p, http.StatusOK)
	wantContains(t, "failed vendor page", html.UnescapeString(p.Body), `<h2 id="schema">Schema</h2>`,
		fmt.Sprintf("v%d</span> <span class=\"muted\">of</span> <span class=\"mono\">v100", tenantHead), `<span class="badge warn">behind</span>`,
		"products_price_cap", `<a href="`+runPath+`">#1</a>`, `<span class="badge bad">failed</span>`)
	p = b.get("/admin/vendors/" + f.vendors[0].Slug)
	wantContains(t, "migrated vendor page", html.UnescapeString(p.Body), `<span class="badge ok">up to date</span>`,
		"no error", `<span class="badge ok">migrated</span>`, fmt.Sprintf("v%d → v100", tenantHead))

	// Resuming needs the form token.
	wantStatus(t, "resume without a token", b.post(runPath+"/resume", url.Values{}), http.StatusForbidden)
	wantStatus(t, "resume with a wrong token", b.post(runPath+"/resume", url.Values{"csrf_token": {"nope"}}), http.StatusForbidden)
	if s := f.runState(f.runID); s != "failed" || len(f.audit("migration.resume_requested")) != 0 {
		t.Fatalf("after forged resumes the run is %s", s)
	}

	// Fix the data and resume through the console.
	f.fixData()
	p = b.submit(runPath, runPath+"/resume", nil)
	wantStatus(t, "resume", p, http.StatusSeeOther)
	if p.Location != runPath {
		t.Fatalf("resume redirects to %q", p.Location)
	}
	p = b.get(runPath)
	wantContains(t, "resumed run page", html.UnescapeString(p.Body), "Run 1 is resuming",
		`<span class="badge info">running</span>`, `data-url="`+runPath+`/progress"`, `x-data="{url:`,
		`<a class="btn" href="`+runPath+`">Refresh</a>`, "<progress")
	if strings.Contains(p.Body, "Resume run #1") {
		t.Error("a running run offers to resume it")
	}
	wantContains(t, "migrations page while running", b.get("/admin/migrations").Body, "is running:")

	// A second resume while it runs is refused with a message.
	wantStatus(t, "resume twice", b.submit(runPath, runPath+"/resume", nil), http.StatusSeeOther)
	wantContains(t, "after resuming twice", b.get(runPath).Body, "Run 1 is already running")

	// The progress JSON follows it to the end.
	var last progress
	state := waitForState(t, func() string {
		p := b.get(runPath + "/progress")
		wantStatus(t, "progress", p, http.StatusOK)
		last = decode[progress](t, p)
		return last.State
	})
	if state != "finished" || last.Done != 3 || last.Total != 3 || last.Percent != 100 || last.Counts["migrated"] != 3 {
		t.Fatalf("after the resume: %+v", last)
	}

	p = b.get(runPath)
	body = html.UnescapeString(p.Body)
	wantContains(t, "finished run page", body, `<span class="badge ok">finished</span>`, `<span x-text="done">3</span> of <span x-text="total">3</span> vendors done`)
	if strings.Contains(body, "Resume run #1") || strings.Contains(body, "products_price_cap") {
		t.Error("the finished run still offers a resume or shows the old error")
	}
	p = b.get("/admin/vendors/" + pricey)
	wantContains(t, "vendor page after the resume", html.UnescapeString(p.Body), `<span class="badge ok">up to date</span>`,
		"no error", `<span class="badge ok">migrated</span>`)
	p = b.get("/admin/migrations")
	if strings.Contains(p.Body, "Failed vendors") || strings.Contains(p.Body, `<span class="badge warn">behind</span>`) {
		t.Error("the migrations page still shows failed or behind vendors")
	}

	rows := f.audit("migration.resume_requested")
	if len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail || rows[0].TargetType != "migration_run" || rows[0].TargetID != "1" {
		t.Errorf("migration.resume_requested audit rows = %+v", rows)
	}

	// A finished run cannot be resumed.
	wantStatus(t, "resume a finished run", b.submit(runPath, runPath+"/resume", nil), http.StatusSeeOther)
	wantContains(t, "after resuming a finished run", b.get(runPath).Body, "Run 1 cannot be resumed: it finished")
}

type apiRun struct {
	ID        int64          `json:"id"`
	Kind      string         `json:"kind"`
	Target    int64          `json:"target"`
	State     string         `json:"state"`
	Actor     string         `json:"actor"`
	Error     string         `json:"error"`
	Counts    map[string]int `json:"counts"`
	Total     int            `json:"total"`
	Done      int            `json:"done"`
	Resumable bool           `json:"resumable"`
}

type apiResult struct {
	Vendor        string `json:"vendor"`
	Status        string `json:"status"`
	VersionBefore *int64 `json:"version_before"`
	VersionAfter  *int64 `json:"version_after"`
	Error         string `json:"error"`
}

type apiRunWithResults struct {
	Run     apiRun      `json:"run"`
	Results []apiResult `json:"results"`
}

func TestAPIMigrations(t *testing.T) {
	t.Parallel()
	f := startRollout(t)
	api := f.api(f.newToken())
	runPath := fmt.Sprintf("/api/v1/migrations/runs/%d", f.runID)

	wantAPIError(t, "no token", f.api("").do(http.MethodGet, "/api/v1/migrations", nil), http.StatusUnauthorized, "")
	p := api.do(http.MethodGet, "/api/v1/migrations", nil)
	wantStatus(t, "migrations", p, http.StatusOK)
	overview := decode[struct {
		Status struct {
			Head     int64 `json:"head"`
			Behind   int   `json:"behind"`
			Unknown  int   `json:"unknown"`
			Versions []struct {
				Version int64 `json:"version"`
				Vendors int   `json:"vendors"`
			} `json:"versions"`
			Failed    []rollout.Failure  `json:"failed"`
			Templates []rollout.Template `json:"templates"`
		} `json:"status"`
		Runs []apiRun `json:"runs"`
	}](t, p)
	st := overview.Status
	if st.Head != priceCapVersion || st.Behind != 1 || st.Unknown != 0 || len(st.Failed) != 1 || st.Failed[0].Vendor != f.pricey.Slug ||
		!strings.Contains(st.Failed[0].Error, "products_price_cap") || len(st.Templates) != 1 || st.Templates[0].Version != priceCapVersion {
		t.Errorf("status = %+v", st)
	}
	if len(overview.Runs) != 1 {
		t.Fatalf("runs = %+v", overview.Runs)
	}
	r := overview.Runs[0]
	if r.ID != f.runID || r.Kind != "all" || r.State != "failed" || r.Actor != "cli:tester" || !r.Resumable ||
		r.Total != 3 || r.Done != 3 || r.Counts["migrated"] != 2 || r.Counts["failed"] != 1 {
		t.Errorf("run = %+v", r)
	}
	wantAPIError(t, "bad limit", api.do(http.MethodGet, "/api/v1/migrations?limit=0", nil), http.StatusUnprocessableEntity, "limit")

	p = api.do(http.MethodGet, runPath, nil)
	wantStatus(t, "run", p, http.StatusOK)
	run := decode[apiRunWithResults](t, p)
	if run.Run.ID != r.ID || run.Run.State != r.State || run.Run.Done != r.Done || !run.Run.Resumable {
		t.Errorf("run %+v differs from the list's %+v", run.Run, r)
	}
	if len(run.Results) != 3 || run.Results[0].Vendor != f.pricey.Slug || run.Results[0].Status != "failed" ||
		!strings.Contains(run.Results[0].Error, "products_price_cap") || *run.Results[0].VersionAfter != migrate.Tenant.Head() ||
		run.Results[1].Status != "migrated" || *run.Results[1].VersionAfter != priceCapVersion {
		t.Errorf("results = %+v", run.Results)
	}
	wantAPIError(t, "unknown run", api.do(http.MethodGet, "/api/v1/migrations/runs/999", nil), http.StatusNotFound, "")
	wantAPIError(t, "resume an unknown run", api.do(http.MethodPost, "/api/v1/migrations/runs/999/resume", nil), http.StatusNotFound, "")

	f.fixData()
	p = api.do(http.MethodPost, runPath+"/resume", nil)
	wantStatus(t, "resume", p, http.StatusAccepted)
	if p.Location != runPath {
		t.Errorf("resume: Location %q", p.Location)
	}
	if got := decode[struct{ Run apiRun }](t, p).Run; got.ID != f.runID || got.State != "running" || got.Resumable {
		t.Errorf("resume answered %+v", got)
	}
	e := wantAPIError(t, "resume while running", api.do(http.MethodPost, runPath+"/resume", nil), http.StatusConflict, "")
	if !strings.Contains(e.Error.Message, "another migrate-all is running (run 1") {
		t.Errorf("resume while running: %q", e.Error.Message)
	}

	var last apiRunWithResults
	state := waitForState(t, func() string {
		last = decode[apiRunWithResults](t, api.do(http.MethodGet, runPath, nil))
		return last.Run.State
	})
	if state != "finished" || last.Run.Counts["migrated"] != 3 || last.Run.Resumable || last.Results[0].Error != "" {
		t.Fatalf("after the resume: %+v", last)
	}
	var ver int64
	if err := f.pool.QueryRow(context.Background(), `SELECT max(version_id) FROM goose_db_version`).Scan(&ver); err != nil || ver != priceCapVersion {
		t.Errorf("pricey's database at version %d (%v)", ver, err)
	}
	e = wantAPIError(t, "resume a finished run", api.do(http.MethodPost, runPath+"/resume", nil), http.StatusConflict, "")
	if !strings.Contains(e.Error.Message, "cannot be resumed") {
		t.Errorf("resume a finished run: %q", e.Error.Message)
	}
	if rows := f.audit("migration.resume_requested"); len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail {
		t.Errorf("migration.resume_requested audit rows = %+v", rows)
	}
}

// TestShutdownStopsResumedRollout checks that closing the control plane
// cancels a rollout it resumed and waits until the run has recorded how
// far it got, so it can be resumed again; and that nothing new starts.
func TestShutdownStopsResumedRollout(t *testing.T) {
	t.Parallel()
	f := startRollout(t)
	api := f.api(f.newToken())
	runPath := fmt.Sprintf("/api/v1/migrations/runs/%d", f.runID)
	f.fixData()
	wantStatus(t, "resume", api.do(http.MethodPost, runPath+"/resume", nil), http.StatusAccepted)

	// Wait until the vendor is being migrated (its migration sleeps for a
	// second), then stop the program.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var status string
		if err := f.CP.QueryRow(context.Background(), `SELECT status FROM migration_results WHERE run_id = $1 AND vendor_id = $2`,
			f.runID, f.pricey.ID).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resumed vendor never started (status %s)", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t0 := time.Now()
	f.Main.Close()
	if s := f.runState(f.runID); s != "failed" {
		t.Fatalf("after Close the run is %s, want failed (cancelled)", s)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Close took %s", d)
	}
	var status string
	if err := f.CP.QueryRow(context.Background(), `SELECT status FROM migration_results WHERE run_id = $1 AND vendor_id = $2`,
		f.runID, f.pricey.ID).Scan(&status); err != nil || status != "failed" {
		t.Errorf("pricey's result after Close: %q (%v)", status, err)
	}
	// Closed: nothing new starts, and nothing is audited for it.
	audited := len(f.audit("migration.resume_requested"))
	wantAPIError(t, "resume after Close", api.do(http.MethodPost, runPath+"/resume", nil), http.StatusServiceUnavailable, "")
	if n := len(f.audit("migration.resume_requested")); n != audited {
		t.Errorf("%d resume requests audited after Close, want %d", n, audited)
	}
}

// tenantHead is the newest tenant migration, the version new vendors have.
var tenantHead = migrate.Tenant.Head()
