package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

// cpExec runs a statement on the control plane as its owner.
func cpExec(t *testing.T, s *shopEnv, sql string, args ...any) {
	t.Helper()
	if _, err := s.e.CP.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// waitStatus fetches host/path until it answers want (routing changes
// arrive by NOTIFY), or fails after a few seconds.
func waitStatus(t *testing.T, s *shopEnv, host, path string, want int) (string, map[string][]string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body, h := s.getNoRedirect(t, host, path)
		if code == want {
			return body, h
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%s: %d, want %d\n%.500s", host, path, code, want, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDomainsRouteOnlyWhenVerified(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "dom-route", "Route Shop")
	other := s.e.CreateVendor(t, "dom-other", "Other Shop")
	cpExec(t, s, `SELECT domain_add($1, 'route-shop.example', 'www.route-shop.example', 'test')`, v.ID)
	cpExec(t, s, `SELECT domain_add($1, 'pending-shop.example', '', 'test')`, v.ID)

	// Added but not verified: no shop there, nothing of the vendor shown.
	for _, h := range []string{"route-shop.example", "www.route-shop.example", "pending-shop.example"} {
		body, _ := waitStatus(t, s, h, "/", 404)
		if strings.Contains(body, "Route Shop") {
			t.Errorf("%s names the vendor before it is verified", h)
		}
	}
	code, body, _ := s.getNoRedirect(t, "dom-route.localhost", "/")
	if code != 200 || !strings.Contains(body, "Route Shop") {
		t.Fatalf("the platform subdomain: %d", code)
	}

	// Verified (the apex record verifies the pair): the apex serves the
	// shop, www redirects to it, keeping the path and query; the address
	// is built from the control plane's host and the public URL.
	cpExec(t, s, `UPDATE domains SET verified_at = now() WHERE verify_name = 'route-shop.example'`)
	body, _ = waitStatus(t, s, "route-shop.example", "/", 200)
	if !strings.Contains(body, "Route Shop") || strings.Contains(body, "Other Shop") {
		t.Fatalf("the verified domain does not serve the vendor's shop:\n%.500s", body)
	}
	_, h := waitStatus(t, s, "www.route-shop.example", "/search?q=tools", 301)
	want := strings.ReplaceAll(s.e.Cfg.TenantPublicURL, "{host}", "route-shop.example")
	if loc := h["Location"]; len(loc) != 1 || loc[0] != strings.TrimSuffix(want, "/")+"/search?q=tools" {
		t.Fatalf("www redirects to %v, want %s/search?q=tools", h["Location"], want)
	}
	if code, _, _ := s.getNoRedirect(t, "pending-shop.example", "/"); code != 404 {
		t.Fatalf("the unverified domain answers %d", code)
	}

	// The vendor chooses www: now the apex redirects to it.
	cpExec(t, s, `SELECT domain_make_primary($1, 'www.route-shop.example')`, v.ID)
	_, h = waitStatus(t, s, "route-shop.example", "/", 301)
	if loc := h["Location"]; len(loc) != 1 || !strings.Contains(loc[0], "//www.route-shop.example") {
		t.Fatalf("the apex redirects to %v", h["Location"])
	}
	waitStatus(t, s, "www.route-shop.example", "/", 200)

	// Removed: it stops routing at once; the other vendor never answered there.
	cpExec(t, s, `SELECT domain_remove($1, 'www.route-shop.example')`, v.ID)
	waitStatus(t, s, "www.route-shop.example", "/", 404)
	if other.ID == v.ID {
		t.Fatal("one vendor")
	}
}

func TestDomainsBackOfficePage(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := signedInOwner(t, s, "dom-bo", "Back Office Domains")
	_, rival := signedInOwner(t, s, "dom-rival", "Rival")

	code, body, _ := owner.do("GET", "/admin/domains", nil)
	if code != 200 || !strings.Contains(body, "dom-bo.localhost") || !strings.Contains(body, "Add your own domain") {
		t.Fatalf("domains page: %d\n%.800s", code, body)
	}
	if !strings.Contains(body, `<a href="/admin/domains">Domains</a>`) {
		t.Error("Domains is not in the back office's navigation")
	}

	// Refused names come back next to the field.
	for _, bad := range []string{"evil.localhost", "shop.example:8443", "192.0.2.7", "co.uk"} {
		code, body, _ = owner.do("POST", "/admin/domains", url.Values{"host": {bad}})
		if code != 422 || !strings.Contains(body, `id="host-error"`) {
			t.Fatalf("add %s: %d", bad, code)
		}
	}

	code, _, _ = owner.do("POST", "/admin/domains", url.Values{"host": {"WWW.Bo-Shop.Example"}, "www": {"1"}})
	if code != 303 {
		t.Fatalf("add a domain: %d", code)
	}
	_, body, _ = owner.do("GET", "/admin/domains", nil)
	for _, want := range []string{"www.bo-shop.example", "bo-shop.example", "_storefleet-verify.bo-shop.example", "storefleet-verify=", "waiting for DNS", "sends visitors on to www.bo-shop.example"} {
		if !strings.Contains(body, want) {
			t.Errorf("domains page after adding: %q missing", want)
		}
	}
	var n int
	if err := s.e.VendorPool(t, v).QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'domain.added'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the shop's audit log has %d domain.added rows (%v)", n, err)
	}

	// Another shop cannot add it, and is not told whose it is.
	code, body, _ = rival.do("POST", "/admin/domains", url.Values{"host": {"bo-shop.example"}})
	if code != 422 || !strings.Contains(body, "already in use by another shop") || strings.Contains(body, "Back Office Domains") {
		t.Fatalf("rival adds the domain: %d %s", code, body)
	}
	// Nor act on it by name.
	for _, action := range []string{"verify", "primary", "remove"} {
		code, _, _ = rival.do("POST", "/admin/domains/bo-shop.example/"+action, url.Values{})
		if code != 303 {
			t.Fatalf("rival %s: %d", action, code)
		}
		_, body, _ = rival.do("GET", "/admin/domains", nil)
		if !strings.Contains(body, "This shop has no domain bo-shop.example") {
			t.Errorf("rival %s: no refusal shown", action)
		}
	}

	// Ask to verify: marked for the job system.
	if code, _, _ := owner.do("POST", "/admin/domains/bo-shop.example/verify", url.Values{}); code != 303 {
		t.Fatalf("ask to verify: %d", code)
	}
	var requested bool
	if err := s.e.CP.QueryRow(context.Background(),
		`SELECT check_requested_at IS NOT NULL FROM domains WHERE host = 'bo-shop.example'`).Scan(&requested); err != nil || !requested {
		t.Fatalf("the check was not requested: %v", err)
	}
	// Not verified: cannot be primary.
	owner.do("POST", "/admin/domains/www.bo-shop.example/primary", url.Values{})
	if _, body, _ = owner.do("GET", "/admin/domains", nil); !strings.Contains(body, "not verified yet") {
		t.Error("making an unverified domain primary is not refused")
	}
	if code, _, _ := owner.do("POST", "/admin/domains/bo-shop.example/remove", url.Values{}); code != 303 {
		t.Fatalf("remove: %d", code)
	}
	if err := s.e.CP.QueryRow(context.Background(), `SELECT count(*) FROM domains WHERE vendor_id = $1`, v.ID).Scan(&n); err != nil || n != 2 {
		t.Fatalf("after removing the apex, %d domains (%v)", n, err)
	}
}
