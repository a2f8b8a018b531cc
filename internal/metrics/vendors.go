package metrics

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultVendorLabels is how many vendors get a label of their own by
// default.
const DefaultVendorLabels = 20

// OtherVendor is the vendor label of every vendor without a label of its
// own.
const OtherVendor = "other"

// VendorCounter counts requests per vendor and status class with at most
// a fixed number of vendor label values plus "other", however many vendors
// the platform hosts:
//
//   - the first vendors seen take the free label slots;
//   - every period (a minute), the vendors with the most requests in the
//     period just ended compete for the slots: an unlabelled vendor with
//     more than twice the requests of the quietest labelled one takes its
//     slot. The evicted vendor's series are removed (they go stale in
//     Prometheus) and its requests count under "other" from then on; the
//     promoted vendor starts a new series at zero, which Prometheus'
//     rate() reads as a counter start.
//
// So each series only ever grows while it exists, "other" included, and
// the number of series is at most (slots + 1) × status classes.
type VendorCounter struct {
	slots  int
	period time.Duration
	desc   *prometheus.Desc
	now    func() time.Time

	mu       sync.Mutex
	since    time.Time                // start of the current period
	window   map[string]uint64        // requests per vendor in the current period
	labelled map[string]bool          // vendors with a label of their own
	series   map[vendorSeries]float64 // the counters
}

type vendorSeries struct{ vendor, code string }

// NewVendorCounter returns a counter with the given number of label slots
// (DefaultVendorLabels if 0) re-chosen every period (a minute if 0).
func NewVendorCounter(slots int, period time.Duration) *VendorCounter {
	if slots <= 0 {
		slots = DefaultVendorLabels
	}
	if period <= 0 {
		period = time.Minute
	}
	return &VendorCounter{
		slots: slots, period: period, now: time.Now,
		desc: prometheus.NewDesc(Namespace+"_vendor_requests_total",
			"Requests served for a vendor, by vendor (the busiest vendors by name, the rest as \"other\") and status class.",
			[]string{"vendor", "code"}, nil),
		window: map[string]uint64{}, labelled: map[string]bool{}, series: map[vendorSeries]float64{},
	}
}

// Slots is the most vendor label values besides "other".
func (c *VendorCounter) Slots() int { return c.slots }

// Observe counts one request of vendor answered with a status of class
// ("2xx", "4xx", ...).
func (c *VendorCounter) Observe(vendor, class string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.since.IsZero() {
		c.since = now
	} else if now.Sub(c.since) >= c.period {
		c.rebalance()
		c.since = now
	}
	c.window[vendor]++
	label := OtherVendor
	if c.labelled[vendor] {
		label = vendor
	} else if len(c.labelled) < c.slots && vendor != OtherVendor {
		c.labelled[vendor] = true
		label = vendor
	}
	c.series[vendorSeries{label, class}]++
}

// rebalance gives the label slots to the busiest vendors of the period
// that ended, and starts a new one. Called with mu held.
func (c *VendorCounter) rebalance() {
	type vc struct {
		vendor string
		n      uint64
	}
	var waiting []vc
	for v, n := range c.window {
		if !c.labelled[v] && v != OtherVendor {
			waiting = append(waiting, vc{v, n})
		}
	}
	sort.Slice(waiting, func(i, j int) bool {
		if waiting[i].n != waiting[j].n {
			return waiting[i].n > waiting[j].n
		}
		return waiting[i].vendor < waiting[j].vendor
	})
	for _, w := range waiting {
		if len(c.labelled) < c.slots {
			c.labelled[w.vendor] = true
			continue
		}
		quietest, least := "", uint64(0)
		for v := range c.labelled {
			if n := c.window[v]; quietest == "" || n < least || n == least && v > quietest {
				quietest, least = v, n
			}
		}
		if w.n <= 2*least {
			break // the rest are quieter still
		}
		delete(c.labelled, quietest)
		for k := range c.series {
			if k.vendor == quietest {
				delete(c.series, k)
			}
		}
		c.labelled[w.vendor] = true
	}
	c.window = map[string]uint64{}
}

// Labelled returns the vendors that have a label of their own now.
func (c *VendorCounter) Labelled() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.labelled))
	for v := range c.labelled {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Describe implements prometheus.Collector.
func (c *VendorCounter) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *VendorCounter) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, n := range c.series {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, n, k.vendor, k.code)
	}
}
