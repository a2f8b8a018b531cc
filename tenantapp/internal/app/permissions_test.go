package app_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/tenantapp/internal/backoffice"
)

// openRoutes check no permission on purpose: the sign-in pages (anyone),
// and what every signed-in member may do for themselves (sign out, their
// own API tokens). Every other route of the back office and the vendor
// API must name the permission it needs.
var openRoutes = map[string]bool{
	"* /admin":                                  true, // redirect to /admin/
	"GET /admin/login":                          true,
	"POST /admin/login":                         true,
	"GET /admin/invite/{token}":                 true,
	"POST /admin/invite/{token}":                true,
	"GET /admin/password/forgot":                true,
	"POST /admin/password/forgot":               true,
	"GET /admin/password/reset/{token}":         true,
	"POST /admin/password/reset/{token}":        true,
	"POST /admin/logout":                        true,
	"POST /admin/logout-everywhere":             true,
	"GET /admin/api-tokens":                     true,
	"POST /admin/api-tokens":                    true,
	"POST /admin/api-tokens/{id:[0-9]+}/revoke": true,
	"GET /api/v1/vendor/openapi.json":           true,
	"GET /admin/impersonate":                    true, // a platform admin's signed view-as ticket (backoffice/viewas.go)
}

var pathVar = regexp.MustCompile(`\{[^/]*\}`)

// TestEveryRoutePermissionMatrix sends every route of the back office and
// of the vendor API, as each built-in role and a role with no
// permissions, and checks the answer against the role's permissions as
// the shop's database defines them: 403 naming the permission for a role
// without it, anything but 403 (or being sent to sign in) for a role with
// it. A route that checks no permission fails the test unless it is one
// of the open routes above.
func TestEveryRoutePermissionMatrix(t *testing.T) {
	t.Parallel()
	routes, err := backoffice.New(backoffice.Options{}).RouteTable()
	if err != nil {
		t.Fatal(err)
	}
	open := maps.Clone(openRoutes)
	var checked []backoffice.Route
	for _, r := range routes {
		key := r.Method + " " + r.Path
		switch {
		case r.Perm != "":
			checked = append(checked, r)
		case !open[key]:
			t.Errorf("%s checks no permission: wrap it in h.can, or add it to openRoutes if every member may use it", key)
		}
		delete(open, key)
	}
	for key := range open {
		t.Errorf("open route %s does not exist any more: remove it from openRoutes", key)
	}
	if len(checked) < 40 {
		t.Fatalf("only %d routes with a permission: the route table is incomplete", len(checked))
	}

	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "matrix", "Matrix Shop")
	pool := s.e.VendorPool(t, v)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO staff_roles (name, permissions) VALUES ('Nothing', '{}')`); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	for _, role := range []string{"Owner", "Manager", "Catalog editor", "Order clerk", "Nothing"} {
		t.Run(role, func(t *testing.T) {
			var perms []string
			if err := pool.QueryRow(ctx, `SELECT permissions FROM staff_roles WHERE name = $1`, role).Scan(&perms); err != nil {
				t.Fatal(err)
			}
			holds := map[string]bool{}
			for _, p := range perms {
				holds[p] = true
			}
			b := owner
			if role != "Owner" {
				b, _ = catalogMember(t, s, v, role)
			}
			token := makeToken(t, b, "matrix "+role)
			b.do("GET", "/admin/api-tokens", nil) // a fresh form token
			for _, r := range checked {
				path := pathVar.ReplaceAllString(r.Path, "999999")
				var code int
				var body string
				var loc string
				if strings.HasPrefix(path, "/api/") {
					code, body = apiRequest(t, s, v.Slug+".localhost", token, r.Method, path)
				} else {
					var form url.Values
					if r.Method != http.MethodGet {
						form = url.Values{}
					}
					var h http.Header
					code, body, h = b.do(r.Method, path, form)
					loc = h.Get("Location")
				}
				attempts++
				switch {
				case code == 303 && strings.HasSuffix(loc, "/admin/login"):
					t.Errorf("%s %s: sent to sign in", r.Method, r.Path)
				case holds[r.Perm] && (code == 403 || code >= 500):
					t.Errorf("%s %s: %d for %s, who holds %s: %.200s", r.Method, r.Path, code, role, r.Perm, body)
				case !holds[r.Perm] && (code != 403 || !strings.Contains(body, r.Perm)):
					t.Errorf("%s %s: %d for %s, who lacks %s", r.Method, r.Path, code, role, r.Perm)
				}
			}
		})
	}
	t.Logf("%d routes with a permission, %d requests", len(checked), attempts)
}

// apiRequest sends one vendor API request with a token and an empty JSON
// body for methods that take one.
func apiRequest(t *testing.T, s *shopEnv, host, token, method, path string) (int, string) {
	t.Helper()
	var body io.Reader
	if method != http.MethodGet && method != http.MethodDelete {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, s.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}
