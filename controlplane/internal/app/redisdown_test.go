package app_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/testenv"
)

// With Redis down the control plane stays ready (Redis "degraded": only
// console sessions need it), and the console says clearly why signing in
// does not work instead of failing with a 500.
func TestControlPlaneWithRedisDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	c := startWith(t, func(e *testenv.Env, m *app.Main) {
		rc := redis.NewClient(&redis.Options{Addr: closed, MaxRetries: -1})
		t.Cleanup(func() { rc.Close() })
		m.Redis = rc
	})
	resp, err := http.Get(c.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Status string
		Checks map[string]struct{ Status string }
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || out.Checks["redis"].Status != "degraded" || out.Checks["controlplane_db"].Status != "ok" {
		t.Fatalf("readyz: %d %+v %v", resp.StatusCode, out, err)
	}
	b := c.browser()
	resp, err = b.c.PostForm(c.URL+"/admin/login", url.Values{"email": {adminEmail}, "password": {adminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "session store") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("console sign-in with Redis down: %d %.400s", resp.StatusCode, body)
	}
}
