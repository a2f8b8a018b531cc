// Package metrics is the Prometheus instrumentation that the control plane
// and the tenant app share: request latency by route template and status
// class, requests in flight, pgx pool figures, dependency up/down gauges,
// River job queues and outcomes, and per-vendor request counters kept to
// a bounded set of labels. Each program makes one Metrics with a registry
// of its own (so tests can run several programs in one process) and
// serves it at /metrics behind Handler's access rule. See docs/monitoring.md.
package metrics

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace starts every metric name.
const Namespace = "storefleet"

// RouteUnmatched is the route label of requests that matched no route
// (404s of unknown paths, unknown hosts).
const RouteUnmatched = "unmatched"

// Metrics is one program's registry and its HTTP instruments.
type Metrics struct {
	// Registry holds every metric of the program; register more
	// collectors on it.
	Registry *prometheus.Registry

	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	vendors  *VendorCounter
}

// Options tune New.
type Options struct {
	// VendorLabels is how many vendors get a label of their own on the
	// per-vendor counters (default DefaultVendorLabels); the rest count as
	// "other". Zero means the default; a negative value turns the
	// per-vendor counters off.
	VendorLabels int
	// VendorPeriod is how often the labelled vendors are chosen again from
	// the traffic of the period before (default one minute).
	VendorPeriod time.Duration
}

// New makes a registry with the Go runtime and process collectors, the
// request histogram, the in-flight gauge and the per-vendor counters.
func New(o Options) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template, method and status class.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
	}
	reg.MustRegister(m.duration, m.inFlight)
	if o.VendorLabels >= 0 {
		m.vendors = NewVendorCounter(o.VendorLabels, o.VendorPeriod)
		reg.MustRegister(m.vendors)
	}
	return m
}

// Vendors is the per-vendor request counter (nil if turned off).
func (m *Metrics) Vendors() *VendorCounter { return m.vendors }

// probe is what Instrument puts in a request's context for the routers
// below to fill in: the deepest writer wins.
type probe struct {
	route  string
	vendor string
}

type probeKey struct{}

// Instrument measures every request that passes through it. Each router
// given gets a middleware that records the matched route's path template
// (never the raw path, so ids do not become labels); requests no router
// matched are labelled "unmatched". vendor, if not nil, names the vendor
// a request was served for (called after the routers' handlers ran; ""
// for none), for the per-vendor counters.
func (m *Metrics) Instrument(next http.Handler, vendor func(*http.Request) string, routers ...*mux.Router) http.Handler {
	for _, r := range routers {
		r.Use(recordRoute(vendor))
		if nf := r.NotFoundHandler; nf != nil && vendor != nil {
			// A page the vendor's routes do not have still counts for the vendor.
			r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if v := vendor(r); v != "" {
					SetVendor(r, v)
				}
				nf.ServeHTTP(w, r)
			})
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		p := &probe{}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			if rec := recover(); rec != nil {
				status = http.StatusInternalServerError
				defer panic(rec) // WithLogging, further out, answers and logs it
			}
			route := p.route
			if route == "" {
				route = RouteUnmatched
			}
			class := statusClass(status)
			m.duration.WithLabelValues(route, method(r.Method), class).Observe(time.Since(start).Seconds())
			if m.vendors != nil && p.vendor != "" {
				m.vendors.Observe(p.vendor, class)
			}
		}()
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), probeKey{}, p)))
	})
}

// recordRoute notes the matched route's template (and the vendor) in the
// request's probe.
func recordRoute(vendor func(*http.Request) string) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := r.Context().Value(probeKey{}).(*probe)
			if p != nil {
				if route := mux.CurrentRoute(r); route != nil {
					if tpl, err := route.GetPathTemplate(); err == nil {
						p.route = tpl
					}
				}
				if vendor != nil {
					if v := vendor(r); v != "" {
						p.vendor = v
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// SetRoute labels the current request with a route name of the caller's
// choosing, for handlers that route by themselves (a fixed, small set of
// names only).
func SetRoute(r *http.Request, route string) {
	if p, _ := r.Context().Value(probeKey{}).(*probe); p != nil {
		p.route = route
	}
}

// SetVendor names the vendor the current request is served for.
func SetVendor(r *http.Request, vendor string) {
	if p, _ := r.Context().Value(probeKey{}).(*probe); p != nil {
		p.vendor = vendor
	}
}

// statusClass is "2xx", "4xx", ...
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// method keeps the method label to the standard methods.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Handler serves the registry in the Prometheus text format to callers
// allowed by Allowed, and 404 to everyone else (the endpoint does not
// announce itself).
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Timeout: 10 * time.Second})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Allowed(r, token) {
			if token != "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			}
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// Allowed is the access rule of /metrics: a request carrying
// "Authorization: Bearer <token>" with the configured token is allowed
// from anywhere; without a token, only a direct request from a loopback
// address is, and not one that a proxy on the same machine forwarded
// (it carries X-Forwarded-For, Forwarded or X-Real-Ip), so a reverse
// proxy in front of the service never opens /metrics to the world.
func Allowed(r *http.Request, token string) bool {
	if token != "" {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if ok && strings.EqualFold(scheme, "Bearer") &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1 {
			return true
		}
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}
