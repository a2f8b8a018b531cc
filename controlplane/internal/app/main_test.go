package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/testenv"
)

// TestRun starts the real program on a random port, as main does, and
// stops it by cancelling its context.
func TestRun(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := app.New(e.Cfg, testLogger(t)) // opens its own store, object store and Redis from the config
	m.Listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	base := "http://" + ln.Addr().String()

	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	res, body := get("/readyz")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d %s", res.StatusCode, body)
	}
	var ready struct {
		Status string
		Checks map[string]struct{ Status string }
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"controlplane_db", "redis", "object_store"} {
		if ready.Checks[name].Status != "ok" {
			t.Errorf("/readyz check %s = %q", name, ready.Checks[name].Status)
		}
	}
	if res, _ := get("/healthz"); res.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", res.StatusCode)
	}

	res, body = get("/admin/login")
	if res.StatusCode != http.StatusOK || res.Header.Get("X-Request-Id") == "" || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("/admin/login: %d, headers %v", res.StatusCode, res.Header)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("/admin/login Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == app.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure != e.Cfg.CookieSecure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax", cookie)
	}

	// The session lives in Redis under the control plane's prefix.
	n, err := m.Redis.Keys(context.Background(), app.SessionPrefix+"*").Result()
	if err != nil || len(n) == 0 {
		t.Errorf("no %s* keys in Redis (%v)", app.SessionPrefix, err)
	}

	// Static files, linked with a version, are cached for long.
	css := between(body, `<link rel="stylesheet" href="`, `"`)
	if !strings.HasPrefix(css, "/static/css/admin.css?v=") {
		t.Fatalf("style sheet link %q", css)
	}
	res, _ = get(css)
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Cache-Control"), "max-age=31536000") {
		t.Errorf("GET %s: %d, Cache-Control %q", css, res.StatusCode, res.Header.Get("Cache-Control"))
	}
	alpine := between(body, `<script defer src="`, `"`)
	if res, _ := get(alpine); res.StatusCode != http.StatusOK || !strings.HasPrefix(alpine, "/static/vendor/alpine-") {
		t.Errorf("GET %s: %d", alpine, res.StatusCode)
	}
	if res, _ := get("/static/css/"); res.StatusCode != http.StatusNotFound {
		t.Errorf("directory listing of /static/css/: %d", res.StatusCode)
	}
}
