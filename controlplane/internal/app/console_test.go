package app_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/platform"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	c := start(t)
	disabled := c.addAdmin("grace@example.com", "another long password")
	if _, err := c.CP.Exec(context.Background(), `UPDATE admins SET disabled_at = now() WHERE id = $1`, disabled.ID); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, email, password, reason string
	}{
		{"wrong password", adminEmail, "not the password", "wrong password"},
		{"unknown e-mail", "nobody@example.com", adminPassword, "unknown e-mail"},
		{"disabled admin", "grace@example.com", "another long password", "account disabled"},
		{"empty", "", "", "unknown e-mail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := c.browser()
			p := b.login(tc.email, tc.password)
			wantStatus(t, "sign in", p, http.StatusUnauthorized)
			wantContains(t, "failed sign-in", p.Body, "Wrong e-mail or password.", `name="email" value="`+tc.email+`"`)
			if strings.Contains(p.Body, tc.password) && tc.password != "" {
				t.Error("the page repeats the password")
			}
			wantStatus(t, "dashboard after a failed sign-in", b.get("/admin/"), http.StatusSeeOther)
		})
	}
	failed := c.audit("admin.login_failed")
	if len(failed) != 4 {
		t.Fatalf("%d admin.login_failed audit rows, want 4", len(failed))
	}
	for _, row := range failed {
		if row.Actor != "anonymous" || row.ClientAddr != "127.0.0.1" || row.RequestID == "" {
			t.Errorf("failed sign-in audited as actor %q from %q (request %q)", row.Actor, row.ClientAddr, row.RequestID)
		}
	}
	if !strings.Contains(string(failed[1].After), "account disabled") {
		t.Errorf("disabled admin's failed sign-in recorded as %s", failed[1].After)
	}

	t.Run("success renews the session", func(t *testing.T) {
		b := c.browser()
		b.token("/admin/login")
		before := b.session()
		if before == "" {
			t.Fatal("the sign-in page set no session cookie")
		}
		p := b.login(adminEmail, adminPassword)
		wantStatus(t, "sign in", p, http.StatusSeeOther)
		if p.Location != "/admin/" {
			t.Errorf("sign in redirects to %q, want /admin/", p.Location)
		}
		after := b.session()
		if after == "" || after == before {
			t.Errorf("session cookie %q → %q: not renewed at sign-in", before, after)
		}
		d := b.get("/admin/")
		wantStatus(t, "dashboard", d, http.StatusOK)
		wantContains(t, "dashboard", d.Body, "Dashboard", adminEmail, "Log out")
		rows := c.audit("admin.login")
		if len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail || rows[0].TargetID != strconv.FormatInt(c.Admin.ID, 10) {
			t.Errorf("admin.login audit rows = %+v", rows)
		}

		// Sign out: a new session without the admin.
		out := b.submit("/admin/", "/admin/logout", nil)
		wantStatus(t, "log out", out, http.StatusSeeOther)
		if b.session() == after {
			t.Error("session cookie not renewed at sign-out")
		}
		wantStatus(t, "dashboard after sign-out", b.get("/admin/"), http.StatusSeeOther)
		wantContains(t, "sign-in page after sign-out", b.get("/admin/login").Body, "You have signed out.")
		if len(c.audit("admin.logout")) != 1 {
			t.Error("sign-out not audited")
		}
	})

	t.Run("next", func(t *testing.T) {
		b := c.browser()
		p := b.get("/admin/vendors?state=active")
		wantStatus(t, "vendor list signed out", p, http.StatusSeeOther)
		u, _ := url.Parse(p.Location)
		next := u.Query().Get("next")
		if u.Path != "/admin/login" || next != "/admin/vendors?state=active" {
			t.Fatalf("redirect to %q", p.Location)
		}
		form := url.Values{"email": {adminEmail}, "password": {adminPassword}, "next": {next}}
		wantStatus(t, "sign in", b.submit("/admin/login?next="+url.QueryEscape(next), "/admin/login", form), http.StatusSeeOther)

		b2 := c.browser()
		form.Set("next", "//evil.example/")
		if p := b2.submit("/admin/login", "/admin/login", form); p.Location != "/admin/" {
			t.Errorf("next=//evil.example/ redirects to %q, want /admin/", p.Location)
		}
	})

	t.Run("disabled while signed in", func(t *testing.T) {
		b := c.browser()
		other := c.addAdmin("hopper@example.com", "yet another password")
		if p := b.login("hopper@example.com", "yet another password"); p.Status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.Status)
		}
		wantStatus(t, "dashboard", b.get("/admin/"), http.StatusOK)
		if _, err := c.CP.Exec(context.Background(), `UPDATE admins SET disabled_at = now() WHERE id = $1`, other.ID); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "dashboard once disabled", b.get("/admin/"), http.StatusSeeOther)
	})
}

func TestPagesRequireLogin(t *testing.T) {
	t.Parallel()
	c := start(t)
	v := c.CreateVendor(t, "locked", "Locked shop")
	b := c.browser()
	for _, path := range []string{"/admin/", "/admin/vendors", "/admin/vendors/new", "/admin/vendors/" + v.Slug,
		"/admin/vendors/id/" + strconv.FormatInt(v.ID, 10), "/admin/audit", "/admin/tokens",
		"/admin/migrations", "/admin/migrations/1", "/admin/migrations/1/progress",
		"/admin/backups", "/admin/vendors/" + v.Slug + "/operation"} {
		p := b.get(path)
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/admin/login") {
			t.Errorf("GET %s signed out: %d to %q, want 303 to /admin/login", path, p.Status, p.Location)
		}
	}
	// A form post with a valid token but no admin is sent to sign in too.
	p := b.submit("/admin/login", "/admin/vendors/"+v.Slug+"/suspend", url.Values{"reason": {"x"}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/admin/login") {
		t.Errorf("POST suspend signed out: %d to %q", p.Status, p.Location)
	}
	if got, _ := c.Store.VendorBySlug(context.Background(), v.Slug); got.State != platform.StateActive {
		t.Errorf("vendor is %s after a signed-out suspend", got.State)
	}
	if p := b.submit("/admin/login", "/admin/migrations/1/resume", nil); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/admin/login") {
		t.Errorf("POST resume signed out: %d to %q", p.Status, p.Location)
	}

	// Around the console.
	wantStatus(t, "login page", b.get("/admin/login"), http.StatusOK)
	if p := b.get("/"); p.Status != http.StatusFound || p.Location != "/admin/" {
		t.Errorf("GET / = %d to %q, want 302 to /admin/", p.Status, p.Location)
	}
	if p := b.get("/admin"); p.Location != "/admin/" {
		t.Errorf("GET /admin redirects to %q", p.Location)
	}
	nf := b.get("/no/such/page")
	wantStatus(t, "unknown page", nf, http.StatusNotFound)
	wantContains(t, "404 page", nf.Body, "There is no page at this address.")
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	c := start(t)
	b := c.browser()
	b.mustLogin()
	good := b.token("/admin/vendors/new")
	form := url.Values{"slug": {"forged"}, "name": {"Forged"}, "owner_email": {"o@forged.example"}}

	p := b.post("/admin/vendors", form)
	wantStatus(t, "create without a token", p, http.StatusForbidden)
	wantContains(t, "403 page", p.Body, "This form has expired")

	form.Set("csrf_token", "not-the-token")
	wantStatus(t, "create with a wrong token", b.post("/admin/vendors", form), http.StatusForbidden)

	form.Set("csrf_token", good)
	wantStatus(t, "cross-site create", b.post("/admin/vendors", form, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	wantStatus(t, "create from another origin", b.post("/admin/vendors", form, "Origin", "http://evil.example"), http.StatusForbidden)

	// Another browser's token is no good either.
	other := c.browser()
	other.mustLogin()
	form.Set("csrf_token", other.token("/admin/"))
	wantStatus(t, "create with another session's token", b.post("/admin/vendors", form), http.StatusForbidden)

	if _, err := c.Store.VendorBySlug(context.Background(), "forged"); err == nil {
		t.Fatal("a forged form created a vendor")
	}
	if n := len(c.audit("vendor.create")); n != 0 {
		t.Errorf("%d vendor.create audit rows after forged forms", n)
	}
	wantStatus(t, "logout without a token", b.post("/admin/logout", url.Values{}), http.StatusForbidden)
	wantStatus(t, "still signed in", b.get("/admin/"), http.StatusOK)
}

func TestConsoleVendorLifecycle(t *testing.T) {
	t.Parallel()
	c := start(t)
	b := c.browser()
	b.mustLogin()
	ctx := context.Background()

	empty := b.get("/admin/vendors")
	wantStatus(t, "empty vendor list", empty, http.StatusOK)
	wantContains(t, "empty vendor list", empty.Body, "No vendors yet.")

	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			form  url.Values
			field string
			msg   string
		}{
			{"short slug", url.Values{"slug": {"ab"}, "name": {"Shop"}, "owner_email": {"o@x.example"}}, "slug", "Must be 3 to 40 characters long"},
			{"reserved slug", url.Values{"slug": {"admin"}, "name": {"Shop"}, "owner_email": {"o@x.example"}}, "slug", `"admin" is reserved for the platform`},
			{"no name", url.Values{"slug": {"noname"}, "name": {""}, "owner_email": {"o@x.example"}}, "name", "Is required"},
			{"bad e-mail", url.Values{"slug": {"bademail"}, "name": {"Shop"}, "owner_email": {"nope"}}, "owner_email", "Must be an e-mail address"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := b.submit("/admin/vendors/new", "/admin/vendors", tc.form)
				wantStatus(t, "create", p, http.StatusUnprocessableEntity)
				body := html.UnescapeString(p.Body)
				wantContains(t, "form again", body, `<p class="field-error" id="`+tc.field+`-error">`+tc.msg,
					`value="`+tc.form.Get("name")+`"`)
			})
		}
		vs, err := c.Store.ListVendors(ctx, platform.VendorFilter{IncludeDeleted: true})
		if err != nil || len(vs) != 0 {
			t.Fatalf("after invalid forms: %d vendors (%v), want none", len(vs), err)
		}
	})

	form := url.Values{"slug": {"acme"}, "name": {"Acme Anvils"}, "owner_email": {"wile@acme.example"}}
	p := b.submit("/admin/vendors/new", "/admin/vendors", form)
	wantStatus(t, "create", p, http.StatusSeeOther)
	if p.Location != "/admin/vendors/acme" {
		t.Fatalf("create redirects to %q", p.Location)
	}
	v, err := c.Store.VendorBySlug(ctx, "acme")
	if err != nil || v.State != platform.StateActive {
		t.Fatalf("vendor after create: %+v, %v; want active", v, err)
	}
	rows := c.audit("vendor.create")
	if len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail || rows[0].ClientAddr != "127.0.0.1" || rows[0].RequestID == "" ||
		rows[0].TargetID != strconv.FormatInt(v.ID, 10) {
		t.Fatalf("vendor.create audit rows = %+v", rows)
	}

	show := b.get("/admin/vendors/acme")
	wantStatus(t, "vendor page", show, http.StatusOK)
	wantContains(t, "vendor page", show.Body, "Vendor acme is live at acme.localhost.", "Acme Anvils",
		`<span class="badge active">Active</span>`, v.DBName, v.Bucket, v.ServerName, "http://acme.localhost:8080/",
		"vendor.create", "routable at acme.localhost", "Suspend vendor", "Delete vendor")
	if strings.Contains(b.get("/admin/vendors/acme").Body, "is live at") {
		t.Error("the flash message shows twice")
	}

	list := b.get("/admin/vendors")
	wantContains(t, "vendor list", list.Body, `href="/admin/vendors/acme"`, "Acme Anvils", "http://acme.localhost:8080/")
	wantContains(t, "search", b.get("/admin/vendors?q=anvil").Body, "Acme Anvils")
	wantContains(t, "search miss", b.get("/admin/vendors?q=zzz").Body, "No vendors match.")
	wantContains(t, "state filter", b.get("/admin/vendors?state=suspended").Body, "No vendors match.")
	wantContains(t, "dashboard", b.get("/admin/").Body, "vendor.create", "Acme Anvils")
	wantContains(t, "audit log", b.get("/admin/audit?action=vendor.create").Body, "admin:"+adminEmail, "127.0.0.1")

	dup := b.submit("/admin/vendors/new", "/admin/vendors", form)
	wantStatus(t, "duplicate slug", dup, http.StatusConflict)
	wantContains(t, "duplicate slug", dup.Body, `id="slug-error">That slug is already taken`)

	// Suspend needs a reason.
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/suspend", url.Values{"reason": {" "}})
	wantStatus(t, "suspend without a reason", p, http.StatusUnprocessableEntity)
	wantContains(t, "suspend without a reason", p.Body, `id="reason-error"`)
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/suspend", url.Values{"reason": {"unpaid invoices"}})
	wantStatus(t, "suspend", p, http.StatusSeeOther)
	if v, _ := c.Store.VendorBySlug(ctx, "acme"); v.State != platform.StateSuspended || v.SuspendReason != "unpaid invoices" {
		t.Fatalf("after suspend: %s (%q)", v.State, v.SuspendReason)
	}
	show = b.get("/admin/vendors/acme")
	wantContains(t, "suspended vendor", show.Body, "is suspended", "unpaid invoices", "Resume vendor")

	// Suspending twice is refused with a message, not an error page.
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/suspend", url.Values{"reason": {"again"}})
	wantStatus(t, "suspend a suspended vendor", p, http.StatusSeeOther)
	wantContains(t, "after a refused suspend", b.get("/admin/vendors/acme").Body, "cannot suspend it")

	wantStatus(t, "resume", b.submit("/admin/vendors/acme", "/admin/vendors/acme/resume", nil), http.StatusSeeOther)
	if v, _ := c.Store.VendorBySlug(ctx, "acme"); v.State != platform.StateActive {
		t.Fatalf("after resume: %s", v.State)
	}
	for _, action := range []string{"vendor.suspend", "vendor.resume"} {
		if rows := c.audit(action); len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail {
			t.Errorf("%s audit rows = %+v", action, rows)
		}
	}

	// Delete needs the slug typed, also with "now".
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/delete", url.Values{"confirm": {"acm"}, "now": {"true"}})
	wantStatus(t, "delete with a wrong confirmation", p, http.StatusUnprocessableEntity)
	wantContains(t, "delete with a wrong confirmation", p.Body, `id="confirm-error"`)
	if v, _ := c.Store.VendorBySlug(ctx, "acme"); v.State != platform.StateActive {
		t.Fatalf("after a refused delete: %s", v.State)
	}
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/delete", url.Values{"confirm": {"acme"}})
	wantStatus(t, "delete", p, http.StatusSeeOther)
	if v, _ := c.Store.VendorBySlug(ctx, "acme"); v.State != platform.StateDeleting || v.DeleteAfter == nil {
		t.Fatalf("after delete: %s", v.State)
	}
	wantContains(t, "deleting vendor", b.get("/admin/vendors/acme").Body, "will be deleted on", `badge deleting`)

	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/delete", url.Values{"confirm": {"acme"}, "now": {"true"}})
	wantStatus(t, "delete now", p, http.StatusSeeOther)
	if p.Location != "/admin/vendors" {
		t.Errorf("delete now redirects to %q", p.Location)
	}
	d, err := c.Store.VendorByID(ctx, v.ID)
	if err != nil || d.State != platform.StateDeleted {
		t.Fatalf("after delete now: %+v, %v", d, err)
	}
	if ok, err := c.Objects.BucketExists(ctx, v.Bucket); err != nil || ok {
		t.Errorf("bucket %s still exists (%v)", v.Bucket, err)
	}
	wantContains(t, "list after delete", b.get("/admin/vendors").Body, "is deleted", "No vendors yet.")
	wantStatus(t, "deleted vendor by slug", b.get("/admin/vendors/acme"), http.StatusNotFound)
	byID := b.get("/admin/vendors/id/" + strconv.FormatInt(v.ID, 10))
	wantStatus(t, "deleted vendor by id", byID, http.StatusOK)
	wantContains(t, "deleted vendor by id", byID.Body, "badge deleted", "database, role and bucket removed")
	wantContains(t, "deleted filter", b.get("/admin/vendors?state=deleted").Body, "/admin/vendors/id/"+strconv.FormatInt(v.ID, 10))
}

func TestConsoleTokens(t *testing.T) {
	t.Parallel()
	c := start(t)
	b := c.browser()
	b.mustLogin()

	p := b.submit("/admin/tokens", "/admin/tokens", url.Values{"name": {""}})
	wantStatus(t, "token without a name", p, http.StatusUnprocessableEntity)
	wantContains(t, "token without a name", p.Body, `id="name-error"`)

	p = b.submit("/admin/tokens", "/admin/tokens", url.Values{"name": {"deploy script"}})
	wantStatus(t, "create token", p, http.StatusCreated)
	secret := between(p.Body, `class="mono" value="`, `"`)
	if !strings.HasPrefix(secret, "sfadm_") {
		t.Fatalf("no token shown on the page:\n%s", p.Body)
	}
	list := b.get("/admin/tokens")
	wantContains(t, "token list", list.Body, "deploy script", "badge active")
	if strings.Contains(list.Body, secret) {
		t.Error("the token is shown again")
	}

	api := c.api(secret)
	wantStatus(t, "API with the new token", api.do(http.MethodGet, "/api/v1/vendors", nil), http.StatusOK)

	toks, err := c.Store.APITokens(context.Background(), c.Admin.ID)
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens: %v, %v", toks, err)
	}
	revoke := "/admin/tokens/" + strconv.FormatInt(toks[0].ID, 10) + "/revoke"
	wantStatus(t, "revoke", b.submit("/admin/tokens", revoke, nil), http.StatusSeeOther)
	wantContains(t, "after revoke", b.get("/admin/tokens").Body, "badge deleted", "revoked")
	wantStatus(t, "API with a revoked token", api.do(http.MethodGet, "/api/v1/vendors", nil), http.StatusUnauthorized)
	wantStatus(t, "revoke twice", b.submit("/admin/tokens", revoke, nil), http.StatusSeeOther)
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}
