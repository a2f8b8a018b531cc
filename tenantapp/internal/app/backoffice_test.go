package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/staff"
)

// browser is a client for one shop host that keeps the staff cookie
// itself, so a test can carry it to another host on purpose.
type browser struct {
	t      *testing.T
	s      *shopEnv
	host   string
	base   string // "" or "/vendor/<slug>"
	cookie string
	csrf   string
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) do(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		if _, ok := form["csrf_token"]; !ok {
			form.Set("csrf_token", b.csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.s.srv.URL+b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Host = b.host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "sf_staff", Value: b.cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name == "sf_staff" {
			b.cookie = c.Value
		}
	}
	if m := csrfField.FindSubmatch(raw); m != nil {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, string(raw), resp.Header
}

// invite makes an invitation for the vendor's owner and accepts it.
func acceptOwnerInvite(t *testing.T, s *shopEnv, v *platform.Vendor, b *browser, password string) {
	t.Helper()
	pool := s.e.VendorPool(t, v)
	owner, err := staff.ByEmail(context.Background(), pool, v.OwnerEmail)
	if err != nil {
		t.Fatal(err)
	}
	token, err := staff.NewToken(context.Background(), pool, owner.ID, staff.PurposeInvite, staff.InviteTTL)
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := b.do("GET", "/admin/invite/"+token, nil); code != 200 || !strings.Contains(body, "Choose a password") {
		t.Fatalf("invitation page: %d %s", code, body)
	}
	if code, body, _ := b.do("POST", "/admin/invite/"+token, url.Values{"name": {"Olive Owner"}, "password": {"short"}, "password_again": {"short"}}); code != 422 || !strings.Contains(body, "10 to 256") {
		t.Fatalf("weak password: %d %s", code, body)
	}
	if code, _, _ := b.do("POST", "/admin/invite/"+token, url.Values{"name": {"Olive Owner"}, "password": {password}, "password_again": {password}}); code != 303 {
		t.Fatalf("accept invitation: %d", code)
	}
	if code, body, _ := b.do("GET", "/admin/invite/"+token, nil); code != 410 || !strings.Contains(body, "not valid any more") {
		t.Fatalf("a used invitation: %d", code)
	}
}

func (b *browser) login(email, password string) int {
	b.t.Helper()
	b.do("GET", "/admin/login", nil)
	code, _, _ := b.do("POST", "/admin/login", url.Values{"email": {email}, "password": {password}})
	return code
}

func TestStaffSignInAndSessions(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a := s.e.CreateVendor(t, "acme", "Acme Tools")
	bv := s.e.CreateVendor(t, "bravo", "Bravo Books")
	alice := &browser{t: t, s: s, host: "acme.localhost"}
	acceptOwnerInvite(t, s, a, alice, "correct horse battery")
	bob := &browser{t: t, s: s, host: "bravo.localhost"}
	acceptOwnerInvite(t, s, bv, bob, "another good password")

	// Signed out: the back office sends you to the sign-in page.
	if code, _, h := alice.do("GET", "/admin/", nil); code != 303 || h.Get("Location") != "/admin/login" {
		t.Fatalf("signed out: %d %s", code, h.Get("Location"))
	}
	if code := alice.login(a.OwnerEmail, "wrong password!!"); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	before := alice.cookie
	if code := alice.login(a.OwnerEmail, "correct horse battery"); code != 303 {
		t.Fatalf("sign in: %d", code)
	}
	if alice.cookie == before {
		t.Error("the session token was not renewed at sign-in")
	}
	code, body, _ := alice.do("GET", "/admin/", nil)
	if code != 200 || !strings.Contains(body, "Acme Tools") || !strings.Contains(body, "Olive Owner") {
		t.Fatalf("dashboard: %d %s", code, body)
	}
	// Alice's session carried to Bravo's host: anonymous there, although
	// Bravo's owner has the same staff id.
	stolen := &browser{t: t, s: s, host: "bravo.localhost", cookie: alice.cookie}
	if code, _, h := stolen.do("GET", "/admin/", nil); code != 303 || h.Get("Location") != "/admin/login" {
		t.Fatalf("A's session on B's host: %d %s", code, h.Get("Location"))
	}
	// Also on the shared host's path-based shops.
	viaPath := &browser{t: t, s: s, host: "localhost", base: "/vendor/bravo", cookie: alice.cookie}
	if code, _, _ := viaPath.do("GET", "/admin/", nil); code != 303 {
		t.Fatalf("A's session on /vendor/bravo/: %d", code)
	}
	// Forms need the session's token.
	if code, _, _ := alice.do("POST", "/admin/logout", url.Values{"csrf_token": {"forged"}}); code != 403 {
		t.Fatalf("logout with a forged token: %d", code)
	}
	// Sign out everywhere ends the other sessions too.
	other := &browser{t: t, s: s, host: "acme.localhost"}
	if code := other.login(a.OwnerEmail, "correct horse battery"); code != 303 {
		t.Fatal("second sign-in")
	}
	alice.do("GET", "/admin/", nil)
	if code, _, _ := alice.do("POST", "/admin/logout-everywhere", url.Values{}); code != 303 {
		t.Fatalf("logout everywhere: %d", code)
	}
	if code, _, _ := other.do("GET", "/admin/", nil); code != 303 {
		t.Fatalf("the other session survived 'sign out everywhere': %d", code)
	}
	// The vendor's audit log has it all.
	var actions []string
	rows, err := s.e.VendorPool(t, a).Query(context.Background(), `SELECT action FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var act string
		_ = rows.Scan(&act)
		actions = append(actions, act)
	}
	if got := strings.Join(actions, " "); got != "staff.invitation_accepted staff.login staff.login staff.logout_everywhere" {
		t.Errorf("audit log: %s", got)
	}
}

func TestSignInThrottling(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a := s.e.CreateVendor(t, "acme", "Acme Tools")
	b := &browser{t: t, s: s, host: "acme.localhost"}
	acceptOwnerInvite(t, s, a, b, "correct horse battery")
	for i := range 5 {
		if code := b.login(a.OwnerEmail, "guess number one"); code != 401 {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	b.do("GET", "/admin/login", nil)
	code, body, h := b.do("POST", "/admin/login", url.Values{"email": {a.OwnerEmail}, "password": {"correct horse battery"}})
	if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-in attempts") {
		t.Fatalf("after 5 failures: %d %s", code, h.Get("Retry-After"))
	}
	// Another shop's staff are not affected by this shop's counters.
	bv := s.e.CreateVendor(t, "bravo", "Bravo Books")
	bb := &browser{t: t, s: s, host: "bravo.localhost"}
	acceptOwnerInvite(t, s, bv, bb, "another good password")
	if code := bb.login(bv.OwnerEmail, "another good password"); code != 303 {
		t.Fatalf("bravo's owner was throttled by acme's failures: %d", code)
	}
}

func TestBackOfficeWaitsForItsSchemaWhileTheShopServes(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	s.e.CreateVendor(t, "acme", "Acme Tools")
	if _, err := s.e.CP.Exec(context.Background(), `UPDATE vendor_databases SET schema_version = 4
		WHERE vendor_id = (SELECT id FROM vendors WHERE slug = 'acme')`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { code, _ := s.get(t, "acme.localhost", "/admin/login"); return code == 503 })
	if _, body := s.get(t, "acme.localhost", "/admin/login"); !strings.Contains(body, "being upgraded") {
		t.Errorf("maintenance page: %s", body)
	}
	if code, _ := s.get(t, "acme.localhost", "/"); code != 200 {
		t.Errorf("the storefront must keep serving: %d", code)
	}
}
