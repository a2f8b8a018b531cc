package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is a run's figures (also written as JSON with -out).
type Result struct {
	Duration   string       `json:"duration"`
	Clients    int          `json:"clients"`
	Vendors    int          `json:"vendors"`
	Requests   int          `json:"requests"`
	Throughput float64      `json:"requests_per_second"`
	Errors     int          `json:"errors"`
	Orders     int          `json:"orders_accepted"`
	Paid       int          `json:"orders_paid"`
	Rows       []Row        `json:"kinds"`
	Samples    []string     `json:"error_samples,omitempty"`
	Check      *checkResult `json:"check,omitempty"`
}

// Row is one kind of request.
type Row struct {
	Kind       string         `json:"kind"`
	What       string         `json:"what"`
	Count      int            `json:"count"`
	Throughput float64        `json:"per_second"`
	P50        float64        `json:"p50_ms"`
	P95        float64        `json:"p95_ms"`
	P99        float64        `json:"p99_ms"`
	Max        float64        `json:"max_ms"`
	SoldOut    int            `json:"sold_out"`
	Errors     map[string]int `json:"errors,omitempty"`
}

func summarize(r *recorder, elapsed time.Duration, clients, vendors int) *Result {
	res := &Result{Duration: elapsed.Round(100 * time.Millisecond).String(), Clients: clients, Vendors: vendors,
		Samples: r.samples, Orders: len(r.orders)}
	for _, o := range r.orders {
		if o.Paid {
			res.Paid++
		}
	}
	var all []time.Duration
	for k := range nKinds {
		lat := r.lat[k]
		slices.Sort(lat)
		all = append(all, lat...)
		row := Row{Kind: kindNames[k], What: kindWhat[k], Count: len(lat), SoldOut: r.soldOut[k], Errors: r.errs[k]}
		for _, n := range r.errs[k] {
			row.Count += n
			res.Errors += n
		}
		row.Throughput = float64(row.Count) / elapsed.Seconds()
		row.P50, row.P95, row.P99 = ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(percentile(lat, 99))
		if len(lat) > 0 {
			row.Max = ms(lat[len(lat)-1])
		}
		res.Requests += row.Count
		res.Rows = append(res.Rows, row)
	}
	slices.Sort(all)
	res.Throughput = float64(res.Requests) / elapsed.Seconds()
	res.Rows = append(res.Rows, Row{Kind: "all", Count: res.Requests, Throughput: res.Throughput,
		P50: ms(percentile(all, 50)), P95: ms(percentile(all, 95)), P99: ms(percentile(all, 99)), Max: ms(last(all)),
		Errors: map[string]int{}})
	for _, row := range res.Rows[:len(res.Rows)-1] {
		res.Rows[len(res.Rows)-1].SoldOut += row.SoldOut
		for c, n := range row.Errors {
			res.Rows[len(res.Rows)-1].Errors[c] += n
		}
	}
	return res
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func last(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (res *Result) print(w io.Writer) {
	fmt.Fprintf(w, "\n%d virtual shoppers, %d vendors, %s: %d requests, %.1f requests/s, %d errors; %d orders accepted, %d paid\n\n",
		res.Clients, res.Vendors, res.Duration, res.Requests, res.Throughput, res.Errors, res.Orders, res.Paid)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tcount\treq/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tsold out\terrors\t")
	for _, r := range res.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%s\t\n", r.Kind, r.Count, r.Throughput, r.P50, r.P95, r.P99, r.Max,
			r.SoldOut, errorText(r.Errors))
	}
	_ = tw.Flush()
	if len(res.Samples) > 0 {
		fmt.Fprintln(w, "\nfirst errors:")
		for _, s := range res.Samples {
			fmt.Fprintln(w, "  "+s)
		}
	}
	fmt.Fprintln(w)
}

func errorText(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var codes []string
	n := 0
	for c, k := range m {
		codes = append(codes, fmt.Sprintf("%s×%d", c, k))
		n += k
	}
	sort.Strings(codes)
	return fmt.Sprintf("%d (%s)", n, strings.Join(codes, ", "))
}
