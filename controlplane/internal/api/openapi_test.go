package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// TestOpenAPICoversRoutes checks that every route on the API router is in
// openapi.json and that the document describes no route that does not
// exist.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Servers []struct{ URL string }                `json:"servers"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Fatalf("servers = %+v, want one with url /api/v1", doc.Servers)
	}
	documented := map[string]bool{}
	for p, item := range doc.Paths {
		for m := range item {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				documented[strings.ToUpper(m)+" "+p] = true
			}
		}
	}

	root := mux.NewRouter()
	New(Options{}).Routes(root.PathPrefix("/api/v1").Subrouter())
	routed := map[string]bool{}
	varPattern := regexp.MustCompile(`\{([^}:]+):[^}]*\}`)
	err := root.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a subrouter, not an endpoint
		}
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		p := varPattern.ReplaceAllString(strings.TrimPrefix(tmpl, "/api/v1"), "{$1}")
		for _, m := range methods {
			routed[m+" "+p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routed) == 0 {
		t.Fatal("no routes found on the API router")
	}
	for _, r := range sorted(routed) {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range sorted(documented) {
		if !routed[d] {
			t.Errorf("openapi.json describes %s, which is not routed", d)
		}
	}
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIServed(t *testing.T) {
	root := mux.NewRouter()
	New(Options{}).Routes(root.PathPrefix("/api/v1").Subrouter())
	rec := httptest.NewRecorder()
	root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), "application/json") || !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("GET /api/v1/openapi.json: status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}
