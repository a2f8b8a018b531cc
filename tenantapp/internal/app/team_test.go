package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/mail/mailtest"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/staff"
)

// teamShop is a vendor for the team tests: an owner with a unique e-mail
// address (the tests share one mailpit), signed in.
type teamShop struct {
	s     *shopEnv
	v     *platform.Vendor
	pool  *pgxpool.Pool
	owner *browser
	inbox *mailtest.Inbox
}

const ownerPassword = "correct horse battery"

func newTeamShop(t *testing.T, s *shopEnv, slug, name string) *teamShop {
	t.Helper()
	deliverMail(t, s) // invitations and resets go out through the outbox and the job system
	v, err := s.e.Prov.CreateVendor(context.Background(), platform.Actor{Kind: "system", Name: "test"},
		provision.CreateRequest{Slug: slug, Name: name, OwnerEmail: mailtest.UniqueAddress("owner", slug+".example")})
	if err != nil {
		t.Fatalf("create vendor %s: %v", slug, err)
	}
	ts := &teamShop{s: s, v: v, pool: s.e.VendorPool(t, v), owner: &browser{t: t, s: s, host: slug + ".localhost"},
		inbox: mailtest.New(t, s.e.Vars["STOREFLEET_MAILPIT_URL"])}
	acceptOwnerInvite(t, s, v, ts.owner, ownerPassword)
	if code := ts.owner.login(v.OwnerEmail, ownerPassword); code != 303 {
		t.Fatalf("owner sign-in: %d", code)
	}
	return ts
}

func (ts *teamShop) roleID(t *testing.T, name string) int64 {
	t.Helper()
	var id int64
	if err := ts.pool.QueryRow(context.Background(), `SELECT id FROM staff_roles WHERE name = $1`, name).Scan(&id); err != nil {
		t.Fatalf("role %s: %v", name, err)
	}
	return id
}

// addMember puts a member straight into the vendor's database: status
// "active" with a password, or "invited" / "disabled".
func (ts *teamShop) addMember(t *testing.T, role, status, password string) (int64, string) {
	t.Helper()
	email := mailtest.UniqueAddress("m", ts.v.Slug+".example")
	var hash *string
	if password != "" {
		h, err := auth.Hash(password)
		if err != nil {
			t.Fatal(err)
		}
		hash = &h
	}
	var id int64
	err := ts.pool.QueryRow(context.Background(), `INSERT INTO staff (email, role_id, status, password_hash)
		VALUES ($1, (SELECT id FROM staff_roles WHERE name = $2), $3, $4) RETURNING id`, email, role, status, hash).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id, email
}

// signIn returns a browser signed in as email on the shop's host.
func (ts *teamShop) signIn(t *testing.T, email, password string) *browser {
	t.Helper()
	b := &browser{t: t, s: ts.s, host: ts.owner.host}
	if code := b.login(email, password); code != 303 {
		t.Fatalf("sign in as %s: %d", email, code)
	}
	return b
}

func (ts *teamShop) member(t *testing.T, id int64) *staff.Member {
	t.Helper()
	m, err := staff.ByID(context.Background(), ts.pool, id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (ts *teamShop) ownerMember(t *testing.T) *staff.Member {
	t.Helper()
	m, err := staff.ByEmail(context.Background(), ts.pool, ts.v.OwnerEmail)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (ts *teamShop) auditActions(t *testing.T) []string {
	t.Helper()
	rows, err := ts.pool.Query(context.Background(), `SELECT action FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		out = append(out, a)
	}
	return out
}

var mailLink = regexp.MustCompile(`https?://[^\s"<>]+/admin/(?:invite|password/reset)/[A-Za-z0-9_-]+`)

// linkIn returns the one back-office link of a mail's text, checks the
// HTML part has the same, and that it points at wantHost.
func linkIn(t *testing.T, m *mailtest.Message, publicURL, wantHost string) *url.URL {
	t.Helper()
	links := mailLink.FindAllString(m.Text, -1)
	if len(links) != 1 {
		t.Fatalf("want one link in the mail, got %q in\n%s", links, m.Text)
	}
	if !strings.Contains(m.HTML, `href="`+links[0]+`"`) {
		t.Errorf("the HTML part does not link to %s:\n%s", links[0], m.HTML)
	}
	prefix := strings.ReplaceAll(publicURL, "{host}", wantHost) + "/admin/"
	if !strings.HasPrefix(links[0], prefix) {
		t.Fatalf("link %s is not on %s", links[0], prefix)
	}
	u, err := url.Parse(links[0])
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// doWith is browser.do with extra request headers.
func (b *browser) doWith(method, path string, form url.Values, headers ...string) (int, string) {
	b.t.Helper()
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.csrf)
	}
	req, err := http.NewRequest(method, b.s.srv.URL+b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Host = b.host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
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
	return resp.StatusCode, string(raw)
}

func TestTeamInviteAcceptAndChangeRole(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	ts := newTeamShop(t, s, "acme", "Acme Tools")
	owner := ts.owner
	editor := ts.roleID(t, "Catalog editor")

	code, body, _ := owner.do("GET", "/admin/team", nil)
	if code != 200 || !strings.Contains(body, ts.v.OwnerEmail) || !strings.Contains(body, "Send invitation") {
		t.Fatalf("team page: %d\n%s", code, body)
	}
	// The owner's role is not on offer.
	if strings.Contains(body, fmt.Sprintf(`<option value="%d"`, ts.roleID(t, "Owner"))) {
		t.Error("the Owner role can be chosen for an invitation")
	}

	// Bad invitations come back with the error next to the field.
	for _, c := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"not an address", url.Values{"email": {"not-an-address"}, "role_id": {fmt.Sprint(editor)}}, "Enter an e-mail address"},
		{"already on the team", url.Values{"email": {strings.ToUpper(ts.v.OwnerEmail)}, "role_id": {fmt.Sprint(editor)}}, "on the team already"},
		{"the owner's role", url.Values{"email": {"x@acme.example"}, "role_id": {fmt.Sprint(ts.roleID(t, "Owner"))}}, "belongs to the shop&#39;s owner alone"},
		{"no such role", url.Values{"email": {"x@acme.example"}, "role_id": {"999999"}}, "Choose one of the shop&#39;s roles"},
	} {
		code, body, _ := owner.do("POST", "/admin/team/invite", c.form)
		if code != 422 || !strings.Contains(body, c.field) || !strings.Contains(body, `class="field-error"`) {
			t.Errorf("%s: %d\n%s", c.name, code, body)
		}
	}

	// Invite Cleo as a catalog editor: the e-mail arrives with a link on
	// the shop's own host.
	cleo := mailtest.UniqueAddress("cleo", "acme.example")
	owner.do("GET", "/admin/team", nil)
	if code, _, h := owner.do("POST", "/admin/team/invite", url.Values{"email": {cleo}, "role_id": {fmt.Sprint(editor)}}); code != 303 || h.Get("Location") != "/admin/team" {
		t.Fatalf("invite: %d %s", code, h.Get("Location"))
	}
	if _, body, _ := owner.do("GET", "/admin/team", nil); !strings.Contains(body, "Invitation sent to "+cleo) || !strings.Contains(body, "invited") {
		t.Errorf("team page after the invitation:\n%s", body)
	}
	msg := ts.inbox.Wait(t, cleo, "You are invited to the back office of Acme Tools")
	if msg.From.Name != "Acme Tools" || !strings.Contains(msg.Text, "Olive Owner invited you") || !strings.Contains(msg.Text, "Catalog editor") {
		t.Errorf("invitation mail: %+v\n%s", msg.From, msg.Text)
	}
	link := linkIn(t, msg, s.e.Cfg.TenantPublicURL, "acme.localhost")

	// Cleo accepts and signs in.
	cb := &browser{t: t, s: s, host: link.Hostname()}
	if code, body, _ := cb.do("GET", link.Path, nil); code != 200 || !strings.Contains(body, "Catalog editor") {
		t.Fatalf("invitation page: %d\n%s", code, body)
	}
	if code, _, _ := cb.do("POST", link.Path, url.Values{"name": {"Cleo"}, "password": {"cleo's long password"}, "password_again": {"cleo's long password"}}); code != 303 {
		t.Fatalf("accept: %d", code)
	}
	if code := cb.login(cleo, "cleo's long password"); code != 303 {
		t.Fatalf("cleo signs in: %d", code)
	}
	if code, _, _ := cb.do("GET", "/admin/", nil); code != 200 {
		t.Errorf("cleo's dashboard: %d", code)
	}
	// A catalog editor does not manage the team, in any way.
	for _, p := range []string{"/admin/team", "/admin/roles", "/admin/roles/new"} {
		if code, body, _ := cb.do("GET", p, nil); code != 403 || !strings.Contains(body, "staff.manage") {
			t.Errorf("catalog editor GET %s: %d", p, code)
		}
	}
	if code, _, _ := cb.do("POST", "/admin/team/invite", url.Values{"email": {"friend@acme.example"}, "role_id": {fmt.Sprint(editor)}}); code != 403 {
		t.Errorf("catalog editor invites: %d", code)
	}

	// The owner makes Cleo a manager: still no team page (managers do not
	// hold staff.manage), but she keeps her session.
	var cleoID int64
	_ = ts.pool.QueryRow(context.Background(), `SELECT id FROM staff WHERE email = $1`, cleo).Scan(&cleoID)
	owner.do("GET", "/admin/team", nil)
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/team/%d/role", cleoID), url.Values{"role_id": {fmt.Sprint(ts.roleID(t, "Manager"))}}); code != 303 {
		t.Fatalf("change role: %d", code)
	}
	if m := ts.member(t, cleoID); m.RoleName != "Manager" {
		t.Fatalf("cleo's role: %s", m.RoleName)
	}
	if code, _, _ := cb.do("GET", "/admin/team", nil); code != 403 {
		t.Errorf("manager GET /admin/team: %d", code)
	}
	// Then a custom role that manages the team: now she may.
	owner.do("GET", "/admin/roles/new", nil)
	if code, body, _ := owner.do("POST", "/admin/roles", url.Values{"name": {"Team lead"}, "description": {"Hires people"},
		"permissions": {"dashboard.read", "staff.manage"}}); code != 303 {
		t.Fatalf("create role: %d\n%s", code, body)
	}
	owner.do("GET", "/admin/team", nil)
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/team/%d/role", cleoID), url.Values{"role_id": {fmt.Sprint(ts.roleID(t, "Team lead"))}}); code != 303 {
		t.Fatalf("change role: %d", code)
	}
	code, body, _ = cb.do("GET", "/admin/team", nil)
	if code != 200 {
		t.Fatalf("team lead GET /admin/team: %d", code)
	}
	// She cannot hand out more than she holds, nor change her own role.
	if strings.Contains(body, fmt.Sprintf(`<option value="%d"`, ts.roleID(t, "Manager"))) {
		t.Error("a team lead is offered the Manager role, which holds permissions she does not")
	}
	if code, body, _ := cb.do("POST", "/admin/team/invite", url.Values{"email": {"x@acme.example"}, "role_id": {fmt.Sprint(ts.roleID(t, "Manager"))}}); code != 422 || !strings.Contains(body, "permissions you hold yourself") {
		t.Errorf("team lead invites a manager: %d", code)
	}
	if code, _, _ := cb.do("POST", fmt.Sprintf("/admin/team/%d/role", cleoID), url.Values{"role_id": {fmt.Sprint(editor)}}); code != 403 {
		t.Errorf("team lead changes her own role: %d", code)
	}
	if code, body, _ := cb.do("POST", "/admin/roles", url.Values{"name": {"Everything"}, "permissions": {"staff.manage", "settings.write"}}); code != 422 || !strings.Contains(body, "settings.write") {
		t.Errorf("team lead makes a role with more than she holds: %d", code)
	}
	if code, _, _ := cb.do("POST", fmt.Sprintf("/admin/roles/%d", ts.roleID(t, "Team lead")), url.Values{"name": {"Team lead"}, "permissions": {"staff.manage", "dashboard.read"}}); code != 403 {
		t.Errorf("team lead edits her own role: %d", code)
	}

	// Disabled: signed out at once, cannot sign in; enabled again: can.
	owner.do("GET", "/admin/team", nil)
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/team/%d/disable", cleoID), url.Values{}); code != 303 {
		t.Fatalf("disable: %d", code)
	}
	if code, _, _ := cb.do("GET", "/admin/", nil); code != 303 {
		t.Errorf("a disabled member's session still works: %d", code)
	}
	if code := cb.login(cleo, "cleo's long password"); code != 401 {
		t.Errorf("a disabled member signs in: %d", code)
	}
	owner.do("GET", "/admin/team", nil)
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/team/%d/enable", cleoID), url.Values{}); code != 303 {
		t.Fatalf("enable: %d", code)
	}
	if code := cb.login(cleo, "cleo's long password"); code != 303 {
		t.Errorf("an enabled member cannot sign in: %d", code)
	}

	// An invitation resent: the new link works, the old one does not.
	dan := mailtest.UniqueAddress("dan", "acme.example")
	owner.do("GET", "/admin/team", nil)
	owner.do("POST", "/admin/team/invite", url.Values{"email": {dan}, "role_id": {fmt.Sprint(editor)}})
	first := linkIn(t, ts.inbox.Wait(t, dan, "invited"), s.e.Cfg.TenantPublicURL, "acme.localhost")
	var danID int64
	_ = ts.pool.QueryRow(context.Background(), `SELECT id FROM staff WHERE email = $1`, dan).Scan(&danID)
	owner.do("GET", "/admin/team", nil)
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/team/%d/resend", danID), url.Values{}); code != 303 {
		t.Fatalf("resend: %d", code)
	}
	msgs := ts.inbox.WaitN(t, dan, "invited", 2)
	second := linkIn(t, msgs[0], s.e.Cfg.TenantPublicURL, "acme.localhost")
	if second.Path == first.Path {
		t.Fatal("the resent invitation has the same link")
	}
	db := &browser{t: t, s: s, host: "acme.localhost"}
	if code, _, _ := db.do("GET", first.Path, nil); code != 410 {
		t.Errorf("the replaced invitation link: %d", code)
	}
	if code, _, _ := db.do("GET", second.Path, nil); code != 200 {
		t.Errorf("the new invitation link: %d", code)
	}
	// Resending to someone who accepted is refused with a message.
	owner.do("GET", "/admin/team", nil)
	if code, body, _ := owner.do("POST", fmt.Sprintf("/admin/team/%d/resend", cleoID), url.Values{}); code != 409 || !strings.Contains(body, "accepted their invitation already") {
		t.Errorf("resend to an active member: %d", code)
	}
	// Removed: gone, and their link with them.
	owner.do("GET", "/admin/team", nil)
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/team/%d/remove", danID), url.Values{}); code != 303 {
		t.Fatalf("remove: %d", code)
	}
	if _, err := staff.ByID(context.Background(), ts.pool, danID); err == nil {
		t.Error("the removed member is still there")
	}
	if code, _, _ := db.do("GET", second.Path, nil); code != 410 {
		t.Errorf("a removed member's invitation link: %d", code)
	}

	got := ts.auditActions(t)
	for _, want := range []string{"staff.invite", "staff.invitation_accepted", "staff.role_change", "role.create",
		"staff.disable", "staff.enable", "staff.invite_resend", "staff.remove"} {
		if !slices.Contains(got, want) {
			t.Errorf("audit log has no %s: %v", want, got)
		}
	}
}

func TestOwnerCannotBeDemotedDisabledOrRemoved(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	ts := newTeamShop(t, s, "acme", "Acme Tools")
	owner := ts.ownerMember(t)
	// A team lead manages staff but is not the owner; a catalog editor
	// does not manage staff at all.
	ts.owner.do("GET", "/admin/roles/new", nil)
	if code, _, _ := ts.owner.do("POST", "/admin/roles", url.Values{"name": {"Team lead"}, "permissions": {"staff.manage", "dashboard.read"}}); code != 303 {
		t.Fatalf("create role: %d", code)
	}
	// A co-owner holds every permission the owner holds, but is not the owner.
	if code, _, _ := ts.owner.do("POST", "/admin/roles", url.Values{"name": {"Co-owner"}, "permissions": owner.Permissions}); code != 303 {
		t.Fatalf("create role: %d", code)
	}
	_, leadEmail := ts.addMember(t, "Team lead", "active", "lead's long password")
	_, coEmail := ts.addMember(t, "Co-owner", "active", "co-owner's long password")
	co := ts.signIn(t, coEmail, "co-owner's long password")
	co.do("GET", "/admin/team", nil)
	_, editorEmail := ts.addMember(t, "Catalog editor", "active", "editor's long password")
	lead := ts.signIn(t, leadEmail, "lead's long password")
	editor := ts.signIn(t, editorEmail, "editor's long password")
	lead.do("GET", "/admin/team", nil)
	editor.do("GET", "/admin/", nil)
	ts.owner.do("GET", "/admin/team", nil)
	manager := fmt.Sprint(ts.roleID(t, "Manager"))
	before := ts.auditActions(t)

	cases := []struct {
		who  string
		b    *browser
		path string
		form url.Values
	}{
		{"co-owner demotes the owner", co, "role", url.Values{"role_id": {manager}}},
		{"co-owner disables the owner", co, "disable", url.Values{}},
		{"co-owner removes the owner", co, "remove", url.Values{}},
		{"co-owner resends the owner's invitation", co, "resend", url.Values{}},
		{"team lead demotes the owner", lead, "role", url.Values{"role_id": {manager}}},
		{"team lead disables the owner", lead, "disable", url.Values{}},
		{"team lead removes the owner", lead, "remove", url.Values{}},
		{"team lead resends the owner's invitation", lead, "resend", url.Values{}},
		{"owner demotes themself", ts.owner, "role", url.Values{"role_id": {manager}}},
		{"owner disables themself", ts.owner, "disable", url.Values{}},
		{"owner removes themself", ts.owner, "remove", url.Values{}},
		{"catalog editor demotes the owner", editor, "role", url.Values{"role_id": {manager}}},
		{"catalog editor removes the owner", editor, "remove", url.Values{}},
	}
	for _, c := range cases {
		code, body, _ := c.b.do("POST", fmt.Sprintf("/admin/team/%d/%s", owner.ID, c.path), c.form)
		if code != 403 {
			t.Errorf("%s: %d\n%s", c.who, code, body)
		}
	}
	after := ts.ownerMember(t)
	if after.RoleName != "Owner" || after.Status != "active" || !after.IsOwner || !after.SessionsValidAfter.Equal(owner.SessionsValidAfter) {
		t.Fatalf("the owner changed: %+v", after)
	}
	if code, _, _ := ts.owner.do("GET", "/admin/team", nil); code != 200 {
		t.Errorf("the owner lost the team page: %d", code)
	}
	if got := ts.auditActions(t); len(got) != len(before) {
		t.Errorf("refused changes were logged as done: %v", got[len(before):])
	}
	// The page offers nothing of the kind either.
	_, body, _ := ts.owner.do("GET", "/admin/team", nil)
	for _, action := range []string{"role", "disable", "remove"} {
		if strings.Contains(body, fmt.Sprintf("/admin/team/%d/%s", owner.ID, action)) {
			t.Errorf("the team page offers %s for the owner", action)
		}
	}
	// And the database refuses it too, whoever asks.
	if _, err := ts.pool.Exec(context.Background(), `UPDATE staff SET status = 'disabled' WHERE is_owner`); err == nil {
		t.Error("the database let the owner be disabled")
	}
	if _, err := ts.pool.Exec(context.Background(), `DELETE FROM staff WHERE is_owner`); err == nil {
		t.Error("the database let the owner be removed")
	}
}

func TestRoleWithNoPermissionsGrantsNothing(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	ts := newTeamShop(t, s, "acme", "Acme Tools")
	owner := ts.owner
	owner.do("GET", "/admin/roles/new", nil)
	if code, body, _ := owner.do("POST", "/admin/roles", url.Values{"name": {"Intern"}}); code != 303 {
		t.Fatalf("create an empty role: %d\n%s", code, body)
	}
	if _, body, _ := owner.do("GET", "/admin/roles", nil); !strings.Contains(body, "Intern") || !strings.Contains(body, "this role grants nothing") {
		t.Errorf("roles page:\n%s", body)
	}
	intern := ts.roleID(t, "Intern")
	ed := mailtest.UniqueAddress("ed", "acme.example")
	owner.do("GET", "/admin/team", nil)
	if code, _, _ := owner.do("POST", "/admin/team/invite", url.Values{"email": {ed}, "role_id": {fmt.Sprint(intern)}}); code != 303 {
		t.Fatalf("invite: %d", code)
	}
	link := linkIn(t, ts.inbox.Wait(t, ed, "invited"), s.e.Cfg.TenantPublicURL, "acme.localhost")
	eb := &browser{t: t, s: s, host: link.Hostname()}
	eb.do("GET", link.Path, nil)
	if code, _, _ := eb.do("POST", link.Path, url.Values{"password": {"ed's long password"}, "password_again": {"ed's long password"}}); code != 303 {
		t.Fatalf("accept: %d", code)
	}
	if code := eb.login(ed, "ed's long password"); code != 303 {
		t.Fatalf("sign in: %d", code)
	}
	for _, p := range []string{"/admin/", "/admin/team", "/admin/roles", fmt.Sprintf("/admin/roles/%d", intern)} {
		if code, _, _ := eb.do("GET", p, nil); code != 403 {
			t.Errorf("a role with no permissions GET %s: %d", p, code)
		}
	}

	// Deleting a role someone holds is refused, with who holds it.
	owner.do("GET", "/admin/roles", nil)
	code, body, _ := owner.do("POST", fmt.Sprintf("/admin/roles/%d/delete", intern), url.Values{})
	if code != 409 || !strings.Contains(body, ed) || !strings.Contains(body, "cannot be deleted while people hold it") {
		t.Fatalf("delete a role in use: %d\n%s", code, body)
	}
	// Built-in roles cannot be changed or deleted.
	editor := ts.roleID(t, "Catalog editor")
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/roles/%d", editor), url.Values{"name": {"Catalog editor"}, "permissions": {"staff.manage"}}); code != 403 {
		t.Errorf("edit a built-in role: %d", code)
	}
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/roles/%d/delete", editor), url.Values{}); code != 403 {
		t.Errorf("delete a built-in role: %d", code)
	}
	if code, body, _ := owner.do("GET", fmt.Sprintf("/admin/roles/%d", editor), nil); code != 200 || !strings.Contains(body, "Built-in roles cannot be changed") {
		t.Errorf("a built-in role's page: %d", code)
	}
	// Unknown permissions and duplicate names are refused next to the field.
	if code, body, _ := owner.do("POST", "/admin/roles", url.Values{"name": {"Hacker"}, "permissions": {"root.everything"}}); code != 422 || !strings.Contains(body, "root.everything") {
		t.Errorf("unknown permission: %d", code)
	}
	if code, body, _ := owner.do("POST", "/admin/roles", url.Values{"name": {"intern"}}); code != 422 || !strings.Contains(body, "exists already") {
		t.Errorf("duplicate name: %d", code)
	}
	// Give the intern the dashboard: now it shows.
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/roles/%d", intern), url.Values{"name": {"Intern"}, "permissions": {"dashboard.read"}}); code != 303 {
		t.Fatalf("update role: %d", code)
	}
	if code, _, _ := eb.do("GET", "/admin/", nil); code != 200 {
		t.Errorf("intern with dashboard.read: %d", code)
	}
	// Once no one holds it, the role can go.
	var edID int64
	_ = ts.pool.QueryRow(context.Background(), `SELECT id FROM staff WHERE email = $1`, ed).Scan(&edID)
	owner.do("GET", "/admin/team", nil)
	owner.do("POST", fmt.Sprintf("/admin/team/%d/role", edID), url.Values{"role_id": {fmt.Sprint(editor)}})
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/roles/%d/delete", intern), url.Values{}); code != 303 {
		t.Errorf("delete an unused role: %d", code)
	}
}

func TestPasswordResetUsesTheShopsOwnDomain(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	ts := newTeamShop(t, s, "acme", "Acme Tools")
	// The shop also answers on a custom domain that is not its primary.
	if _, err := s.e.CP.Exec(context.Background(), `INSERT INTO domains (vendor_id, host, kind, is_primary, verified_at)
		VALUES ($1, 'shop.acme-tools.example', 'custom', false, now())`, ts.v.ID); err != nil {
		t.Fatal(err)
	}
	email := ts.v.OwnerEmail
	sent := "If " + email + " belongs to an account of Acme Tools, we sent it a link"

	// Asked on the shop's host with a forged X-Forwarded-Host, on the
	// custom domain, and on the shared host's /vendor/acme/: every link
	// points at acme.localhost, the primary domain the control plane knows.
	for i, c := range []struct {
		host, base string
		headers    []string
	}{
		{"acme.localhost", "", []string{"X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https"}},
		{"shop.acme-tools.example", "", []string{"X-Forwarded-Host", "evil.example"}},
		{"localhost", "/vendor/acme", nil},
	} {
		anon := &browser{t: t, s: s, host: c.host, base: c.base}
		if code, body, _ := anon.do("GET", "/admin/password/forgot", nil); code != 200 || !strings.Contains(body, "Forgot your password?") {
			t.Fatalf("forgot page on %s: %d", c.host, code)
		}
		code, body := anon.doWith("POST", "/admin/password/forgot", url.Values{"email": {email}}, c.headers...)
		if code != 200 || !strings.Contains(body, sent) {
			t.Fatalf("forgot on %s: %d\n%s", c.host, code, body)
		}
		msgs := ts.inbox.WaitN(t, email, "Reset your password for Acme Tools", i+1)
		for _, part := range []string{msgs[0].Text, msgs[0].HTML} {
			if strings.Contains(part, "evil.example") || strings.Contains(part, "acme-tools.example") || strings.Contains(part, "/vendor/") {
				t.Fatalf("the reset mail took a host from the request:\n%s", part)
			}
		}
		linkIn(t, msgs[0], s.e.Cfg.TenantPublicURL, "acme.localhost")
	}

	// An unknown address gets the very same answer, and no e-mail.
	nobody := mailtest.UniqueAddress("nobody", "acme.example")
	anon := &browser{t: t, s: s, host: "acme.localhost"}
	anon.do("GET", "/admin/password/forgot", nil)
	if code, body := anon.doWith("POST", "/admin/password/forgot", url.Values{"email": {nobody}}); code != 200 ||
		!strings.Contains(body, "If "+nobody+" belongs to an account of Acme Tools, we sent it a link") {
		t.Fatalf("forgot for an unknown address: %d\n%s", code, body)
	}

	// The newest link sets a new password and ends every session.
	msgs := ts.inbox.WaitN(t, email, "Reset your password", 3)
	link := linkIn(t, msgs[0], s.e.Cfg.TenantPublicURL, "acme.localhost")
	other := ts.signIn(t, email, ownerPassword)
	rb := &browser{t: t, s: s, host: link.Hostname()}
	if code, body, _ := rb.do("GET", link.Path, nil); code != 200 || !strings.Contains(body, "Choose a new password") {
		t.Fatalf("reset page: %d\n%s", code, body)
	}
	if code, body, _ := rb.do("POST", link.Path, url.Values{"password": {"new long password"}, "password_again": {"not the same"}}); code != 422 || !strings.Contains(body, "not the same") {
		t.Fatalf("mismatched passwords: %d", code)
	}
	if code, _, h := rb.do("POST", link.Path, url.Values{"password": {"new long password"}, "password_again": {"new long password"}}); code != 303 || h.Get("Location") != "/admin/login" {
		t.Fatalf("reset: %d %s", code, h.Get("Location"))
	}
	for name, b := range map[string]*browser{"owner": ts.owner, "other": other} {
		if code, _, _ := b.do("GET", "/admin/", nil); code != 303 {
			t.Errorf("the %s session survived the reset: %d", name, code)
		}
	}
	if code := rb.login(email, ownerPassword); code != 401 {
		t.Errorf("old password: %d", code)
	}
	if code := rb.login(email, "new long password"); code != 303 {
		t.Errorf("new password: %d", code)
	}
	// Used, and the older links were replaced: none works.
	for _, m := range msgs {
		l := linkIn(t, m, s.e.Cfg.TenantPublicURL, "acme.localhost")
		if code, body, _ := rb.do("GET", l.Path, nil); code != 410 || !strings.Contains(body, "not valid any more") {
			t.Errorf("an old reset link: %d", code)
		}
	}
	if n := ts.inbox.Count(t, nobody); n != 0 {
		t.Errorf("an unknown address got %d e-mails", n)
	}
	got := ts.auditActions(t)
	if !slices.Contains(got, "staff.password_reset_request") || !slices.Contains(got, "staff.password_reset") {
		t.Errorf("audit log: %v", got)
	}

	// Requests are throttled per address (5 per window here), whether or
	// not the address is known.
	anon = &browser{t: t, s: s, host: "acme.localhost"}
	anon.do("GET", "/admin/password/forgot", nil)
	throttled := mailtest.UniqueAddress("someone", "acme.example")
	for i := range 6 {
		code, body := anon.doWith("POST", "/admin/password/forgot", url.Values{"email": {throttled}})
		if i < 5 && code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
		if i == 5 && (code != 429 || !strings.Contains(body, "Too many requests")) {
			t.Fatalf("request 6: %d\n%s", code, body)
		}
	}
}

func TestTeamIsolationBetweenShops(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a := newTeamShop(t, s, "acme", "Acme Tools")
	b := newTeamShop(t, s, "bravo", "Bravo Books")
	aOwner, bOwner := a.ownerMember(t), b.ownerMember(t)
	if aOwner.ID != bOwner.ID {
		t.Fatalf("the owners' staff ids differ (%d, %d): the test needs them equal", aOwner.ID, bOwner.ID)
	}
	// A's owner (staff.manage on A, the same staff id as B's owner) carries
	// the session to B: anonymous there, and nothing of B changes.
	stolen := &browser{t: t, s: s, host: "bravo.localhost", cookie: a.owner.cookie, csrf: a.owner.csrf}
	for _, p := range []string{"/admin/team", "/admin/roles"} {
		if code, _, h := stolen.do("GET", p, nil); code != 303 || h.Get("Location") != "/admin/login" {
			t.Errorf("A's session GET B's %s: %d %s", p, code, h.Get("Location"))
		}
	}
	_, bMember := b.addMember(t, "Catalog editor", "active", "member's long password")
	var bMemberID int64
	_ = b.pool.QueryRow(context.Background(), `SELECT id FROM staff WHERE email = $1`, bMember).Scan(&bMemberID)
	before := b.auditActions(t)
	for _, p := range []string{
		fmt.Sprintf("/admin/team/%d/disable", bMemberID),
		fmt.Sprintf("/admin/team/%d/remove", bMemberID),
		fmt.Sprintf("/admin/team/%d/role", bMemberID),
		"/admin/team/invite",
		"/admin/roles",
	} {
		stolen := &browser{t: t, s: s, host: "bravo.localhost", cookie: a.owner.cookie, csrf: a.owner.csrf}
		code, _, _ := stolen.do("POST", p, url.Values{"role_id": {"2"}, "email": {"spy@a.example"}, "name": {"Spy"}, "permissions": {"staff.manage"}})
		if code != 403 && code != 303 {
			t.Errorf("A's session POST B's %s: %d", p, code)
		}
	}
	if m := b.member(t, bMemberID); m.Status != "active" || m.RoleName != "Catalog editor" {
		t.Errorf("B's member changed: %+v", m)
	}
	if got := b.auditActions(t); len(got) != len(before) {
		t.Errorf("B's audit log grew: %v", got[len(before):])
	}
	var spies int
	_ = b.pool.QueryRow(context.Background(), `SELECT count(*) FROM staff WHERE email = 'spy@a.example'`).Scan(&spies)
	if spies != 0 {
		t.Error("A's session invited someone into B")
	}
	// Each team page shows its own shop's people only.
	_, body, _ := a.owner.do("GET", "/admin/team", nil)
	if strings.Contains(body, b.v.OwnerEmail) || strings.Contains(body, bMember) {
		t.Errorf("A's team page shows B's people")
	}
	// B's reset links are on B's domain, whatever the forwarded host says.
	anon := &browser{t: t, s: s, host: "bravo.localhost"}
	anon.do("GET", "/admin/password/forgot", nil)
	anon.doWith("POST", "/admin/password/forgot", url.Values{"email": {b.v.OwnerEmail}}, "X-Forwarded-Host", "acme.localhost")
	linkIn(t, b.inbox.Wait(t, b.v.OwnerEmail, "Reset your password for Bravo Books"), s.e.Cfg.TenantPublicURL, "bravo.localhost")
}

// matrixRoute is one back-office route for the permission matrix: perm is
// what it needs ("" for pages anyone may open), and prepare makes what a
// successful request needs (a fresh target, a valid form) and returns the
// path and form (nil for a GET).
type matrixRoute struct {
	name    string
	method  string
	perm    string
	prepare func(t *testing.T, ts *teamShop) (path string, form url.Values)
}

// teamRoutesForMatrix are the team, role and password routes.
var teamRoutesForMatrix = []matrixRoute{
	{"team list", "GET", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) { return "/admin/team", nil }},
	{"team invite", "POST", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		return "/admin/team/invite", url.Values{"email": {mailtest.UniqueAddress("new", "matrix.example")}, "role_id": {fmt.Sprint(ts.roleID(t, "Order clerk"))}}
	}},
	{"team change role", "POST", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		id, _ := ts.addMember(t, "Catalog editor", "active", "")
		return fmt.Sprintf("/admin/team/%d/role", id), url.Values{"role_id": {fmt.Sprint(ts.roleID(t, "Order clerk"))}}
	}},
	{"team disable", "POST", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		id, _ := ts.addMember(t, "Order clerk", "active", "")
		return fmt.Sprintf("/admin/team/%d/disable", id), url.Values{}
	}},
	{"team enable", "POST", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		id, _ := ts.addMember(t, "Order clerk", "disabled", "")
		return fmt.Sprintf("/admin/team/%d/enable", id), url.Values{}
	}},
	{"team remove", "POST", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		id, _ := ts.addMember(t, "Order clerk", "active", "")
		return fmt.Sprintf("/admin/team/%d/remove", id), url.Values{}
	}},
	{"team resend", "POST", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		id, _ := ts.addMember(t, "Order clerk", "invited", "")
		return fmt.Sprintf("/admin/team/%d/resend", id), url.Values{}
	}},
	{"role list", "GET", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) { return "/admin/roles", nil }},
	{"role new", "GET", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) { return "/admin/roles/new", nil }},
	{"role create", "POST", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		return "/admin/roles", url.Values{"name": {mailtest.UniqueAddress("role", "x")}, "permissions": {"dashboard.read"}}
	}},
	{"role view", "GET", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		return fmt.Sprintf("/admin/roles/%d", matrixRole(t, ts)), nil
	}},
	{"role update", "POST", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		return fmt.Sprintf("/admin/roles/%d", matrixRole(t, ts)), url.Values{"name": {mailtest.UniqueAddress("role", "x")}, "permissions": {"orders.read"}}
	}},
	{"role delete", "POST", "staff.manage", func(t *testing.T, ts *teamShop) (string, url.Values) {
		return fmt.Sprintf("/admin/roles/%d/delete", matrixRole(t, ts)), url.Values{}
	}},
	{"password forgot form", "GET", "", func(t *testing.T, ts *teamShop) (string, url.Values) { return "/admin/password/forgot", nil }},
	{"password forgot", "POST", "", func(t *testing.T, ts *teamShop) (string, url.Values) {
		return "/admin/password/forgot", url.Values{"email": {mailtest.UniqueAddress("nobody", "matrix.example")}}
	}},
	{"password reset form", "GET", "", func(t *testing.T, ts *teamShop) (string, url.Values) {
		_, email := ts.addMember(t, "Order clerk", "active", "a long password")
		_, token, err := staff.RequestReset(context.Background(), ts.pool, email, staff.Entry{Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return "/admin/password/reset/" + token, nil
	}},
}

// matrixRole makes a fresh custom role no one holds.
func matrixRole(t *testing.T, ts *teamShop) int64 {
	t.Helper()
	var id int64
	err := ts.pool.QueryRow(context.Background(), `INSERT INTO staff_roles (name, permissions) VALUES ($1, '{dashboard.read}') RETURNING id`,
		mailtest.UniqueAddress("matrix", "x")).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestTeamPermissionMatrix sends every route of teamRoutesForMatrix as
// every built-in role, and as a custom role with no permissions: allowed
// ones answer 200 or 303, others 403.
func TestTeamPermissionMatrix(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	ts := newTeamShop(t, s, "acme", "Acme Tools")
	routes := slices.Concat(teamRoutesForMatrix) // other areas add their lists here

	rows, err := ts.pool.Query(context.Background(), `SELECT name, permissions FROM staff_roles WHERE builtin ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type builtin struct {
		name  string
		perms []string
	}
	var roles []builtin
	for rows.Next() {
		var r builtin
		if err := rows.Scan(&r.name, &r.perms); err != nil {
			t.Fatal(err)
		}
		roles = append(roles, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(roles) < 4 {
		t.Fatalf("built-in roles: %v", roles)
	}
	if _, err := ts.pool.Exec(context.Background(), `INSERT INTO staff_roles (name) VALUES ('Nothing')`); err != nil {
		t.Fatal(err)
	}
	roles = append(roles, builtin{name: "Nothing"})
	for _, role := range roles {
		t.Run(role.name, func(t *testing.T) {
			b := ts.owner
			if role.name != staff.OwnerRole {
				_, email := ts.addMember(t, role.name, "active", "matrix long password")
				b = ts.signIn(t, email, "matrix long password")
			}
			for _, rt := range routes {
				path, form := rt.prepare(t, ts)
				b.do("GET", "/admin/login", nil) // a fresh form token
				if b.csrf == "" {
					t.Fatal("no form token")
				}
				code, body, _ := b.do(rt.method, path, form)
				allowed := rt.perm == "" || slices.Contains(role.perms, rt.perm)
				switch {
				case allowed && code != 200 && code != 303:
					t.Errorf("%s %s (%s) as %s: %d, want 200 or 303\n%s", rt.method, path, rt.name, role.name, code, body)
				case !allowed && code != 403:
					t.Errorf("%s %s (%s) as %s: %d, want 403", rt.method, path, rt.name, role.name, code)
				}
			}
		})
	}
}
