// Command benchtable prints the rows benchmarks recorded as one table and
// writes it, with the machine it ran on, to a Markdown file.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/benchtable"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: benchtable RESULTS.jsonl OUT.md")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err, "(did the benchmarks run?)")
		os.Exit(1)
	}
	defer f.Close()
	var rows []benchtable.Row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r benchtable.Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable: bad line:", err)
			os.Exit(1)
		}
		rows = append(rows, r)
	}
	var b strings.Builder
	b.WriteString("| issue | what | ours | baseline (same run) | ratio | target | met |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		met := "yes"
		if !r.Pass {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2fx | %s | %s |\n", r.Issue, r.What, r.Ours, r.Baseline, r.Ratio, r.Target, met)
	}
	fmt.Print(b.String())
	host, _ := os.Hostname()
	doc := fmt.Sprintf("# Benchmarks\n\n`make bench` starts a durable copy of every service (the `bench` instance: "+
		"PostgreSQL with fsync on), runs every benchmark once, and writes this table. Every figure is compared "+
		"with a baseline measured in the same run on the same machine, because these machines are shared "+
		"and noisy; the ratio is what matters.\n\nLast run: %s on %s (%s/%s, %d CPUs, %s, %s of memory).\n\n%s",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), memTotal(), b.String())
	if err := os.WriteFile(os.Args[2], []byte(doc), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

// memTotal is the machine's memory as /proc/meminfo gives it, in GiB.
func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}
