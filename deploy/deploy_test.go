// Package deploy holds no code: its test checks the deployment files beside
// it (Dockerfiles, the compose file and its settings example, Kubernetes
// manifests, Prometheus files) for mistakes that only show in production.
package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestYAMLParses: every YAML file under deploy/ is valid YAML (all
// documents of a multi-document file).
func TestYAMLParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return nil
		}
		n++
		if _, err := yamlDocs(t, path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("found %d YAML files under deploy/, expected the compose file, the Kubernetes manifests and Prometheus's", n)
	}
}

// TestDockerfiles: each image is built with the Go version of go.mod,
// statically and reproducibly, and its final stage runs as a numeric
// non-root user.
func TestDockerfiles(t *testing.T) {
	goVersion := goModVersion(t)
	files, _ := filepath.Glob("docker/*.Dockerfile")
	if len(files) != 3 {
		t.Fatalf("deploy/docker has %d Dockerfiles, want controlplane, tenantapp and provisioner", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			stages := dockerStages(t, path)
			if len(stages) < 2 {
				t.Fatalf("want a multi-stage build, found %d stage(s)", len(stages))
			}
			var build, argGo string
			for _, in := range stages[0].pre {
				if v, ok := strings.CutPrefix(in, "ARG GO_VERSION="); ok {
					argGo = v
				}
			}
			if argGo != goVersion {
				t.Errorf("ARG GO_VERSION=%q, go.mod says go %s", argGo, goVersion)
			}
			if !strings.Contains(stages[0].from, "golang:${GO_VERSION}") {
				t.Errorf("build stage FROM %s, want golang:${GO_VERSION}-…", stages[0].from)
			}
			for _, s := range stages[:len(stages)-1] {
				for _, in := range s.body {
					if strings.HasPrefix(in, "RUN ") && strings.Contains(in, "go build") {
						build = in
					}
				}
			}
			for _, want := range []string{"CGO_ENABLED=0", "-trimpath"} {
				if !strings.Contains(build, want) {
					t.Errorf("the go build step lacks %s: %q", want, build)
				}
			}
			final := stages[len(stages)-1]
			if strings.Contains(final.from, "golang") {
				t.Errorf("final stage runs on the Go toolchain image %s", final.from)
			}
			user := ""
			hasEntry := false
			for _, in := range final.body {
				if v, ok := strings.CutPrefix(in, "USER "); ok {
					user = strings.TrimSpace(v)
				}
				hasEntry = hasEntry || strings.HasPrefix(in, "ENTRYPOINT ")
			}
			name, _, _ := strings.Cut(user, ":")
			if !regexp.MustCompile(`^[0-9]+$`).MatchString(name) || name == "0" {
				t.Errorf("final stage USER %q: want a numeric user other than 0 (root)", user)
			}
			if !hasEntry {
				t.Error("final stage has no ENTRYPOINT")
			}
		})
	}
}

// TestCompose: the single-host compose file is wired the way docs/deploy.md
// says: healthchecks where something waits on them, hardened Storefleet
// containers, Caddy as the one trusted proxy, declared volumes.
func TestCompose(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Image       string
			Build       struct{ Dockerfile string }
			Restart     string
			Profiles    []string
			ReadOnly    bool     `yaml:"read_only"`
			CapDrop     []string `yaml:"cap_drop"`
			Healthcheck *struct{ Test []string }
			DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
			Environment map[string]string
			EnvFile     string `yaml:"env_file"`
			Volumes     []string
			Networks    any
		}
		Volumes map[string]any
	}
	docs, err := yamlDocs(t, "compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := docs[0].Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, want := range []string{"postgres1", "postgres2", "redis", "minio", "mailpit", "caddy", "init", "controlplane", "tenantapp-1", "tenantapp-2"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("no service %s", want)
		}
	}
	var tenantapps []string
	for name, s := range c.Services {
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			if d.Condition == "service_healthy" && target.Healthcheck == nil {
				t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			}
		}
		longRunning := s.Restart != "no" && len(s.Profiles) == 0
		distroless := strings.HasSuffix(s.Build.Dockerfile, "tenantapp.Dockerfile")
		if longRunning && !distroless && s.Healthcheck == nil {
			t.Errorf("long-running service %s has no healthcheck", name)
		}
		if strings.HasPrefix(s.Image, "storefleet/") {
			if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
				t.Errorf("%s: Storefleet containers run with read_only: true and cap_drop: [ALL]", name)
			}
			if s.EnvFile != ".env" {
				t.Errorf("%s: env_file %q, want .env (from storefleet.env.example)", name, s.EnvFile)
			}
		}
		if distroless {
			tenantapps = append(tenantapps, name)
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("compose", src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s uses volume %s, not declared under volumes:", name, src)
			}
		}
	}
	slices.Sort(tenantapps)
	if len(tenantapps) < 2 {
		t.Errorf("tenant-app replicas: %v, want at least 2", tenantapps)
	}

	// Caddy: the Caddyfile, its fixed address trusted by every tenant app,
	// and every tenant app among its upstreams.
	caddy := c.Services["caddy"]
	if !slices.Contains(caddy.Volumes, "../caddy/Caddyfile:/etc/caddy/Caddyfile:ro") {
		t.Errorf("caddy does not mount deploy/caddy/Caddyfile: %v", caddy.Volumes)
	}
	var nets map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	}
	b, _ := yaml.Marshal(caddy.Networks)
	if err := yaml.Unmarshal(b, &nets); err != nil || nets["storefleet"].IPv4 == "" {
		t.Fatalf("caddy needs a fixed ipv4_address on the storefleet network (the tenant app trusts it): %v", caddy.Networks)
	}
	upstreams := strings.Fields(caddy.Environment["TENANTAPP_UPSTREAM"])
	for _, name := range tenantapps {
		if got := c.Services[name].Environment["STOREFLEET_TRUSTED_PROXIES"]; got != nets["storefleet"].IPv4 {
			t.Errorf("%s: STOREFLEET_TRUSTED_PROXIES=%q, want Caddy's address %s", name, got, nets["storefleet"].IPv4)
		}
		if !slices.Contains(upstreams, name+":8080") {
			t.Errorf("caddy's TENANTAPP_UPSTREAM %q leaves out %s", caddy.Environment["TENANTAPP_UPSTREAM"], name)
		}
	}
	if got := caddy.Environment["CONTROLPLANE_UPSTREAM"]; got != "controlplane:8090" {
		t.Errorf("caddy's CONTROLPLANE_UPSTREAM=%q, want controlplane:8090 (the /tls/ask goes there)", got)
	}
}

// TestEnvExample: the settings example names every variable the programs
// read and docs/configuration.md documents (set, or commented out with its
// default).
func TestEnvExample(t *testing.T) {
	example := envNames(t, "compose/storefleet.env.example")
	want := map[string]string{}
	cfg, err := os.ReadFile("../internal/config/config.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"(STOREFLEET_[A-Z0-9_]+)"`).FindAllSubmatch(cfg, -1) {
		want[string(m[1])] = "internal/config/config.go"
	}
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| `STOREFLEET_") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`(STOREFLEET_[A-Z0-9_]+)`").FindAllStringSubmatch(first, -1) {
			want[m[1]] = "docs/configuration.md"
		}
	}
	if len(want) < 30 {
		t.Fatalf("found only %d variables in config.go and configuration.md; has their format changed?", len(want))
	}
	for name, where := range want {
		if !example[name] {
			t.Errorf("%s (from %s) is missing from deploy/compose/storefleet.env.example", name, where)
		}
	}
}

// TestKubernetes: every workload runs as non-root with a read-only root
// filesystem and no capabilities; the tenant app has its probes, three
// replicas, a disruption budget and an autoscaler.
func TestKubernetes(t *testing.T) {
	files, _ := filepath.Glob("k8s/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/k8s")
	}
	kinds := map[string]bool{}
	workloads := 0
	for _, path := range files {
		docs, err := yamlDocs(t, path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, d := range docs {
			var obj map[string]any
			if err := d.Decode(&obj); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			kind, _ := obj["kind"].(string)
			name, _ := dig(obj, "metadata", "name").(string)
			if name == "" {
				name, _ = dig(obj, "metadata", "generateName").(string)
			}
			kinds[kind+"/"+name] = true
			if kind == "Kustomization" {
				for _, r := range dig(obj, "resources").([]any) {
					if _, err := os.Stat(filepath.Join("k8s", r.(string))); err != nil {
						t.Errorf("kustomization.yaml lists %v: %v", r, err)
					}
				}
			}
			var pod map[string]any
			switch kind {
			case "Deployment", "StatefulSet", "DaemonSet", "Job":
				pod, _ = dig(obj, "spec", "template", "spec").(map[string]any)
			case "CronJob":
				pod, _ = dig(obj, "spec", "jobTemplate", "spec", "template", "spec").(map[string]any)
			default:
				continue
			}
			workloads++
			where := path + " " + kind + "/" + name
			podNonRoot, _ := dig(pod, "securityContext", "runAsNonRoot").(bool)
			var containers []any
			for _, key := range []string{"initContainers", "containers"} {
				cs, _ := pod[key].([]any)
				containers = append(containers, cs...)
			}
			for _, c := range containers {
				c := c.(map[string]any)
				cname := where + " container " + c["name"].(string)
				nonRoot, set := dig(c, "securityContext", "runAsNonRoot").(bool)
				if !(nonRoot || !set && podNonRoot) {
					t.Errorf("%s: runAsNonRoot is not true", cname)
				}
				if ro, _ := dig(c, "securityContext", "readOnlyRootFilesystem").(bool); !ro {
					t.Errorf("%s: readOnlyRootFilesystem is not true", cname)
				}
				if esc, ok := dig(c, "securityContext", "allowPrivilegeEscalation").(bool); !ok || esc {
					t.Errorf("%s: allowPrivilegeEscalation is not false", cname)
				}
				drop, _ := dig(c, "securityContext", "capabilities", "drop").([]any)
				if !slices.Contains(drop, any("ALL")) {
					t.Errorf("%s: capabilities are not dropped (drop: [ALL])", cname)
				}
				if _, ok := dig(c, "resources", "requests").(map[string]any); !ok {
					t.Errorf("%s: no resource requests", cname)
				}
				if kind == "Deployment" {
					ready, _ := dig(c, "readinessProbe", "httpGet", "path").(string)
					live, _ := dig(c, "livenessProbe", "httpGet", "path").(string)
					if ready != "/readyz" || live != "/healthz" {
						t.Errorf("%s: probes readiness %q, liveness %q; want /readyz and /healthz", cname, ready, live)
					}
				}
			}
			if name == "storefleet-tenantapp" && kind == "Deployment" {
				if r, _ := dig(obj, "spec", "replicas").(int); r != 3 {
					t.Errorf("%s: %d replicas, want 3", where, r)
				}
			}
		}
	}
	if workloads < 3 {
		t.Errorf("found %d workloads; want the control plane, the tenant app and the provisioner job", workloads)
	}
	for _, want := range []string{"Deployment/storefleet-tenantapp", "Deployment/storefleet-controlplane",
		"Service/storefleet-tenantapp", "Service/storefleet-controlplane",
		"PodDisruptionBudget/storefleet-tenantapp", "HorizontalPodAutoscaler/storefleet-tenantapp",
		"ConfigMap/storefleet", "Secret/storefleet-platform", "Secret/storefleet-tenantapp"} {
		if !kinds[want] {
			t.Errorf("deploy/k8s has no %s", want)
		}
	}
}

// stage is one FROM of a Dockerfile: the instructions before the first
// FROM (global ARGs) belong to the first stage's pre.
type stage struct {
	from      string
	pre, body []string
}

// dockerStages reads a Dockerfile into stages, joining continued lines and
// dropping comments.
func dockerStages(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var pre []string
	var cur strings.Builder
	flush := func() {
		in := strings.TrimSpace(cur.String())
		cur.Reset()
		if in == "" {
			return
		}
		if from, ok := strings.CutPrefix(in, "FROM "); ok {
			stages = append(stages, stage{from: from, pre: pre})
			return
		}
		if len(stages) == 0 {
			pre = append(pre, in)
			return
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// yamlDocs parses every document of a YAML file.
func yamlDocs(t *testing.T, path string) ([]*yaml.Node, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

// envNames are the variables a settings file sets or shows commented out.
func envNames(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#? ?([A-Z][A-Z0-9_]*)=`).FindAllSubmatch(b, -1) {
		names[string(m[1])] = true
	}
	return names
}

// goModVersion is the go directive of go.mod.
func goModVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go ([0-9.]+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// dig walks nested maps by key.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
