package monitor

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/storefleet/storefleet/internal/metrics"
)

// exported returns the name of every metric the two programs export:
// each collector's descriptions (nothing is collected, so no database is
// needed).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New(metrics.Options{})
	m.RegisterJobOutcomes()
	cs := []prometheus.Collector{
		metrics.NewPoolCollector(map[string]*pgxpool.Pool{}),
		metrics.NewPoolManagerCollector(func() metrics.PoolManagerStats { return metrics.PoolManagerStats{} }),
		metrics.NewDependencyCollector(time.Second),
		metrics.NewJobsCollector(nil),
		(&Monitor{}).Collector(),
	}
	descs := make(chan *prometheus.Desc, 1000)
	for _, c := range append(cs, m.Vendors()) {
		c.Describe(descs)
	}
	mfs, err := m.Registry.Gather() // the request histogram and friends
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	close(descs)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	// Vectors with no series yet are not gathered: name them.
	for _, n := range []string{"storefleet_http_request_duration_seconds", "storefleet_jobs_finished_total", "storefleet_job_run_duration_seconds"} {
		names[n] = true
	}
	return names
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// deploy/prometheus/alerts.yml parses, every rule is complete, and every
// storefleet_* metric it names is one the programs export.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	names := exported(t)
	metric := regexp.MustCompile(`\bstorefleet_[a-z_]+`)
	seen := map[string]bool{}
	var want []string
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: no name or no rules", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" || seen[r.Alert] {
				t.Errorf("rule %q: missing or repeated name", r.Alert)
			}
			seen[r.Alert] = true
			if strings.TrimSpace(r.Expr) == "" || strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") ||
				strings.Count(r.Expr, "{") != strings.Count(r.Expr, "}") {
				t.Errorf("%s: empty or unbalanced expression %q", r.Alert, r.Expr)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs a summary and a description", r.Alert)
			}
			for _, n := range metric.FindAllString(r.Expr, -1) {
				base := n
				for _, suf := range []string{"_bucket", "_count", "_sum"} {
					if names[strings.TrimSuffix(n, suf)] {
						base = strings.TrimSuffix(n, suf)
					}
				}
				if !names[base] {
					t.Errorf("%s: %s is not a metric the programs export", r.Alert, n)
				}
			}
		}
	}
	// The kinds of alert the monitoring brief asks for.
	for _, w := range []string{"StorefleetHighErrorRate", "StorefleetSlowRequests", "StorefleetVendorPoolsSaturated",
		"StorefleetJobBacklog", "StorefleetJobsFailed", "StorefleetDependencyDown", "StorefleetBackupsFailing"} {
		if !seen[w] {
			want = append(want, w)
		}
	}
	if len(want) > 0 {
		t.Errorf("alerts.yml lacks %v", want)
	}
}

// deploy/prometheus/prometheus.yml parses, scrapes both programs and
// loads the rules.
func TestPrometheusConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	if !slices.Contains(cfg.RuleFiles, "alerts.yml") {
		t.Errorf("rule_files %v", cfg.RuleFiles)
	}
	jobs := map[string]bool{}
	for _, s := range cfg.ScrapeConfigs {
		if s.MetricsPath != "/metrics" || len(s.StaticConfigs) == 0 || len(s.StaticConfigs[0].Targets) == 0 {
			t.Errorf("scrape config %+v", s)
		}
		jobs[s.JobName] = true
	}
	if !jobs["storefleet-controlplane"] || !jobs["storefleet-tenantapp"] {
		t.Errorf("scrape jobs %v", jobs)
	}
}
