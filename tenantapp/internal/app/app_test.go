package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
)

type shopEnv struct {
	e   *testenv.Env
	a   *app.App
	srv *httptest.Server
}

func newShopEnv(t *testing.T, trusted ...netip.Prefix) *shopEnv {
	t.Helper()
	e := testenv.New(t)
	cfg := *e.Cfg
	cfg.TrustedProxies = trusted
	a, err := app.New(context.Background(), &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &shopEnv{e: e, a: a, srv: srv}
}

// get fetches path with a Host header (and extra headers) and returns the
// status and body.
func (s *shopEnv) get(t *testing.T, host, path string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStorefrontShowsTheVendorsProducts(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a := s.e.CreateVendor(t, "acme", "Acme Tools")
	b := s.e.CreateVendor(t, "bravo", "Bravo Books")
	seedProducts(t, s.e, a, 3)
	seedProducts(t, s.e, b, 2)
	code, body := s.get(t, "acme.localhost", "/")
	if code != 200 || !strings.Contains(body, "Acme Tools") || !strings.Contains(body, "Acme Tools product 2") || strings.Contains(body, "Bravo") {
		t.Fatalf("acme home: %d\n%s", code, body)
	}
	if !strings.Contains(body, "€10.00") {
		t.Errorf("prices are not formatted: %s", body)
	}
	code, body = s.get(t, "localhost", "/vendor/bravo/")
	if code != 200 || !strings.Contains(body, "Bravo Books product 1") || strings.Contains(body, "Acme") {
		t.Fatalf("path fallback: %d\n%s", code, body)
	}
}

func TestHostAttacks(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t, netip.MustParsePrefix("10.0.0.0/8")) // the test client is not a trusted proxy
	a := s.e.CreateVendor(t, "acme", "Acme Tools")
	s.e.CreateVendor(t, "bravo", "Bravo Books")
	seedProducts(t, s.e, a, 1)
	cases := []struct {
		name, host, path string
		headers          []string
		want             int
		shop             string // the shop whose page must show, if any
	}{
		{"exact", "acme.localhost", "/", nil, 200, "Acme Tools"},
		{"upper case", "ACME.LocalHost", "/", nil, 200, "Acme Tools"},
		{"trailing dot", "acme.localhost.", "/", nil, 200, "Acme Tools"},
		{"port", "acme.localhost:8080", "/", nil, 200, "Acme Tools"},
		{"unknown host", "nobody.localhost", "/", nil, 404, ""},
		{"unknown domain", "evil.example", "/", nil, 404, ""},
		{"bare base domain", "localhost", "/", nil, 404, ""},
		{"unknown slug on fallback", "localhost", "/vendor/nobody/", nil, 404, ""},
		{"malformed host", "acme..localhost", "/", nil, 400, ""},
		{"spoofed forwarded host", "nobody.localhost", "/", []string{"X-Forwarded-Host", "acme.localhost"}, 404, ""},
		{"forwarded host to other vendor", "acme.localhost", "/", []string{"X-Forwarded-Host", "bravo.localhost"}, 200, "Acme Tools"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := s.get(t, c.host, c.path, c.headers...)
			if code != c.want {
				t.Fatalf("status %d, want %d\n%s", code, c.want, body)
			}
			if c.shop != "" && !strings.Contains(body, c.shop) {
				t.Fatalf("page is not %s's:\n%s", c.shop, body)
			}
			if strings.Contains(body, "Bravo") {
				t.Fatalf("another vendor's data leaked:\n%s", body)
			}
		})
	}
	// Two Host headers: refused by the server before any handler runs.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: acme.localhost\r\nHost: bravo.localhost\r\nConnection: close\r\n\r\n")
	status, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.Contains(status, "400") {
		t.Errorf("two Host headers: %q, want 400", status)
	}
}

func TestUnknownHostTouchesNoVendorDatabase(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	s.e.CreateVendor(t, "acme", "Acme Tools")
	for i := range 20 {
		if code, _ := s.get(t, fmt.Sprintf("nobody-%d.localhost", i), "/"); code != 404 {
			t.Fatalf("status %d", code)
		}
	}
	if st := s.a.Pools().Stats(); st.OpenPools != 0 {
		t.Fatalf("unknown hosts opened vendor pools: %+v", st)
	}
}

func TestSuspendedAndUnfinishedVendors(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	ctx := context.Background()
	s.e.CreateVendor(t, "acme", "Acme Tools")
	if code, _ := s.get(t, "acme.localhost", "/"); code != 200 {
		t.Fatalf("before suspension: %d", code)
	}
	if _, err := s.e.Prov.Suspend(ctx, platform.Actor{Kind: "system"}, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { code, _ := s.get(t, "acme.localhost", "/"); return code == 503 })
	code, body := s.get(t, "acme.localhost", "/")
	if code != 503 || !strings.Contains(body, "closed") {
		t.Fatalf("suspended: %d %s", code, body)
	}
	if _, err := s.e.Prov.Resume(ctx, platform.Actor{Kind: "system"}, "acme"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { code, _ := s.get(t, "acme.localhost", "/"); return code == 200 })

	// A vendor stuck half-way through provisioning is not routable.
	if _, err := s.e.CP.Exec(ctx, `UPDATE vendors SET state = 'bucket_ready' WHERE slug = 'acme'`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { code, _ := s.get(t, "acme.localhost", "/"); return code == 404 })
}

func TestOldSchemaGetsMaintenancePage(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	s.e.CreateVendor(t, "acme", "Acme Tools")
	s.e.CreateVendor(t, "bravo", "Bravo Books")
	if _, err := s.e.CP.Exec(context.Background(), `UPDATE vendor_databases SET schema_version = 0
		WHERE vendor_id = (SELECT id FROM vendors WHERE slug = 'acme')`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { code, _ := s.get(t, "acme.localhost", "/"); return code == 503 })
	if code, body := s.get(t, "acme.localhost", "/"); !strings.Contains(body, "upgraded") {
		t.Errorf("maintenance page: %d %s", code, body)
	}
	if code, _ := s.get(t, "bravo.localhost", "/"); code != 200 {
		t.Errorf("other vendors must keep serving: %d", code)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := s.get(t, "whatever", p); code != 200 {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReadOnlyVendorBrowsesButRefusesWrites(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	s.e.CreateVendor(t, "acme", "Acme Tools")
	if _, err := s.e.CP.Exec(context.Background(), `UPDATE vendors SET read_only = true WHERE slug = 'acme'`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/", strings.NewReader("x=1"))
		req.Host = "acme.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 503 && resp.Header.Get("Retry-After") != ""
	})
	if code, _ := s.get(t, "acme.localhost", "/"); code != 200 {
		t.Errorf("browsing a read-only vendor: %d", code)
	}
}
