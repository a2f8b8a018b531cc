package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv"
)

// startDomains is a control plane whose TXT lookups go to an in-process
// resolver the test publishes records in.
func startDomains(t *testing.T, askLimit int) (*cp, *domains.MemoryResolver) {
	t.Helper()
	res := domains.NewMemoryResolver()
	c := startWith(t, func(_ *testenv.Env, m *app.Main) {
		m.DomainResolver = res
		m.TLSAskLimit = askLimit
	})
	return c, res
}

// domainState reads one domain's verification columns.
func domainState(t *testing.T, c *cp, host string) (verified, gaveUp bool, token, verifyName string) {
	t.Helper()
	err := c.Store.Pool().QueryRow(context.Background(), `
		SELECT verified_at IS NOT NULL, gave_up_at IS NOT NULL, verify_token, verify_name FROM domains WHERE host = $1`, host).
		Scan(&verified, &gaveUp, &token, &verifyName)
	if err != nil {
		t.Fatalf("read domain %s: %v", host, err)
	}
	return
}

// publish puts a domain's verification record into the resolver.
func publish(t *testing.T, c *cp, res *domains.MemoryResolver, host string) {
	t.Helper()
	_, _, token, name := domainState(t, c, host)
	res.SetTXT(domains.TXTPrefix+name, "v=spf1 -all", domains.TXTValue(token))
}

func TestDomainsTLSAsk(t *testing.T) {
	t.Parallel()
	c, res := startDomains(t, 0)
	ctx := context.Background()
	admin := platform.Actor{Kind: "system", Name: "test"}
	acme := c.CreateVendor(t, "ask-acme", "Acme")
	shut := c.CreateVendor(t, "ask-shut", "Shut")
	svc := domains.New(domains.Options{Store: c.Store, Resolver: res, BaseDomain: c.Cfg.BaseDomain})

	for _, h := range []string{"acme-shop.example", "acme-pending.example"} {
		if _, err := svc.Add(ctx, admin, acme, h, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Add(ctx, admin, shut, "shut-shop.example", false); err != nil {
		t.Fatal(err)
	}
	publish(t, c, res, "acme-shop.example")
	publish(t, c, res, "shut-shop.example")
	if r, err := svc.CheckDue(ctx, admin); err != nil || r.Verified != 2 {
		t.Fatalf("CheckDue: %+v, %v", r, err)
	}
	if _, err := c.Prov.Suspend(ctx, admin, shut.Slug, "test"); err != nil {
		t.Fatal(err)
	}

	b := c.browser()
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"verified custom domain", "domain=acme-shop.example", 200},
		{"verified, spelled with upper case and a dot", "domain=ACME-shop.example.", 200},
		{"platform subdomain", "domain=" + acme.Host, 200},
		{"unverified domain", "domain=acme-pending.example", 404},
		{"unknown domain", "domain=nobody.example", 404},
		{"suspended vendor's verified domain", "domain=shut-shop.example", 404},
		{"suspended vendor's subdomain", "domain=" + shut.Host, 404},
		{"malformed: empty", "domain=", 404},
		{"malformed: no parameter", "", 404},
		{"malformed: two parameters", "domain=acme-shop.example&domain=acme-shop.example", 404},
		{"malformed: IP address", "domain=127.0.0.1", 404},
		{"malformed: port", "domain=acme-shop.example:443", 404},
		{"malformed: SQL", "domain=" + url.QueryEscape("x' OR '1'='1"), 404},
		{"malformed: too long", "domain=" + strings.Repeat("a.", 200) + "example", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get("/tls/ask?" + tc.query)
			if p.Status != tc.want {
				t.Fatalf("GET /tls/ask?%s: %d, want %d (%s)", tc.query, p.Status, tc.want, p.Body)
			}
			if p.Header.Get("Set-Cookie") != "" {
				t.Error("the ask endpoint set a cookie")
			}
		})
	}
}

func TestDomainsTLSAskRateLimit(t *testing.T) {
	t.Parallel()
	c, _ := startDomains(t, 3)
	v := c.CreateVendor(t, "ask-limit", "Limit")
	b := c.browser()
	for i := range 3 {
		if p := b.get("/tls/ask?domain=" + v.Host); p.Status != 200 {
			t.Fatalf("ask %d: %d", i+1, p.Status)
		}
	}
	p := b.get("/tls/ask?domain=" + v.Host)
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
		t.Fatalf("ask over the limit: %d, Retry-After %q", p.Status, p.Header.Get("Retry-After"))
	}
	// The budget is per name: asks about other names (real ones being
	// renewed, or random ones someone sends to use the budget up) are
	// answered on their own.
	if p := b.get("/tls/ask?domain=unknown.example"); p.Status != http.StatusNotFound {
		t.Fatalf("another name while one is over the limit: %d", p.Status)
	}
}

func TestDomainsConsoleVerifyPairAndAudit(t *testing.T) {
	t.Parallel()
	c, res := startDomains(t, 0)
	v := c.CreateVendor(t, "dom-console", "Console Shop")
	b := c.browser()
	b.mustLogin()
	page := "/admin/vendors/" + v.Slug + "/domains"

	p := b.get(page)
	wantStatus(t, "domains page", p, 200)
	wantContains(t, "domains page", p.Body, v.Host, "Add a custom domain")

	// Refused names come back to the form, next to the field.
	for _, bad := range []string{"shop.example.com:8080", "127.0.0.1", "x." + c.Cfg.BaseDomain, "nodot"} {
		p = b.submit(page, page, url.Values{"host": {bad}})
		wantStatus(t, "add "+bad, p, 422)
		wantContains(t, "add "+bad, p.Body, `id="host-error"`)
	}

	// The apex with its www partner: one TXT record on the apex verifies both.
	p = b.submit(page, page, url.Values{"host": {"Console-Shop.Example"}, "www": {"1"}})
	wantStatus(t, "add the apex", p, 303)
	p = b.get(page)
	wantContains(t, "after adding", p.Body, "console-shop.example", "www.console-shop.example",
		"_storefleet-verify.console-shop.example", "storefleet-verify=", "waiting for DNS")
	if rows := c.audit("domain.add"); len(rows) != 1 || !strings.Contains(string(rows[0].After), "www.console-shop.example") {
		t.Fatalf("domain.add audit rows: %+v", rows)
	}

	// Check now, before the record exists: still pending, and says why.
	p = b.submit(page, page+"/console-shop.example/verify", nil)
	wantStatus(t, "verify too early", p, 303)
	p = b.get(page)
	wantContains(t, "verify too early", p.Body, "No TXT record found at _storefleet-verify.console-shop.example")
	if ok, _, _, _ := domainState(t, c, "console-shop.example"); ok {
		t.Fatal("verified without a record")
	}
	// A wrong value does not verify either.
	res.SetTXT("_storefleet-verify.console-shop.example", "storefleet-verify=not-the-token")
	b.submit(page, page+"/console-shop.example/verify", nil)
	if ok, _, _, _ := domainState(t, c, "console-shop.example"); ok {
		t.Fatal("verified with another token")
	}

	publish(t, c, res, "console-shop.example")
	p = b.submit(page, page+"/www.console-shop.example/verify", nil)
	wantStatus(t, "verify", p, 303)
	for _, h := range []string{"console-shop.example", "www.console-shop.example"} {
		if ok, _, _, _ := domainState(t, c, h); !ok {
			t.Fatalf("%s is not verified after the apex record was published", h)
		}
	}
	if len(c.audit("domain.verify")) != 3 || len(c.audit("domain.verified")) != 1 {
		t.Errorf("audit: %d domain.verify, %d domain.verified", len(c.audit("domain.verify")), len(c.audit("domain.verified")))
	}
	// www redirects to the apex, which serves; the vendor chooses the other way round.
	redirectOf := func(host string) string {
		var to string
		if err := c.Store.Pool().QueryRow(context.Background(),
			`SELECT coalesce(redirect_host, '') FROM routing_entries WHERE host = $1`, host).Scan(&to); err != nil {
			t.Fatalf("routing entry of %s: %v", host, err)
		}
		return to
	}
	if redirectOf("www.console-shop.example") != "console-shop.example" || redirectOf("console-shop.example") != "" {
		t.Fatal("www does not redirect to the apex")
	}
	p = b.submit(page, page+"/www.console-shop.example/primary", nil)
	wantStatus(t, "make www primary", p, 303)
	if redirectOf("console-shop.example") != "www.console-shop.example" || redirectOf("www.console-shop.example") != "" {
		t.Fatal("after making www primary, the apex does not redirect to it")
	}
	got, err := c.Store.VendorByID(context.Background(), v.ID)
	if err != nil || got.Host != "www.console-shop.example" {
		t.Fatalf("vendor's primary host: %q, %v", got.Host, err)
	}
	if len(c.audit("domain.primary")) != 1 {
		t.Error("making a domain primary is not audited")
	}

	// Removing the primary makes the subdomain primary again.
	p = b.submit(page, page+"/www.console-shop.example/remove", nil)
	wantStatus(t, "remove", p, 303)
	if got, _ := c.Store.VendorByID(context.Background(), v.ID); got.Host != v.Host {
		t.Fatalf("after removing the primary domain, the vendor's host is %q", got.Host)
	}
	if len(c.audit("domain.remove")) != 1 {
		t.Error("removing a domain is not audited")
	}
	// The platform subdomain stays.
	p = b.submit(page, page+"/"+v.Host+"/remove", nil)
	wantStatus(t, "remove the subdomain", p, 409)
}

func TestDomainsAPIUniquenessAndAudit(t *testing.T) {
	t.Parallel()
	c, res := startDomains(t, 0)
	a := c.CreateVendor(t, "dom-api-a", "Alpha Secret Name")
	bv := c.CreateVendor(t, "dom-api-b", "Bravo")
	api := c.api(c.newToken())

	p := api.do("POST", "/api/v1/vendors/"+a.Slug+"/domains", map[string]any{"host": "https://WWW.Shared.Example/", "www": true})
	wantStatus(t, "add", p, 201)
	list := decode[struct {
		Domains []domains.Domain `json:"domains"`
	}](t, p)
	if len(list.Domains) != 3 || list.Domains[1].Host != "shared.example" && list.Domains[2].Host != "shared.example" {
		t.Fatalf("domains after adding: %+v", list.Domains)
	}
	for _, d := range list.Domains[1:] {
		if d.TXT == nil || d.TXT.Name != "_storefleet-verify.shared.example" || d.State != "pending" {
			t.Errorf("domain %s: %+v", d.Host, d)
		}
	}
	if n := len(c.audit("domain.add")); n != 1 {
		t.Fatalf("%d domain.add audit rows", n)
	}

	// Another vendor cannot take either name, and is not told whose it is.
	for _, h := range []string{"shared.example", "www.shared.example", "SHARED.example."} {
		p = api.do("POST", "/api/v1/vendors/"+bv.Slug+"/domains", map[string]any{"host": h})
		wantStatus(t, "vendor B adds "+h, p, 422)
		wantContains(t, "vendor B adds "+h, p.Body, "already in use by another shop")
		if strings.Contains(p.Body, a.Slug) || strings.Contains(p.Body, a.Name) {
			t.Errorf("the refusal names the owner: %s", p.Body)
		}
	}
	p = api.do("POST", "/api/v1/vendors/"+a.Slug+"/domains", map[string]any{"host": "shared.example"})
	wantStatus(t, "vendor A adds its own domain again", p, 422)
	wantContains(t, "again", p.Body, "already one of this shop")

	// Verify through the API, then make primary and remove.
	publish(t, c, res, "shared.example")
	p = api.do("POST", "/api/v1/vendors/"+a.Slug+"/domains/www.shared.example/verify", nil)
	wantStatus(t, "verify", p, 200)
	if d := decode[domains.Domain](t, p); d.State != "verified" {
		t.Fatalf("after verify: %+v", d)
	}
	p = api.do("POST", "/api/v1/vendors/"+a.Slug+"/domains/www.shared.example/primary", nil)
	wantStatus(t, "primary", p, 200)
	p = api.do("DELETE", "/api/v1/vendors/"+a.Slug+"/domains/shared.example", nil)
	wantStatus(t, "remove", p, 204)
	p = api.do("DELETE", "/api/v1/vendors/"+bv.Slug+"/domains/www.shared.example", nil)
	wantStatus(t, "vendor B removes A's domain", p, 404)
	for _, action := range []string{"domain.add", "domain.verify", "domain.primary", "domain.remove"} {
		rows := c.audit(action)
		if len(rows) == 0 || !strings.HasPrefix(rows[0].Actor, "admin:") {
			t.Errorf("%s: audit rows %+v", action, rows)
		}
	}
}

func TestDomainsPeriodicChecksGiveUp(t *testing.T) {
	t.Parallel()
	c, res := startDomains(t, 0)
	ctx := context.Background()
	actor := platform.Actor{Kind: "system", Name: "test"}
	v := c.CreateVendor(t, "dom-giveup", "Give Up")
	svc := domains.New(domains.Options{Store: c.Store, Resolver: res, BaseDomain: c.Cfg.BaseDomain})
	if _, err := svc.Add(ctx, actor, v, "late.example", false); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.CheckDue(ctx, actor); err != nil || r.Checked != 1 || r.Verified != 0 {
		t.Fatalf("first check: %+v, %v", r, err)
	}
	// Checked a moment ago: not due again yet.
	if r, _ := svc.CheckDue(ctx, actor); r.Checked != 0 {
		t.Fatalf("checked again at once: %+v", r)
	}
	// A week later the checks give up; the domain stays unverified.
	if _, err := c.Store.Pool().Exec(ctx, `UPDATE domains SET checks_since = now() - interval '8 days',
		last_checked_at = now() - interval '2 hours' WHERE host = 'late.example'`); err != nil {
		t.Fatal(err)
	}
	if r, _ := svc.CheckDue(ctx, actor); r.Checked != 1 {
		t.Fatalf("due check: %+v", r)
	}
	if ok, gaveUp, _, _ := domainState(t, c, "late.example"); ok || !gaveUp {
		t.Fatalf("after a week: verified %v, gave up %v", ok, gaveUp)
	}
	if r, _ := svc.CheckDue(ctx, actor); r.Checked != 0 {
		t.Fatal("a domain given up on is still checked")
	}
	// Asking again starts the checks over, and the record now verifies it.
	publish(t, c, res, "late.example")
	d, err := svc.Verify(ctx, actor, v, "late.example")
	if err != nil || d.State != domains.StateVerified {
		t.Fatalf("verify after giving up: %+v, %v", d, err)
	}
}

// routerPool connects as the tenant app's router role.
func routerPool(t *testing.T, c *cp) *pgxpool.Pool {
	t.Helper()
	pool, err := database.Open(context.Background(), c.RouterURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestDomainsRouterFunctionsActOnTheCallingVendorOnly(t *testing.T) {
	t.Parallel()
	c, res := startDomains(t, 0)
	ctx := context.Background()
	a := c.CreateVendor(t, "dom-rt-a", "Router A")
	b := c.CreateVendor(t, "dom-rt-b", "Router B")
	router := routerPool(t, c)
	va := domains.VendorClient{DB: router, BaseDomain: c.Cfg.BaseDomain}

	if _, err := va.Add(ctx, a.ID, "alpha.example", true, "olive@alpha"); err != nil {
		t.Fatalf("vendor A adds its domain: %v", err)
	}
	list, err := va.List(ctx, a.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("vendor A's domains: %+v, %v", list, err)
	}
	if rows := c.audit("domain.add"); len(rows) != 1 || rows[0].Actor != "vendor:"+a.Slug {
		t.Errorf("the vendor's add is not in the control plane's audit log: %+v", rows)
	}

	code := func(err error) string { return database.Code(err) }
	// Vendor B's id with vendor A's names: nothing is found, nothing changes.
	for _, q := range []struct {
		name, sql string
		args      []any
		want      string
	}{
		{"add A's domain", `SELECT vendor_domain_add($1, $2, '', 'x')`, []any{b.ID, "alpha.example"}, "SFD02"},
		{"add A's www", `SELECT vendor_domain_add($1, $2, '', 'x')`, []any{b.ID, "www.alpha.example"}, "SFD02"},
		{"ask to verify A's domain", `SELECT vendor_domain_check($1, $2, 'x')`, []any{b.ID, "alpha.example"}, "SFD04"},
		{"remove A's domain", `SELECT vendor_domain_remove($1, $2, 'x')`, []any{b.ID, "alpha.example"}, "SFD04"},
		{"make A's domain primary", `SELECT vendor_domain_make_primary($1, $2, 'x')`, []any{b.ID, "www.alpha.example"}, "SFD04"},
		{"remove A's subdomain", `SELECT vendor_domain_remove($1, $2, 'x')`, []any{b.ID, a.Host}, "SFD04"},
		{"a malformed host", `SELECT vendor_domain_add($1, $2, '', 'x')`, []any{b.ID, "Bad Host"}, "SFD01"},
		{"an IP address", `SELECT vendor_domain_add($1, $2, '', 'x')`, []any{b.ID, "10.0.0.1"}, "SFD01"},
		{"the platform's domain", `SELECT vendor_domain_add($1, $2, '', 'x')`, []any{b.ID, "evil." + c.Cfg.BaseDomain}, "SFD01"},
		{"a partner that is not the pair", `SELECT vendor_domain_add($1, $2, $3, 'x')`, []any{b.ID, "bravo.example", "alpha2.example"}, "SFD01"},
		{"a vendor that does not exist", `SELECT vendor_domain_add($1, $2, '', 'x')`, []any{int64(999999), "nobody.example"}, "22023"},
		// The router role reaches the tables and the inner functions not at all.
		{"write the table", `UPDATE domains SET verified_at = now() WHERE host = 'alpha.example'`, nil, "42501"},
		{"read the table", `SELECT count(*) FROM domains`, nil, "42501"},
		{"call the inner add", `SELECT domain_add($1, $2, '', 'x')`, []any{b.ID, "bravo.example"}, "42501"},
	} {
		t.Run(q.name, func(t *testing.T) {
			_, err := router.Exec(ctx, q.sql, q.args...)
			if code(err) != q.want {
				t.Fatalf("%s: %v, want SQLSTATE %s", q.sql, err, q.want)
			}
		})
	}
	blist, err := va.List(ctx, b.ID)
	if err != nil || len(blist) != 1 || blist[0].Host != b.Host {
		t.Fatalf("vendor B's list shows others' domains: %+v, %v", blist, err)
	}
	if ok, _, _, _ := domainState(t, c, "alpha.example"); ok {
		t.Fatal("alpha.example got verified")
	}

	// Vendor A verifies through the job system: asking marks it due.
	publish(t, c, res, "alpha.example")
	if err := va.RequestCheck(ctx, a.ID, "alpha.example", "olive@alpha"); err != nil {
		t.Fatal(err)
	}
	svc := domains.New(domains.Options{Store: c.Store, Resolver: res, BaseDomain: c.Cfg.BaseDomain})
	if r, err := svc.CheckDue(ctx, platform.Actor{Kind: "system", Name: "scheduler"}); err != nil || r.Verified != 1 {
		t.Fatalf("CheckDue: %+v, %v", r, err)
	}
	if err := va.MakePrimary(ctx, b.ID, "alpha.example", "x"); code(err) != "SFD04" {
		t.Fatalf("vendor B makes A's verified domain primary: %v", err)
	}
	if err := va.MakePrimary(ctx, a.ID, "alpha.example", "olive@alpha"); err != nil {
		t.Fatal(err)
	}
	// A suspended vendor's back office cannot change its domains.
	if _, err := c.Prov.Suspend(ctx, platform.Actor{Kind: "system", Name: "test"}, a.Slug, "test"); err != nil {
		t.Fatal(err)
	}
	if err := va.Remove(ctx, a.ID, "alpha.example", "olive@alpha"); code(err) != "22023" {
		t.Fatalf("suspended vendor removes a domain: %v", err)
	}
}
