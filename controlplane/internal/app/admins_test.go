package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp/totp"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/controlplane/internal/console"
	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/mail/mailtest"
	"github.com/storefleet/storefleet/internal/platform"
)

var system = platform.Actor{Kind: "system", Name: "test"}

// addAdminAs adds an admin with a role.
func (c *cp) addAdminAs(email, password, role string) *platform.Admin {
	c.t.Helper()
	a := c.addAdmin(email, password)
	if _, err := c.Store.Pool().Exec(context.Background(), `UPDATE admins SET role = $2 WHERE id = $1`, a.ID, role); err != nil {
		c.t.Fatal(err)
	}
	a.Role = role
	return a
}

// loginAs signs a new browser in and fails the test if it does not work.
func (c *cp) loginAs(email, password string) *browser {
	c.t.Helper()
	b := c.browser()
	if p := b.login(email, password); p.Status != http.StatusSeeOther || p.Location == "/admin/login/code" {
		c.t.Fatalf("sign in as %s: %d → %s\n%.500s", email, p.Status, p.Location, p.Body)
	}
	return b
}

// maxAuditID is the newest audit row's id.
func (c *cp) maxAuditID() int64 {
	c.t.Helper()
	var id int64
	if err := c.Store.Pool().QueryRow(context.Background(), `SELECT COALESCE(max(id), 0) FROM audit_log`).Scan(&id); err != nil {
		c.t.Fatal(err)
	}
	return id
}

// digest fingerprints every control-plane table but the audit log, the
// session records (touched by every request) and the job tables, so a
// test can tell whether a request wrote anything.
func (c *cp) digest() map[string]string {
	c.t.Helper()
	ctx := context.Background()
	rows, err := c.Store.Pool().Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'
		AND tablename NOT IN ('audit_log', 'admin_sessions', 'goose_db_version') AND tablename NOT LIKE 'river%' ORDER BY 1`)
	if err != nil {
		c.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		tables = append(tables, s)
	}
	rows.Close()
	out := map[string]string{}
	for _, tb := range tables {
		var sum string
		// Columns that reading touches do not count.
		volatile := []string{"last_used_at", "last_seen_at"}
		if err := c.Store.Pool().QueryRow(ctx, `SELECT md5(COALESCE(string_agg((to_jsonb(x) - $1::text[])::text, '|'
			ORDER BY (to_jsonb(x) - $1::text[])::text), '')) FROM "`+tb+`" x`, volatile).Scan(&sum); err != nil {
			c.t.Fatal(err)
		}
		out[tb] = sum
	}
	return out
}

func changedTables(a, b map[string]string) []string {
	var out []string
	for k, v := range b {
		if a[k] != v {
			out = append(out, k)
		}
	}
	return out
}

var inviteLink = regexp.MustCompile(`https?://\S+(/admin/invite/[A-Za-z0-9_-]+)`)

// TestAdminInviteAndAccept: a super admin invites a support admin by
// e-mail; the link sets a name and password once.
func TestAdminInviteAndAccept(t *testing.T) {
	t.Parallel()
	c := start(t)
	b := c.browser()
	b.mustLogin()
	inbox := mailtest.New(t, c.Vars["STOREFLEET_MAILPIT_URL"])
	email := mailtest.UniqueAddress("sam", "example.com")

	p := b.submit("/admin/admins", "/admin/admins/invite", url.Values{"email": {"not an address"}, "role": {"support"}})
	wantStatus(t, "invite a bad address", p, http.StatusUnprocessableEntity)
	p = b.submit("/admin/admins", "/admin/admins/invite", url.Values{"email": {email}, "role": {"support"}})
	wantStatus(t, "invite", p, http.StatusSeeOther)
	wantContains(t, "admins page", b.get("/admin/admins").Body, email, "Open invitations")

	m := inbox.Wait(t, email, "invited")
	match := inviteLink.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no invitation link in the e-mail:\n%s", m.Text)
	}
	link := match[1]
	nb := c.browser()
	p = nb.get(link)
	wantStatus(t, "invitation page", p, http.StatusOK)
	wantContains(t, "invitation page", p.Body, email, "Support (read-only)")
	p = nb.submit(link, link, url.Values{"name": {"Sam"}, "password": {"short"}})
	wantStatus(t, "too short a password", p, http.StatusUnprocessableEntity)
	p = nb.submit(link, link, url.Values{"name": {"Sam Support"}, "password": {"a long enough password"}})
	wantStatus(t, "accept", p, http.StatusSeeOther)
	if p.Location != "/admin/login" {
		t.Errorf("after accepting: to %q", p.Location)
	}
	// The link works once.
	wantStatus(t, "used link", c.browser().get(link), http.StatusNotFound)
	p = c.browser().submit("/admin/login", link, url.Values{"name": {"Mallory"}, "password": {"another long password"}})
	wantStatus(t, "used link again", p, http.StatusNotFound)

	sam := c.loginAs(email, "a long enough password")
	a, err := c.Store.AdminByEmail(context.Background(), email)
	if err != nil || a.Role != platform.RoleSupport || a.Name != "Sam Support" {
		t.Fatalf("new admin %+v, %v", a, err)
	}
	page := sam.get("/admin/admins").Body
	if strings.Contains(page, `action="/admin/admins/invite"`) {
		t.Error("a support admin is shown the invitation form")
	}
	if len(c.audit("admin.invite")) != 1 || len(c.audit("admin.invite_accept")) != 1 {
		t.Errorf("audit: %d admin.invite, %d admin.invite_accept", len(c.audit("admin.invite")), len(c.audit("admin.invite_accept")))
	}
}

// publicRoutes are answered without signing in; the read-only rule is for
// signed-in admins.
var publicRoutes = map[string]bool{
	"/admin/login":          true,
	"/admin/login/code":     true,
	"/admin/invite/{token}": true,
}

var pathVar = regexp.MustCompile(`\{([a-z_]+)(:[^}]*)?\}`)

// TestSupportAdminCannotChangeAnything walks every route of the console
// and the API and sends each one that changes something as a support
// admin: 403 with the read-only message, and nothing written. The only
// exceptions are the admin's own account (console.SelfService).
func TestSupportAdminCannotChangeAnything(t *testing.T) {
	t.Parallel()
	c := start(t)
	routes, err := c.Main.RouteTable()
	if err != nil {
		t.Fatal(err)
	}
	v := c.CreateVendor(t, "walkro", "Walk RO")
	c.addAdminAs("sue@example.com", adminPassword, platform.RoleSupport)
	b := c.loginAs("sue@example.com", adminPassword)
	csrfTok := b.token("/admin/account")
	sue, _ := c.Store.AdminByEmail(context.Background(), "sue@example.com")
	secret, _, err := c.Store.CreateAPIToken(context.Background(), system, sue.ID, "support script")
	if err != nil {
		t.Fatal(err)
	}
	api := c.api(secret)
	// Reading works for support admins.
	wantStatus(t, "support reads vendors", api.do("GET", "/api/v1/vendors", nil), http.StatusOK)
	wantStatus(t, "support reads the dashboard", b.get("/admin/"), http.StatusOK)

	fill := func(path string) string {
		return pathVar.ReplaceAllStringFunc(path, func(m string) string {
			if strings.HasPrefix(m, "{slug") {
				return v.Slug
			}
			return "1"
		})
	}
	before := c.digest()
	lastAudit := c.maxAuditID()
	sent := 0
	for _, r := range routes {
		if r.Method == http.MethodGet {
			continue
		}
		key := r.Method + " " + r.Path
		if publicRoutes[r.Path] || console.SelfService[r.Path] {
			continue
		}
		var p page
		if strings.HasPrefix(r.Path, "/api/") {
			var body any
			if r.Method != http.MethodDelete {
				body = map[string]any{}
			}
			p = api.do(r.Method, fill(r.Path), body)
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "read-only") {
				t.Errorf("%s as support: %d, want 403 read-only\n%.300s", key, p.Status, p.Body)
			}
		} else {
			req, _ := http.NewRequest(r.Method, b.base+fill(r.Path), strings.NewReader(url.Values{"csrf_token": {csrfTok}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			p = b.do(req)
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "read-only") {
				t.Errorf("%s as support: %d, want 403 read-only\n%.300s", key, p.Status, p.Body)
			}
		}
		sent++
	}
	if sent < 30 {
		t.Fatalf("only %d changing routes walked: the route table is incomplete", sent)
	}
	if ch := changedTables(before, c.digest()); len(ch) > 0 {
		t.Errorf("a support admin's requests changed tables %v", ch)
	}
	if c.maxAuditID() != lastAudit {
		t.Errorf("a support admin's refused requests wrote audit rows")
	}
	t.Logf("%d changing routes refused", sent)

	// Their own account is theirs: a password change works.
	p := b.submit("/admin/account", "/admin/account/password", url.Values{"current_password": {adminPassword},
		"password": {"support's new password"}, "password_confirm": {"support's new password"}})
	wantStatus(t, "support changes their password", p, http.StatusSeeOther)
}

// asyncRoute starts background work: such routes run last and their
// background writes are not checked against the digest (their audit row
// is written when they start, and checked).
func asyncRoute(method, path string) bool {
	for _, s := range []string{"/backups", "/restore", "/move", "/verify", "/resume", "/delete"} {
		if strings.Contains(path, s) && method != http.MethodGet {
			return true
		}
	}
	return (method == http.MethodPost && (path == "/admin/vendors" || path == "/api/v1/vendors")) ||
		(method == http.MethodDelete && path == "/api/v1/vendors/{slug}")
}

// TestEveryChangingRouteIsAudited walks every route of the console and
// the API that is not a GET, as a super admin, with real objects in its
// path and a plausible form: a request that succeeded, or that wrote
// anything to the control-plane database, must have written an audit row.
// Routes added by others are walked too; those this test cannot make
// succeed must at least write nothing unaudited.
func TestEveryChangingRouteIsAudited(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	routes, err := c.Main.RouteTable()
	if err != nil {
		t.Fatal(err)
	}
	v := c.CreateVendor(t, "walka", "Walk A")
	v2 := c.CreateVendor(t, "walkb", "Walk B")
	bob := c.addAdminAs("bob@example.com", "bob's long password", platform.RoleSuperAdmin)
	_, tok, err := c.Store.CreateAPIToken(ctx, system, c.Admin.ID, "to revoke")
	if err != nil {
		t.Fatal(err)
	}
	if err := backup.Alert(ctx, c.Store, "warning", "test.alert", v.ID, "walk alert"); err != nil {
		t.Fatal(err)
	}
	var alertID int64
	_ = c.Store.Pool().QueryRow(ctx, `SELECT max(id) FROM platform_alerts`).Scan(&alertID)
	if err := platform.Notify(ctx, c.Store.Pool(), "test.notice", v.ID, "walk notice", ""); err != nil {
		t.Fatal(err)
	}
	inviteToken := "walk-invite-token-0123456789"
	sum := sha256.Sum256([]byte(inviteToken))
	var inviteID int64
	if err := c.Store.Pool().QueryRow(ctx, `INSERT INTO admin_invites (email, role, token_hash, expires_at) VALUES ('new@example.com', 'support', $1, now() + interval '1 day') RETURNING id`, sum[:]).Scan(&inviteID); err != nil {
		t.Fatal(err)
	}
	// A second invitation to revoke.
	sum2 := sha256.Sum256([]byte("another-invite-token"))
	var revokeInviteID int64
	if err := c.Store.Pool().QueryRow(ctx, `INSERT INTO admin_invites (email, role, token_hash, expires_at) VALUES ('old@example.com', 'support', $1, now() + interval '1 day') RETURNING id`, sum2[:]).Scan(&revokeInviteID); err != nil {
		t.Fatal(err)
	}
	other := c.loginAs(adminEmail, adminPassword) // a second session, to revoke
	other.get("/admin/")
	var otherSession int64
	_ = c.Store.Pool().QueryRow(ctx, `SELECT id FROM admin_sessions WHERE token_hash = $1`, admins.SessionKey(other.session())).Scan(&otherSession)

	b := c.loginAs(adminEmail, adminPassword)
	apiToken := c.newToken()
	api := c.api(apiToken)

	ids := map[string]string{ // path prefix → the {id} to use
		"/admin/admins/invites/":   itoa(revokeInviteID),
		"/admin/admins/":           itoa(bob.ID),
		"/admin/tokens/":           itoa(tok.ID),
		"/admin/alerts/":           itoa(alertID),
		"/api/v1/alerts/":          itoa(alertID),
		"/admin/account/sessions/": itoa(otherSession),
	}
	forms := map[string]url.Values{
		"POST /admin/login":                       {"email": {adminEmail}, "password": {adminPassword}},
		"POST /admin/invite/{token}":              {"name": {"New Admin"}, "password": {"new admin's password"}},
		"POST /admin/vendors":                     {"slug": {"walkc"}, "name": {"Walk C"}, "owner_email": {"owner@example.com"}},
		"POST /admin/vendors/{slug}/suspend":      {"reason": {"audit walk"}},
		"POST /admin/vendors/{slug}/delete":       {"confirm": {v2.Slug}, "confirm_slug": {v2.Slug}},
		"POST /admin/admins/invite":               {"email": {mailtest.UniqueAddress("walk", "example.com")}, "role": {"support"}},
		"POST /admin/admins/{id:[0-9]+}/role":     {"role": {"support"}},
		"POST /admin/account/password":            {"current_password": {adminPassword}, "password": {adminPassword}, "password_confirm": {adminPassword}},
		"POST /admin/account/totp/disable":        {"password": {adminPassword}},
		"POST /admin/account/recovery-codes":      {"password": {adminPassword}},
		"POST /admin/notifications/read":          {"all": {"1"}},
		"POST /admin/tokens":                      {"name": {"walk token"}},
		"POST /admin/vendors/{slug}/invite-owner": {"owner_email": {"owner@example.com"}},
	}
	bodies := map[string]any{
		"POST /api/v1/vendors":                         map[string]any{"slug": "walkd", "name": "Walk D", "owner_email": "owner@example.com"},
		"POST /api/v1/vendors/{slug}/suspend":          map[string]any{"reason": "audit walk"},
		"POST /api/v1/vendors/{slug}/owner-invitation": map[string]any{"email": "owner@example.com"},
	}
	fill := func(r app.Route) string {
		return pathVar.ReplaceAllStringFunc(r.Path, func(m string) string {
			switch {
			case strings.HasPrefix(m, "{slug"):
				if strings.HasSuffix(r.Path, "/delete") || r.Method == http.MethodDelete {
					return v2.Slug
				}
				return v.Slug
			case strings.HasPrefix(m, "{token"):
				return inviteToken
			}
			best := ""
			for prefix := range ids {
				if strings.HasPrefix(r.Path, prefix) && len(prefix) > len(best) {
					best = prefix
				}
			}
			if best == "" {
				return "1"
			}
			return ids[best]
		})
	}

	// Order: synchronous routes first, background ones after; signing out last.
	var syncRoutes, asyncRoutes, last []app.Route
	for _, r := range routes {
		switch {
		case r.Method == http.MethodGet:
		case r.Path == "/admin/logout":
			last = append(last, r)
		case asyncRoute(r.Method, r.Path):
			asyncRoutes = append(asyncRoutes, r)
		default:
			syncRoutes = append(syncRoutes, r)
		}
	}
	succeeded, walked := 0, 0
	var notExercised []string
	run := func(r app.Route, checkDigest bool) {
		key := r.Method + " " + r.Path
		before := c.digest()
		lastAudit := c.maxAuditID()
		var ok bool
		if strings.HasPrefix(r.Path, "/api/") {
			body := bodies[key]
			if body == nil && r.Method != http.MethodDelete {
				body = map[string]any{}
			}
			p := api.do(r.Method, fill(r), body)
			ok = p.Status >= 200 && p.Status < 300
		} else {
			form := url.Values{}
			for k, vs := range forms[key] {
				form[k] = vs
			}
			form.Set("csrf_token", b.token("/admin/account"))
			req, _ := http.NewRequest(r.Method, b.base+fill(r), strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			p := b.do(req)
			switch {
			case p.Status >= 200 && p.Status < 300:
				ok = true
			case p.Status == http.StatusSeeOther && !strings.HasPrefix(p.Location, "/"):
				ok = true // to another site (view as vendor)
			case p.Status == http.StatusSeeOther && !strings.HasPrefix(p.Location, "/admin/login"):
				next := b.get(p.Location)
				ok = next.Status == http.StatusOK && !strings.Contains(next.Body, `class="flash error"`)
			case p.Status == http.StatusSeeOther && (r.Path == "/admin/login" || r.Path == "/admin/logout" || r.Path == "/admin/invite/{token}"):
				ok = true // these end on the sign-in page
			}
		}
		walked++
		audited := c.maxAuditID() > lastAudit
		if ok && !audited && !checkDigest {
			// Background work may write its row when it ends.
			for deadline := time.Now().Add(30 * time.Second); !audited && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
				audited = c.maxAuditID() > lastAudit
			}
		}
		if ok {
			succeeded++
			if !audited {
				t.Errorf("%s succeeded and wrote no audit row", key)
			}
		} else {
			notExercised = append(notExercised, key)
		}
		if checkDigest && !audited {
			if ch := changedTables(before, c.digest()); len(ch) > 0 {
				t.Errorf("%s changed %v and wrote no audit row", key, ch)
			}
		}
	}
	for _, r := range syncRoutes {
		run(r, true)
	}
	for _, r := range asyncRoutes {
		run(r, false)
	}
	for _, r := range last {
		run(r, true)
	}
	t.Logf("%d changing routes walked, %d succeeded; not made to succeed here (each checked to write nothing unaudited): %v",
		walked, succeeded, notExercised)
	if succeeded < 20 {
		t.Errorf("only %d routes succeeded: the walk does not exercise the routes", succeeded)
	}
	// Background work started by the walk ends before the test's cleanup.
	time.Sleep(500 * time.Millisecond)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTOTP: enrolment with a code, sign-in asks for the code after the
// password, a code is good once, a wrong one is refused, a recovery code
// works once.
func TestTOTP(t *testing.T) {
	t.Parallel()
	c := start(t)
	b := c.loginAs(adminEmail, adminPassword)
	p := b.submit("/admin/account", "/admin/account/totp/setup", nil)
	wantStatus(t, "setup", p, http.StatusOK)
	wantContains(t, "setup page", p.Body, `src="data:image/png;base64,`, "totp-secret")
	secret := between(p.Body, `<span class="mono totp-secret">`, `<`)
	if len(secret) < 16 {
		t.Fatalf("no secret shown: %q", secret)
	}
	var sealed []byte
	_ = c.Store.Pool().QueryRow(context.Background(), `SELECT totp_secret_enc FROM admins WHERE id = $1`, c.Admin.ID).Scan(&sealed)
	if len(sealed) == 0 || strings.Contains(string(sealed), secret) {
		t.Fatal("the TOTP secret is not stored sealed")
	}
	p = b.submit("/admin/account", "/admin/account/totp/confirm", url.Values{"code": {"000000"}})
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("confirm with a wrong code: %d", p.Status)
	}
	now := time.Now()
	code, _ := totp.GenerateCode(secret, now)
	p = b.submit("/admin/account", "/admin/account/totp/confirm", url.Values{"code": {code}})
	wantStatus(t, "confirm", p, http.StatusOK)
	codes := strings.Fields(between(p.Body, `<pre class="mono recovery-codes">`, `</pre>`))
	if len(codes) != admins.RecoveryCodes {
		t.Fatalf("%d recovery codes shown", len(codes))
	}

	// Sign-in now asks for the code after the password.
	nb := c.browser()
	p = nb.login(adminEmail, adminPassword)
	if p.Status != http.StatusSeeOther || p.Location != "/admin/login/code" {
		t.Fatalf("sign in with TOTP on: %d → %s", p.Status, p.Location)
	}
	if p := nb.get("/admin/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/admin/login") {
		t.Fatalf("signed in before the code: %d → %s", p.Status, p.Location)
	}
	// The code used to confirm is spent.
	p = nb.submit("/admin/login/code", "/admin/login/code", url.Values{"code": {code}})
	wantStatus(t, "reused code", p, http.StatusUnauthorized)
	wantContains(t, "reused code", p.Body, "used already")
	// A wrong code.
	wrong := "123456"
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		if c, _ := totp.GenerateCode(secret, now.Add(d)); c == wrong {
			wrong = "654321"
		}
	}
	p = nb.submit("/admin/login/code", "/admin/login/code", url.Values{"code": {wrong}})
	wantStatus(t, "wrong code", p, http.StatusUnauthorized)
	wantContains(t, "wrong code", p.Body, "not right")
	// The next time step's code works (one step of drift is allowed), once.
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	p = nb.submit("/admin/login/code", "/admin/login/code", url.Values{"code": {next}})
	wantStatus(t, "right code", p, http.StatusSeeOther)
	wantStatus(t, "signed in", nb.get("/admin/"), http.StatusOK)
	nb2 := c.browser()
	nb2.login(adminEmail, adminPassword)
	p = nb2.submit("/admin/login/code", "/admin/login/code", url.Values{"code": {next}})
	wantStatus(t, "the same code again", p, http.StatusUnauthorized)

	// A recovery code works once.
	p = nb2.submit("/admin/login/code", "/admin/login/code", url.Values{"code": {strings.ToUpper(codes[0])}})
	wantStatus(t, "recovery code", p, http.StatusSeeOther)
	wantStatus(t, "signed in with a recovery code", nb2.get("/admin/"), http.StatusOK)
	nb3 := c.browser()
	nb3.login(adminEmail, adminPassword)
	p = nb3.submit("/admin/login/code", "/admin/login/code", url.Values{"code": {codes[0]}})
	wantStatus(t, "spent recovery code", p, http.StatusUnauthorized)
	if n := len(c.audit("admin.login_failed")); n < 4 {
		t.Errorf("%d admin.login_failed rows, want the 4 refused codes", n)
	}
	for _, a := range []string{"admin.totp_setup", "admin.totp_enable"} {
		if len(c.audit(a)) != 1 {
			t.Errorf("no %s audit row", a)
		}
	}

	// Signing in again with the password buys no more guesses: after ten
	// wrong codes in a quarter of an hour, whatever the session, the code
	// step is closed for the account, even for the right code.
	for i := 0; len(c.audit("admin.login_failed")) < 10 && i < 20; i++ {
		nb4 := c.browser()
		nb4.login(adminEmail, adminPassword)
		nb4.submit("/admin/login/code", "/admin/login/code", url.Values{"code": {wrong}})
	}
	nb5 := c.browser()
	nb5.login(adminEmail, adminPassword)
	right, _ := totp.GenerateCode(secret, time.Now().Add(60*time.Second))
	p = nb5.submit("/admin/login/code", "/admin/login/code", url.Values{"code": {right}})
	wantStatus(t, "code step after ten wrong codes", p, http.StatusTooManyRequests)
	wantContains(t, "code step after ten wrong codes", p.Body, "Too many wrong codes for this account")
}

var sessionRevoke = regexp.MustCompile(`/admin/account/sessions/(\d+)/revoke`)

// TestAdminSessionsListedAndRevoked: an admin's sessions are listed with
// their device; revoking one deletes it from Redis and its next request
// is sent to sign in.
func TestAdminSessionsListedAndRevoked(t *testing.T) {
	t.Parallel()
	c := start(t)
	a := c.loginAs(adminEmail, adminPassword)
	other := c.browser()
	req, _ := http.NewRequest(http.MethodGet, other.base+"/admin/login", nil)
	req.Header.Set("User-Agent", "OtherDevice/1.0")
	other.do(req)
	form := url.Values{"email": {adminEmail}, "password": {adminPassword}, "csrf_token": {other.token("/admin/login")}}
	req, _ = http.NewRequest(http.MethodPost, other.base+"/admin/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "OtherDevice/1.0")
	if p := other.do(req); p.Status != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", p.Status)
	}
	wantStatus(t, "other session works", other.get("/admin/"), http.StatusOK)

	page := a.get("/admin/account")
	wantContains(t, "sessions", page.Body, "OtherDevice/1.0", "this session")
	m := sessionRevoke.FindAllStringSubmatch(page.Body, -1)
	if len(m) != 1 {
		t.Fatalf("%d revocable sessions listed, want 1", len(m))
	}
	key := admins.SessionKey(other.session())
	if n, _ := c.Main.Redis.Exists(context.Background(), "sf:cp:session:"+key).Result(); n != 1 {
		t.Fatalf("the other session is not in Redis under its hashed key")
	}
	p := a.submit("/admin/account", m[0][0], nil)
	wantStatus(t, "revoke", p, http.StatusSeeOther)
	if n, _ := c.Main.Redis.Exists(context.Background(), "sf:cp:session:"+key).Result(); n != 0 {
		t.Error("the revoked session is still in Redis")
	}
	p = other.get("/admin/vendors")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/admin/login") {
		t.Errorf("revoked session's next request: %d → %s", p.Status, p.Location)
	}
	wantStatus(t, "the revoking session goes on", a.get("/admin/"), http.StatusOK)
	if len(c.audit("admin.session_revoke")) != 1 {
		t.Error("no admin.session_revoke audit row")
	}
}

// TestAuditViewerFiltersAndCSV: filters by admin, action, vendor and
// time; the CSV export escapes cells a spreadsheet would run.
func TestAuditViewerFiltersAndCSV(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	v := c.CreateVendor(t, "auditv", "Audit V")
	eve := c.addAdminAs("eve@example.com", adminPassword, platform.RoleSuperAdmin)
	write := func(a *platform.Admin, action, targetType, targetID string, after any, ago time.Duration, addr string) {
		err := c.Store.Transact(ctx, func(tx pgx.Tx) error {
			if err := platform.Audit(ctx, tx, platform.Actor{Kind: "admin", AdminID: a.ID, Name: a.Email, ClientAddr: addr}, platform.AuditEntry{
				Action: action, TargetType: targetType, TargetID: targetID, After: after}); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE audit_log SET at = now() - $1::interval WHERE id = (SELECT max(id) FROM audit_log)`, ago.String())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	write(eve, "test.alpha", "vendor", itoa(v.ID), nil, 48*time.Hour, "10.0.0.1")
	write(eve, "test.beta", "setting", "=HYPERLINK(\"http://evil\")", map[string]any{"x": 1}, time.Hour, "@SUM(1+1)")
	write(c.Admin, "test.gamma", "alert", "7", map[string]any{"vendor": v.Slug}, time.Minute, "+1")
	write(c.Admin, "test.delta", "admin", "-2+3", nil, time.Minute, "\tcmd")

	b := c.loginAs(adminEmail, adminPassword)
	has := func(q string, want, not []string) {
		t.Helper()
		p := b.get("/admin/audit?" + q)
		wantStatus(t, q, p, http.StatusOK)
		for _, s := range want {
			if !strings.Contains(p.Body, s) {
				t.Errorf("audit?%s: %s missing", q, s)
			}
		}
		for _, s := range not {
			if strings.Contains(p.Body, ">"+s+"<") {
				t.Errorf("audit?%s: %s shown", q, s)
			}
		}
	}
	has("admin="+itoa(eve.ID), []string{"test.alpha", "test.beta"}, []string{"test.gamma", "test.delta"})
	has("action=test.gamma", []string{"test.gamma"}, []string{"test.alpha", "test.beta", "test.delta"})
	has("action=test.", []string{"test.alpha", "test.beta", "test.gamma", "test.delta"}, nil)
	has("vendor=auditv&action=test.", []string{"test.alpha", "test.gamma"}, []string{"test.beta", "test.delta"})
	from := time.Now().UTC().Add(-3 * time.Hour).Format("2006-01-02T15:04")
	has("action=test.&from="+url.QueryEscape(from), []string{"test.beta", "test.gamma", "test.delta"}, []string{"test.alpha"})
	to := time.Now().UTC().Add(-24 * time.Hour).Format("2006-01-02T15:04")
	has("action=test.&to="+url.QueryEscape(to), []string{"test.alpha"}, []string{"test.beta", "test.gamma", "test.delta"})
	wantStatus(t, "bad date", b.get("/admin/audit?from=yesterday"), http.StatusUnprocessableEntity)
	wantStatus(t, "unknown vendor", b.get("/admin/audit?vendor=nope"), http.StatusUnprocessableEntity)

	p := b.get("/admin/audit.csv?action=test.")
	wantStatus(t, "csv", p, http.StatusOK)
	if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/csv") || !strings.Contains(p.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("csv headers %v", p.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 {
		t.Fatalf("%d csv lines, want a header and 4", len(recs))
	}
	for _, rec := range recs {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("unescaped cell %q", cell)
			}
		}
	}
	for _, want := range []string{`'=HYPERLINK("http://evil")`, "'@SUM(1+1)", "'+1", "'-2+3", "'\tcmd"} {
		if !strings.Contains(p.Body, want) && !strings.Contains(p.Body, strings.ReplaceAll(want, `"`, `""`)) {
			t.Errorf("csv lacks escaped %q", want)
		}
	}
	for in, want := range map[string]string{"=1+2": "'=1+2", "+x": "'+x", "-x": "'-x", "@x": "'@x", "\tx": "'\tx", "\rx": "'\rx", "x=1": "x=1", "": ""} {
		if got := console.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAuditRetentionJob: the nightly job deletes entries older than the
// setting, and only those.
func TestAuditRetentionJob(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	if err := c.Store.SetSetting(ctx, system, "audit.retention_days", "abc"); err == nil {
		t.Error("a non-number retention was accepted")
	}
	if err := c.Store.SetSetting(ctx, system, "audit.retention_days", "30"); err != nil {
		t.Fatal(err)
	}
	for _, days := range []int{40, 31, 29, 1} {
		err := c.Store.Transact(ctx, func(tx pgx.Tx) error {
			if err := platform.Audit(ctx, tx, system, platform.AuditEntry{Action: "test.age", TargetID: itoa(int64(days))}); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE audit_log SET at = now() - make_interval(days => $1) WHERE id = (SELECT max(id) FROM audit_log)`, days)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := jobs.Start(ctx, envPlatform(c.Env), logging.New(io.Discard, "text", "error"), jobs.Options{NoSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background()) //nolint:errcheck
	if _, err := r.Enqueue(ctx, jobs.AuditRetentionArgs{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(c.audit("audit.prune")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the retention job did not run")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var left []string
	for _, row := range c.audit("test.age") {
		left = append(left, row.TargetID)
	}
	if strings.Join(left, ",") != "1,29" {
		t.Errorf("entries left %v, want those 1 and 29 days old", left)
	}
	if len(c.audit("setting.set")) == 0 {
		t.Error("recent entries of other actions were deleted")
	}
}

// TestNotificationsAndCriticalAlertMail: a new vendor notifies every
// admin (unread count in the nav, marked read on the page); a critical
// alert is e-mailed to every super admin once, through the job system.
func TestNotificationsAndCriticalAlertMail(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	b := c.loginAs(adminEmail, adminPassword)
	v := c.CreateVendor(t, "noticed", "Noticed Shop")
	page := b.get("/admin/").Body
	if !strings.Contains(page, `href="/admin/notifications"`) || !strings.Contains(page, "1<span class=\"visually-hidden\"> unread") {
		t.Errorf("no unread badge in the nav")
	}
	p := b.get("/admin/notifications")
	wantContains(t, "notifications", p.Body, "New vendor Noticed Shop (noticed)", "Mark read")
	p = b.submit("/admin/notifications", "/admin/notifications/read", url.Values{"all": {"1"}})
	wantStatus(t, "mark all read", p, http.StatusSeeOther)
	if n, _ := c.Store.UnreadNotices(ctx, c.Admin.ID); n != 0 {
		t.Errorf("%d unread after marking all read", n)
	}
	// A failed backup notifies too.
	c.Store.NotifyFailure(ctx, platform.NoticeBackupFailed, v.ID, "Backup 1 of noticed failed: disk full", "")
	if n, _ := c.Store.UnreadNotices(ctx, c.Admin.ID); n != 1 {
		t.Errorf("%d unread after a failure, want 1", n)
	}

	inbox := mailtest.New(t, c.Vars["STOREFLEET_MAILPIT_URL"])
	su1 := c.addAdminAs(mailtest.UniqueAddress("su1", "example.com"), adminPassword, platform.RoleSuperAdmin)
	su2 := c.addAdminAs(mailtest.UniqueAddress("su2", "example.com"), adminPassword, platform.RoleSuperAdmin)
	sup := c.addAdminAs(mailtest.UniqueAddress("sup", "example.com"), adminPassword, platform.RoleSupport)
	if err := backup.Alert(ctx, c.Store, "critical", "backup.failed", v.ID, "Backup 9 of noticed failed: disk full"); err != nil {
		t.Fatal(err)
	}
	if err := backup.Alert(ctx, c.Store, "warning", "reconcile.failed", 0, "a warning is not e-mailed"); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.Start(ctx, envPlatform(c.Env), logging.New(io.Discard, "text", "error"), jobs.Options{NoSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background()) //nolint:errcheck
	if _, err := r.Enqueue(ctx, jobs.AlertMailSweepArgs{}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*platform.Admin{su1, su2} {
		m := inbox.Wait(t, a.Email, "Critical alert")
		wantContains(t, "alert mail", m.Text, "Backup 9 of noticed failed: disk full", "noticed", "/admin/backups#alert-")
	}
	// Once per alert: another sweep sends nothing more.
	if _, err := r.Enqueue(ctx, jobs.AlertMailSweepArgs{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	for _, a := range []*platform.Admin{su1, su2} {
		if n := inbox.Count(t, a.Email); n != 1 {
			t.Errorf("%s got %d e-mails, want 1", a.Email, n)
		}
	}
	if n := inbox.Count(t, sup.Email); n != 0 {
		t.Errorf("a support admin got %d alert e-mails", n)
	}
}
