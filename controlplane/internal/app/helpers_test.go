package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/internal/wiring"
)

const (
	adminEmail    = "ada@example.com"
	adminPassword = "correct horse battery staple"
)

// cp is one test's control plane: the real program over a private slice
// of the platform, served by httptest, with one admin.
type cp struct {
	*testenv.Env
	t     *testing.T
	URL   string
	Admin *platform.Admin
	Main  *app.Main
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func envPlatform(e *testenv.Env) *wiring.Platform {
	return &wiring.Platform{Cfg: e.Cfg, Store: e.Store, Box: e.Box, Objects: e.Objects, Prov: e.Prov, Backups: e.Backups}
}

// start builds the control plane through app.Main and serves its handler.
func start(t *testing.T) *cp {
	t.Helper()
	return startWith(t, nil)
}

// startWith is start with a prepare step that runs before the program
// opens: it may change the environment (e.g. give it a template of its
// own) and set fields of Main.
func startWith(t *testing.T, prepare func(e *testenv.Env, m *app.Main)) *cp {
	t.Helper()
	e := testenv.New(t)
	m := &app.Main{Config: e.Cfg, Logger: testLogger(t)}
	if prepare != nil {
		prepare(e, m)
	}
	m.Platform = envPlatform(e) // after prepare, which may replace e.Prov
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open control plane: %v", err)
	}
	t.Cleanup(m.Close)
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	c := &cp{Env: e, t: t, URL: srv.URL, Main: m}
	c.Admin = c.addAdmin(adminEmail, adminPassword)
	return c
}

func (c *cp) addAdmin(email, password string) *platform.Admin {
	c.t.Helper()
	hash, err := auth.Hash(password)
	if err != nil {
		c.t.Fatal(err)
	}
	a, err := c.Store.UpsertAdmin(context.Background(), email, "Ada Lovelace", hash)
	if err != nil {
		c.t.Fatal(err)
	}
	return a
}

// audit returns the audit rows with an action, newest first.
func (c *cp) audit(action string) []platform.AuditRow {
	c.t.Helper()
	rows, err := c.Store.RecentAudit(context.Background(), platform.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		c.t.Fatal(err)
	}
	return rows
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (c *cp) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: c.t, base: c.URL, c: &http.Client{
		Jar:           jar,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{Status: res.StatusCode, Body: string(body), Header: res.Header, Location: res.Header.Get("Location")}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

// post sends a form as it is, without adding a CSRF token.
func (b *browser) post(path string, form url.Values, header ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token reads the CSRF token from a page's forms.
func (b *browser) token(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil {
		b.t.Fatalf("GET %s (%d): no csrf_token field in the page", path, p.Status)
	}
	return m[1]
}

// submit posts a form from a page, with that page's CSRF token.
func (b *browser) submit(from, to string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.token(from))
	return b.post(to, form)
}

func (b *browser) login(email, password string) page {
	b.t.Helper()
	return b.submit("/admin/login", "/admin/login", url.Values{"email": {email}, "password": {password}})
}

// mustLogin signs in as the test admin.
func (b *browser) mustLogin() {
	b.t.Helper()
	if p := b.login(adminEmail, adminPassword); p.Status != http.StatusSeeOther {
		b.t.Fatalf("sign in: status %d, want 303\n%s", p.Status, p.Body)
	}
}

// session is the value of the admin session cookie, or "".
func (b *browser) session() string {
	u, _ := url.Parse(b.base + "/admin/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == app.SessionCookie {
			return c.Value
		}
	}
	return ""
}

func wantStatus(t *testing.T, what string, p page, want int) {
	t.Helper()
	if p.Status != want {
		body := p.Body
		if len(body) > 2000 {
			body = body[:2000]
		}
		t.Fatalf("%s: status %d, want %d\n%s", what, p.Status, want, body)
	}
}

func wantContains(t *testing.T, what, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("%s: %q not in the page", what, s)
		}
	}
}
