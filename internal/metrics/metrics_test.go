package metrics

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
)

// vendorLabels returns the distinct vendor label values the counter
// exports now.
func vendorLabels(t *testing.T, c *VendorCounter) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "vendor" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func TestVendorLabelsStayBoundedFor50Vendors(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := NewVendorCounter(5, time.Minute)
	c.now = func() time.Time { return now }
	total := 0.0
	// Minute 1: 50 vendors, vendor i gets i+1 requests; the first five
	// seen (v00..v04) take the slots.
	for i := range 50 {
		for range i + 1 {
			c.Observe(fmt.Sprintf("v%02d", i), "2xx")
			total++
		}
	}
	labels := vendorLabels(t, c)
	if len(labels) != 6 {
		t.Fatalf("after minute 1: %d label values, want 5 vendors + other: %v", len(labels), labels)
	}
	// Minute 2: the same traffic; at its first request the busiest vendors
	// of minute 1 (v45..v49) take the slots from the quiet first five.
	now = now.Add(time.Minute)
	for i := range 50 {
		for range i + 1 {
			c.Observe(fmt.Sprintf("v%02d", i), "5xx")
			total++
		}
	}
	labels = vendorLabels(t, c)
	if len(labels) != 6 {
		t.Fatalf("after minute 2: %d label values: %v", len(labels), labels)
	}
	for i := 45; i < 50; i++ {
		if _, ok := labels[fmt.Sprintf("v%02d", i)]; !ok {
			t.Errorf("busy vendor v%02d has no label: %v", i, labels)
		}
	}
	if got := c.Labelled(); len(got) != 5 || got[0] != "v45" {
		t.Errorf("labelled %v", got)
	}
	// Nothing is lost but the evicted vendors' own series, and "other"
	// only ever grows.
	other := labels[OtherVendor]
	if other <= 0 || other >= total {
		t.Errorf("other = %v of %v", other, total)
	}
	// Minute 3: equal traffic for everyone keeps the labels where they are
	// (a challenger needs twice the requests of the quietest labelled one).
	now = now.Add(time.Minute)
	for i := range 50 {
		c.Observe(fmt.Sprintf("v%02d", i), "2xx")
	}
	now = now.Add(time.Minute)
	c.Observe("v00", "2xx")
	if got := c.Labelled(); len(got) != 5 || got[0] != "v45" {
		t.Errorf("labels moved on equal traffic: %v", got)
	}
	if after := vendorLabels(t, c)[OtherVendor]; after < other {
		t.Errorf("other went down from %v to %v", other, after)
	}
}

func TestInstrumentLabelsRouteTemplates(t *testing.T) {
	m := New(Options{VendorLabels: 2})
	r := mux.NewRouter()
	r.HandleFunc("/things/{id:[0-9]+}", func(w http.ResponseWriter, r *http.Request) {
		if mux.Vars(r)["id"] == "13" {
			http.Error(w, "unlucky", http.StatusInternalServerError)
		}
	})
	sub := r.PathPrefix("/admin").Subrouter()
	sub.HandleFunc("/users/{name}", func(http.ResponseWriter, *http.Request) {})
	h := m.Instrument(r, func(r *http.Request) string { return r.Header.Get("X-Vendor") }, r)
	for _, p := range []string{"/things/1", "/things/2", "/things/13", "/admin/users/ada", "/nothing/here"} {
		req := httptest.NewRequest(http.MethodGet, p, nil)
		req.Header.Set("X-Vendor", "acme")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	body := scrape(t, m)
	for _, want := range []string{
		`storefleet_http_request_duration_seconds_count{code="2xx",method="GET",route="/things/{id:[0-9]+}"} 2`,
		`storefleet_http_request_duration_seconds_count{code="5xx",method="GET",route="/things/{id:[0-9]+}"} 1`,
		`storefleet_http_request_duration_seconds_count{code="2xx",method="GET",route="/admin/users/{name}"} 1`,
		`storefleet_http_request_duration_seconds_count{code="4xx",method="GET",route="unmatched"} 1`,
		`storefleet_vendor_requests_total{code="2xx",vendor="acme"} 3`,
		`storefleet_http_requests_in_flight 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s in\n%s", want, grep(body, "storefleet_"))
		}
	}
	if strings.Contains(body, "/things/13") || strings.Contains(body, "/admin/users/ada") {
		t.Fatalf("a raw path became a label:\n%s", grep(body, "storefleet_"))
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:4000"
	rec := httptest.NewRecorder()
	m.Handler("").ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func grep(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetricsAccess(t *testing.T) {
	m := New(Options{})
	cases := []struct {
		name, remote, token string
		headers             []string
		want                int
	}{
		{"loopback", "127.0.0.1:5000", "", nil, 200},
		{"loopback v6", "[::1]:5000", "", nil, 200},
		{"remote", "192.0.2.7:5000", "", nil, 404},
		{"proxied from loopback", "127.0.0.1:5000", "", []string{"X-Forwarded-For", "192.0.2.7"}, 404},
		{"forwarded from loopback", "127.0.0.1:5000", "", []string{"Forwarded", "for=192.0.2.7"}, 404},
		{"remote with token", "192.0.2.7:5000", "s3cret-token", []string{"Authorization", "Bearer s3cret-token"}, 200},
		{"remote with wrong token", "192.0.2.7:5000", "s3cret-token", []string{"Authorization", "Bearer guess"}, 404},
		{"remote, token configured, none sent", "192.0.2.7:5000", "s3cret-token", nil, 404},
		{"proxied with token", "127.0.0.1:5000", "s3cret-token", []string{"X-Forwarded-For", "192.0.2.7", "Authorization", "bearer s3cret-token"}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.RemoteAddr = c.remote
			for i := 0; i+1 < len(c.headers); i += 2 {
				req.Header.Set(c.headers[i], c.headers[i+1])
			}
			rec := httptest.NewRecorder()
			m.Handler(c.token).ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d", rec.Code, c.want)
			}
			if c.want == 200 && !strings.Contains(rec.Body.String(), "go_goroutines") {
				t.Fatalf("no metrics in the answer")
			}
		})
	}
}
