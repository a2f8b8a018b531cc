// Package benchtable collects benchmark results as rows of one table:
// what was measured, our figure, the baseline measured in the same run,
// the ratio and the target. `make bench` prints the table and writes it to
// docs/benchmarks.md.
package benchtable

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// Row is one line of the table.
type Row struct {
	Issue    string  `json:"issue"`
	What     string  `json:"what"`
	Ours     string  `json:"ours"`
	Baseline string  `json:"baseline"`
	Ratio    float64 `json:"ratio"`
	Target   string  `json:"target"`
	Pass     bool    `json:"pass"`
}

// Record appends a row to the file named by STOREFLEET_BENCH_OUT (JSON
// lines), if set; benchmarks always also report through testing.B.
func Record(r Row) error {
	path := os.Getenv("STOREFLEET_BENCH_OUT")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open bench output: %w", err)
	}
	defer f.Close()
	b, _ := json.Marshal(r)
	_, err = f.Write(append(b, '\n'))
	return err
}

// Median returns the median of durations.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// Percentile returns the p-th percentile (0-100) of durations.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// Ms formats a duration in milliseconds.
func Ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
