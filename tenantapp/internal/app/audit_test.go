package app_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/platform"
)

// addStaff adds an active member with a role and returns their id.
func addStaff(t *testing.T, s *shopEnv, v *platform.Vendor, email, role, password string) int64 {
	t.Helper()
	hash, err := auth.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = s.e.VendorPool(t, v).QueryRow(context.Background(), `INSERT INTO staff (email, name, password_hash, role_id, status)
		VALUES ($1, $2, $3, (SELECT id FROM staff_roles WHERE name = $4), 'active') RETURNING id`, email, role+" member", hash, role).Scan(&id)
	if err != nil {
		t.Fatalf("add %s as %s: %v", email, role, err)
	}
	return id
}

func TestAuditLogViewer(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a, alice := signedInOwner(t, s, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, a)
	ctx := context.Background()
	clerk := addStaff(t, s, a, "clerk@acme.example", "Order clerk", "clerk password 1")
	var owner int64
	_ = pool.QueryRow(ctx, `SELECT id FROM staff WHERE is_owner`).Scan(&owner)
	// 120 entries by the owner last week, three by the clerk on one day in
	// 2024, and one whose cells a spreadsheet would run as formulas.
	_, err := pool.Exec(ctx, `INSERT INTO audit_log (at, staff_id, actor, action, target_type, target_id)
		SELECT now() - interval '7 days' + g * interval '1 minute', $1, 'staff:owner@acme.example', 'test.bulk', 'thing', g::text
		FROM generate_series(1, 120) g`, owner)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO audit_log (at, staff_id, actor, action, target_type, target_id) VALUES
		('2024-01-15 09:00Z', $1, 'staff:clerk@acme.example', 'media.uploaded', 'media', '1'),
		('2024-01-15 23:59Z', $1, 'staff:clerk@acme.example', 'media.deleted', 'media', '1'),
		('2024-01-16 00:01Z', $1, 'staff:clerk@acme.example', 'orders.refunded', 'order', '7')`, clerk)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO audit_log (staff_id, actor, action, target_type, target_id, client_addr, after) VALUES
		($1, '=HYPERLINK("http://evil.example","click")', 'evil.thing', '+1+1', '-2', '@SUM(A1)', '{"note": "=1+2"}')`, clerk)
	if err != nil {
		t.Fatal(err)
	}
	rowsOf := func(body, action string) int { return strings.Count(body, `class="mono">`+action+`<`) }

	// Everything, 50 at a time, newest first.
	code, body, _ := alice.do("GET", "/admin/audit", nil)
	if code != 200 || !strings.Contains(body, "evil.thing") || rowsOf(body, "test.bulk") != 46 {
		t.Fatalf("first page: %d, %d bulk rows\n%s", code, rowsOf(body, "test.bulk"), body)
	}
	older := regexp.MustCompile(`href="([^"]+)">Older`).FindStringSubmatch(body)
	if older == nil || strings.Contains(body, "Newer") {
		t.Fatalf("pager on the first page:\n%s", body)
	}
	_, body, _ = alice.do("GET", strings.ReplaceAll(older[1], "&amp;", "&"), nil)
	if rowsOf(body, "test.bulk") != 50 || !strings.Contains(body, "Newer") {
		t.Fatalf("second page: %d bulk rows", rowsOf(body, "test.bulk"))
	}
	// Filters: staff member, action (exact or a prefix), dates.
	_, body, _ = alice.do("GET", fmt.Sprintf("/admin/audit?staff=%d", clerk), nil)
	if rowsOf(body, "media.uploaded") != 1 || rowsOf(body, "orders.refunded") != 1 || rowsOf(body, "test.bulk") != 0 || rowsOf(body, "staff.login") != 0 {
		t.Fatalf("staff filter:\n%s", body)
	}
	_, body, _ = alice.do("GET", "/admin/audit?action=media.", nil)
	if rowsOf(body, "media.uploaded") != 1 || rowsOf(body, "media.deleted") != 1 || rowsOf(body, "orders.refunded") != 0 || rowsOf(body, "test.bulk") != 0 {
		t.Fatalf("action prefix filter:\n%s", body)
	}
	_, body, _ = alice.do("GET", "/admin/audit?action=test.bulk", nil)
	if rowsOf(body, "test.bulk") != 50 || rowsOf(body, "evil.thing") != 0 {
		t.Fatalf("action filter: %d", rowsOf(body, "test.bulk"))
	}
	_, body, _ = alice.do("GET", "/admin/audit?from=2024-01-15&to=2024-01-15", nil)
	if rowsOf(body, "media.uploaded") != 1 || rowsOf(body, "media.deleted") != 1 || rowsOf(body, "orders.refunded") != 0 || rowsOf(body, "test.bulk") != 0 {
		t.Fatalf("date filter:\n%s", body)
	}
	code, body, _ = alice.do("GET", "/admin/audit?from=15/01/2024&to=2024-01-01", nil)
	if code != 422 || !strings.Contains(fieldError(body, "from"), "YYYY-MM-DD") {
		t.Fatalf("bad date: %d %q", code, fieldError(body, "from"))
	}
	code, body, _ = alice.do("GET", "/admin/audit?from=2024-02-01&to=2024-01-01", nil)
	if code != 422 || !strings.Contains(fieldError(body, "to"), "before the start date") {
		t.Fatalf("dates the wrong way round: %d %q", code, fieldError(body, "to"))
	}

	// CSV export, filtered, with formula cells escaped.
	code, body, h := alice.do("GET", "/admin/audit.csv?action=evil.thing", nil)
	if code != 200 || h.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("export: %d %v", code, h)
	}
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(records) != 2 {
		t.Fatalf("export: %v %q", err, body)
	}
	head, rec := records[0], records[1]
	cell := func(name string) string {
		for i, h := range head {
			if h == name {
				return rec[i]
			}
		}
		t.Fatalf("no column %s in %v", name, head)
		return ""
	}
	for col, want := range map[string]string{
		"actor": `'=HYPERLINK("http://evil.example","click")`, "target_type": "'+1+1", "target_id": "'-2",
		"client_addr": "'@SUM(A1)", "action": "evil.thing", "after": `{"note": "=1+2"}`,
	} {
		if got := cell(col); got != want {
			t.Errorf("CSV %s = %q, want %q", col, got, want)
		}
	}
	_, body, _ = alice.do("GET", fmt.Sprintf("/admin/audit.csv?staff=%d", clerk), nil)
	if records, _ := csv.NewReader(strings.NewReader(body)).ReadAll(); len(records) != 5 {
		t.Errorf("export filtered by staff: %d lines", len(records))
	}
	if n := countRows(t, s, a, `SELECT count(*) FROM audit_log WHERE action = 'audit.exported'`); n != 2 {
		t.Errorf("exports audited: %d", n)
	}

	// The dashboard shows recent activity: everyone's to the owner, only
	// their own to the clerk.
	_, body, _ = alice.do("GET", "/admin/", nil)
	if !strings.Contains(body, "Recent activity") || !strings.Contains(body, "audit.exported") || !strings.Contains(body, "Last 7 days · 0 orders") {
		t.Errorf("owner's dashboard:\n%s", body)
	}
	cb := &browser{t: t, s: s, host: "acme.localhost"}
	if code := cb.login("clerk@acme.example", "clerk password 1"); code != 303 {
		t.Fatalf("clerk signs in: %d", code)
	}
	_, body, _ = cb.do("GET", "/admin/", nil)
	if !strings.Contains(body, "(yours)") || strings.Contains(body, "audit.exported") || !strings.Contains(body, "staff.login") {
		t.Errorf("clerk's dashboard:\n%s", body)
	}
}

// shopRoutesForMatrix are the back office routes of the shop area (media,
// settings, audit log, dashboard) and the permission each needs.
// {media} stands for an image of the shop.
var shopRoutesForMatrix = []struct{ method, path, perm string }{
	{"GET", "/admin/", "dashboard.read"},
	{"GET", "/admin/media", "media.read"},
	{"POST", "/admin/media", "media.write"},
	{"GET", "/admin/media/{media}", "media.read"},
	{"POST", "/admin/media/{media}", "media.write"},
	{"POST", "/admin/media/{media}/delete", "media.write"},
	{"GET", "/admin/settings", "settings.write"},
	{"POST", "/admin/settings", "settings.write"},
	{"GET", "/admin/audit", "audit.read"},
	{"GET", "/admin/audit.csv", "audit.read"},
}

func TestShopRoutesPermissionMatrix(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a, owner := signedInOwner(t, s, "acme", "Acme Tools")
	if _, err := s.e.VendorPool(t, a).Exec(context.Background(), `INSERT INTO staff_roles (name, permissions) VALUES ('Nothing', '{}')`); err != nil {
		t.Fatal(err)
	}
	all := []string{"dashboard.read", "media.read", "media.write", "settings.write", "audit.read"}
	roles := []struct {
		role  string
		perms []string // of the permissions above
	}{
		{"Owner", all},
		{"Manager", all},
		{"Catalog editor", []string{"dashboard.read", "media.read", "media.write"}},
		{"Order clerk", []string{"dashboard.read"}},
		{"Nothing", nil},
	}
	for _, r := range roles {
		t.Run(r.role, func(t *testing.T) {
			b := owner
			if r.role != "Owner" {
				email := strings.ReplaceAll(strings.ToLower(r.role), " ", "-") + "@acme.example"
				addStaff(t, s, a, email, r.role, "a good long password")
				b = &browser{t: t, s: s, host: "acme.localhost"}
				if code := b.login(email, "a good long password"); code != 303 {
					t.Fatalf("sign in: %d", code)
				}
			}
			// An image for the {media} routes, new for each role (an
			// allowed role deletes it).
			code, _, h := uploadImage(owner, "matrix.png", testPNG(t, 8, 8))
			if code != 303 {
				t.Fatalf("upload: %d", code)
			}
			mediaID := h.Get("Location")[strings.LastIndex(h.Get("Location"), "/")+1:]
			b.do("GET", "/admin/login", nil) // a form token
			for _, route := range shopRoutesForMatrix {
				allowed := false
				for _, p := range r.perms {
					allowed = allowed || p == route.perm
				}
				var form url.Values
				if route.method == "POST" {
					form = url.Values{}
				}
				code, body, h := b.do(route.method, strings.ReplaceAll(route.path, "{media}", mediaID), form)
				switch {
				case code == 303 && strings.HasSuffix(h.Get("Location"), "/admin/login"):
					t.Errorf("%s %s: sent to sign in", route.method, route.path)
				case allowed && code == 403:
					t.Errorf("%s %s: 403 for a role with %s: %s", route.method, route.path, route.perm, body)
				case !allowed && (code != 403 || !strings.Contains(body, route.perm)):
					t.Errorf("%s %s: %d for a role without %s", route.method, route.path, code, route.perm)
				}
			}
		})
	}
}
