package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
)

// newMetricsShop starts a tenant app with a number of vendor label slots
// and a metrics token.
func newMetricsShop(t *testing.T, slots int, token string) *shopEnv {
	t.Helper()
	e := testenv.New(t)
	cfg := *e.Cfg
	cfg.MetricsVendorLabels = slots
	cfg.MetricsToken = token
	a, err := app.New(context.Background(), &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &shopEnv{e: e, a: a, srv: srv}
}

// metrics scrapes /metrics from loopback, as a local Prometheus does.
func (s *shopEnv) metrics(t *testing.T) string {
	t.Helper()
	code, body := s.get(t, "localhost", "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	return body
}

// The tenant app's /metrics labels requests by the shop's route
// templates (a product's handle never becomes a label), counts them per
// vendor, and reports the pool manager and the dependencies; the old
// /metrics/pools stays.
func TestTenantMetricsByRouteTemplate(t *testing.T) {
	t.Parallel()
	s := newMetricsShop(t, 0, "")
	a := s.e.CreateVendor(t, "metric-acme", "Metric Acme")
	seedProducts(t, s.e, a, 2)
	for _, p := range []string{"/", "/products", "/products/metric-acme-0", "/products/metric-acme-1", "/products/no-such-product-77"} {
		s.get(t, "metric-acme.localhost", p)
	}
	s.get(t, "nobody.localhost", "/")
	body := s.metrics(t)
	for _, want := range []string{
		`storefleet_http_request_duration_seconds_count{code="2xx",method="GET",route="/"} 1`,
		`storefleet_http_request_duration_seconds_count{code="2xx",method="GET",route="/products"} 1`,
		`storefleet_http_request_duration_seconds_count{code="2xx",method="GET",route="/products/{handle}"} 2`,
		`storefleet_http_request_duration_seconds_count{code="4xx",method="GET",route="/products/{handle}"} 1`,
		`storefleet_http_request_duration_seconds_count{code="4xx",method="GET",route="unmatched"} 1`,
		`storefleet_vendor_requests_total{code="2xx",vendor="metric-acme"} 4`,
		`storefleet_vendor_requests_total{code="4xx",vendor="metric-acme"} 1`,
		`storefleet_vendor_pools_open 1`,
		`storefleet_vendor_pool_max_connections `,
		`storefleet_db_pool_max_connections{pool="router"} 8`,
		`storefleet_dependency_up{dependency="controlplane_db"} 1`,
		`storefleet_dependency_up{dependency="redis"} 1`,
		`storefleet_dependency_up{dependency="object_store"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, raw := range []string{"metric-acme-0", "no-such-product-77", "nobody"} {
		if strings.Contains(body, raw) {
			t.Errorf("%q made it into a label", raw)
		}
	}
	if code, body := s.get(t, "localhost", "/metrics/pools"); code != 200 || !strings.Contains(body, `"open_pools"`) {
		t.Errorf("/metrics/pools: %d %s", code, body)
	}
}

var vendorLabel = regexp.MustCompile(`storefleet_vendor_requests_total\{code="[^"]+",vendor="([^"]+)"\} (\d+)`)

// With 50 vendors getting traffic, the per-vendor counters keep to the
// configured number of vendor labels plus "other", and lose no request.
func TestTenantMetricsVendorLabelsStayBounded(t *testing.T) {
	t.Parallel()
	const vendors, slots = 50, 8
	s := newMetricsShop(t, slots, "")
	for i := range vendors { // one at a time: provisioning takes the vendor lock and two connections
		s.e.CreateVendor(t, fmt.Sprintf("crowd-%02d", i), fmt.Sprintf("Crowd %02d", i))
	}
	total := 0
	for i := range vendors {
		for range 1 + i%3 {
			if code, _ := s.get(t, fmt.Sprintf("crowd-%02d.localhost", i), "/"); code != http.StatusOK {
				t.Fatalf("crowd-%02d: %d", i, code)
			}
			total++
		}
	}
	labels := map[string]bool{}
	sum := 0
	for _, m := range vendorLabel.FindAllStringSubmatch(s.metrics(t), -1) {
		labels[m[1]] = true
		var n int
		fmt.Sscan(m[2], &n)
		sum += n
	}
	if len(labels) != slots+1 || !labels["other"] {
		t.Errorf("%d vendor label values (%v), want %d vendors and other", len(labels), labels, slots)
	}
	if sum != total {
		t.Errorf("the per-vendor counters add up to %d, want %d requests", sum, total)
	}
}

// /metrics answers loopback and holders of the token; any other caller,
// and a request a local proxy forwarded, gets a 404 as if there were
// nothing there.
func TestTenantMetricsAccess(t *testing.T) {
	t.Parallel()
	const token = "tenant-scrape-token-42"
	s := newMetricsShop(t, 0, token)
	get := func(remote string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Host = "localhost"
		req.RemoteAddr = remote
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		s.a.Handler().ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct {
		name    string
		remote  string
		headers []string
		want    int
	}{
		{"loopback", "127.0.0.1:50000", nil, 200},
		{"remote", "198.51.100.4:50000", nil, 404},
		{"proxied", "127.0.0.1:50000", []string{"X-Forwarded-For", "198.51.100.4"}, 404},
		{"remote with token", "198.51.100.4:50000", []string{"Authorization", "Bearer " + token}, 200},
		{"remote with wrong token", "198.51.100.4:50000", []string{"Authorization", "Bearer nope"}, 404},
	} {
		rec := get(tc.remote, tc.headers...)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
		}
		if got := strings.Contains(rec.Body.String(), "storefleet_vendor_pools_open"); got != (tc.want == 200) {
			t.Errorf("%s: metrics in the answer: %v", tc.name, got)
		}
	}
	// On a vendor's host too: /metrics is the platform's, not the shop's.
	s.e.CreateVendor(t, "metric-host", "Metric Host")
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Host = "metric-host.localhost"
	req.RemoteAddr = "198.51.100.4:50000"
	rec := httptest.NewRecorder()
	s.a.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "storefleet_") {
		t.Errorf("remote /metrics on a vendor host: %d", rec.Code)
	}
}
