package app_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/mail/mailtest"
	"github.com/storefleet/storefleet/internal/notify"
)

// mailJobs remembers the test platforms whose job system runs.
var mailJobs sync.Map // *shopEnv → struct{}

// deliverMail runs the control plane's job system on the test's platform
// (once however often it is called), so that the e-mails the tenant app
// queues in a vendor's outbox are sent to mailpit as in production: the
// tenant app asks for the vendor's 'mail' work, the job drains the
// outbox through the platform's SMTP server.
func deliverMail(t *testing.T, s *shopEnv) {
	t.Helper()
	if _, running := mailJobs.LoadOrStore(s, struct{}{}); running {
		return
	}
	t.Cleanup(func() { mailJobs.Delete(s) })
	startJobs(t, s)
}

// waitNotification waits until an outbox row is in state.
func waitNotification(t *testing.T, ts *teamShop, id int64, state string) {
	t.Helper()
	pollUntil(t, 15*time.Second, fmt.Sprintf("e-mail %d %s", id, state), func() bool {
		var got string
		_ = ts.pool.QueryRow(context.Background(), `SELECT state FROM notifications WHERE id = $1`, id).Scan(&got)
		return got == state
	})
}

func TestEmailLogAndRetry(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	ts := newTeamShop(t, s, "acme", "Acme Tools")
	owner := ts.owner
	ctx := context.Background()

	// An invitation goes through the outbox and shows in the log, its
	// link removed.
	cleo := mailtest.UniqueAddress("cleo", "acme.example")
	owner.do("GET", "/admin/team", nil)
	if code, _, _ := owner.do("POST", "/admin/team/invite", url.Values{"email": {cleo}, "role_id": {fmt.Sprint(ts.roleID(t, "Catalog editor"))}}); code != 303 {
		t.Fatalf("invite: %d", code)
	}
	owner.do("GET", "/admin/team", nil) // shows the flash
	ts.inbox.Wait(t, cleo, "You are invited to the back office of Acme Tools")
	var inviteID int64
	if err := ts.pool.QueryRow(ctx, `SELECT id FROM notifications WHERE to_email = $1`, cleo).Scan(&inviteID); err != nil {
		t.Fatal(err)
	}
	waitNotification(t, ts, inviteID, "sent")
	var link string
	_ = ts.pool.QueryRow(ctx, `SELECT data->>'link' FROM notifications WHERE id = $1`, inviteID).Scan(&link)
	if link != notify.RedactedLink {
		t.Errorf("the invitation's link stays in the outbox: %q", link)
	}

	// A shipping notice that failed for good, and one to an address the
	// test owns.
	dan := mailtest.UniqueAddress("dan", "acme.example")
	var failedID int64
	err := ts.pool.QueryRow(ctx, `INSERT INTO notifications (kind, to_email, data, state, attempts, last_error, subject)
		VALUES ('shipping_notice', $1, '{"shop_name": "Acme Tools", "order_id": "77", "order_url": "http://acme.localhost/account/orders/77"}',
		'failed', 6, 'dial tcp: connection refused', 'Your order 77 from Acme Tools is on its way') RETURNING id`, dan).Scan(&failedID)
	if err != nil {
		t.Fatal(err)
	}

	code, body, _ := owner.do("GET", "/admin/notifications", nil)
	if code != 200 {
		t.Fatalf("log: %d\n%s", code, body)
	}
	for _, want := range []string{"Staff invitation", cleo, "You are invited to the back office of Acme Tools", `badge sent`,
		"Shipping notice", dan, `badge failed`, "dial tcp: connection refused", ">Retry</button>", `href="/admin/notifications"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the log has no %q", want)
		}
	}
	if strings.Index(body, dan) > strings.Index(body, cleo) {
		t.Error("the log is not newest first")
	}
	// Filters.
	if _, body, _ := owner.do("GET", "/admin/notifications?state=failed", nil); strings.Contains(body, cleo) || !strings.Contains(body, dan) {
		t.Error("the state filter does not filter")
	}
	if _, body, _ := owner.do("GET", "/admin/notifications?kind=staff_invitation", nil); !strings.Contains(body, cleo) || strings.Contains(body, dan) {
		t.Error("the kind filter does not filter")
	}
	if code, body, _ := owner.do("GET", "/admin/notifications?kind=spam", nil); code != 422 || !strings.Contains(body, "Choose one of the kinds") {
		t.Errorf("an unknown kind: %d", code)
	}
	if _, body, _ := owner.do("GET", "/admin/notifications?state=sending", nil); !strings.Contains(body, "No e-mails match") {
		t.Error("an empty filter shows no message")
	}

	// Retry: queued again and delivered by the job system.
	owner.do("GET", "/admin/notifications", nil)
	code, _, h := owner.do("POST", fmt.Sprintf("/admin/notifications/%d/retry", failedID), url.Values{"state": {"failed"}})
	if code != 303 || h.Get("Location") != "/admin/notifications?state=failed" {
		t.Fatalf("retry: %d %s", code, h.Get("Location"))
	}
	ts.inbox.Wait(t, dan, "Your order 77 from Acme Tools is on its way")
	waitNotification(t, ts, failedID, "sent")
	if _, body, _ := owner.do("GET", "/admin/notifications", nil); !strings.Contains(body, "is queued again") {
		t.Error("no word that the e-mail is queued again")
	}
	// A sent one, a missing one, and a failed one whose link was removed
	// are not retried.
	owner.do("GET", "/admin/notifications", nil)
	if code, _, _ := owner.do("POST", fmt.Sprintf("/admin/notifications/%d/retry", failedID), url.Values{}); code != 409 {
		t.Errorf("retry a sent e-mail: %d", code)
	}
	if code, _, _ := owner.do("POST", "/admin/notifications/999999/retry", url.Values{}); code != 404 {
		t.Errorf("retry a missing e-mail: %d", code)
	}
	if _, err := ts.pool.Exec(ctx, `UPDATE notifications SET state = 'failed' WHERE id = $1`, inviteID); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := owner.do("POST", fmt.Sprintf("/admin/notifications/%d/retry", inviteID), url.Values{}); code != 409 || !strings.Contains(body, "one-time link") {
		t.Errorf("retry an invitation without its link: %d", code)
	}
	if !slices.Contains(ts.auditActions(t), "notification.retry") {
		t.Error("the retry is not in the audit log")
	}
}

func TestEmailTemplateEditor(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	ts := newTeamShop(t, s, "acme", "Acme Tools")
	owner := ts.owner
	const path = "/admin/notifications/templates/staff_invitation"

	code, body, _ := owner.do("GET", "/admin/notifications/templates", nil)
	if code != 200 {
		t.Fatalf("templates: %d", code)
	}
	for _, k := range notify.Kinds {
		if !strings.Contains(body, k.Title) || !strings.Contains(body, "/admin/notifications/templates/"+k.Name) {
			t.Errorf("the templates list has no %s", k.Title)
		}
	}

	// The editor: the default, its placeholders, and its preview, text
	// and HTML side by side, the HTML in a sandboxed frame.
	code, body, _ = owner.do("GET", path, nil)
	if code != 200 {
		t.Fatalf("editor: %d", code)
	}
	for _, want := range []string{"You are invited to the back office of {{.ShopName}}", "{{.InvitedBy}}", "{{.RoleName}}", "{{.Link}}",
		"{{.Expires}}", "Olive Owner invited you to the back office of Acme Tools as Catalog editor.", `<iframe title="HTML preview of the e-mail" sandbox srcdoc="`,
		"formaction=\"/admin/notifications/templates/staff_invitation/preview\"", "badge\">default"} {
		if !strings.Contains(body, want) {
			t.Errorf("the editor has no %q", want)
		}
	}
	if strings.Contains(body, "Reset to default</button>") {
		t.Error("a default template offers a reset")
	}

	// A preview of an edit: rendered, escaped, not saved.
	edit := url.Values{"subject": {"Join {{.ShopName}} now"}, "body": {"Hi <script>alert(1)</script>,\r\n\r\n{{.InvitedBy}} wants you here:\r\n{{.Link}}\r\n"}}
	code, body, _ = owner.do("POST", path+"/preview", edit)
	if code != 200 || !strings.Contains(body, "Join Acme Tools now") || !strings.Contains(body, "not saved yet") ||
		!strings.Contains(body, "Olive Owner wants you here:") {
		t.Fatalf("preview: %d\n%s", code, body)
	}
	if strings.Contains(body, "<script>alert(1)") {
		t.Error("the preview shows the edit's markup unescaped")
	}
	// In the frame's srcdoc the text is escaped twice: once as the
	// e-mail's HTML, once as the attribute.
	if !strings.Contains(body, "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;") {
		t.Error("the HTML preview does not escape the text")
	}
	if n := vendorRows(t, ts, `SELECT count(*) FROM notification_templates`); n != 0 {
		t.Errorf("a preview saved the template (%d rows)", n)
	}

	// A broken edit is refused with its line, for a preview and a save.
	bad := url.Values{"subject": {"Join us"}, "body": {"Hello,\r\n\r\n{{.Lnk}}\r\n"}}
	for _, p := range []string{path + "/preview", path} {
		code, body, _ := owner.do("POST", p, bad)
		if code != 422 || !strings.Contains(body, "Line 3: {{.Lnk}} is not a placeholder of this e-mail") || !strings.Contains(body, `class="field-error" id="body-error"`) {
			t.Errorf("POST %s with a broken body: %d", p, code)
		}
	}
	if code, body, _ := owner.do("POST", path, url.Values{"subject": {"{{printf \"%d\" 1}}"}, "body": {"ok"}}); code != 422 || !strings.Contains(body, "printf") {
		t.Errorf("a subject with printf: %d", code)
	}

	// Saved: the next invitation uses it.
	owner.do("GET", path, nil)
	if code, _, h := owner.do("POST", path, edit); code != 303 || h.Get("Location") != path {
		t.Fatalf("save: %d %s", code, h.Get("Location"))
	}
	if _, body, _ := owner.do("GET", path, nil); !strings.Contains(body, "Saved.") || !strings.Contains(body, "Reset to default</button>") {
		t.Error("the saved editor")
	}
	eve := mailtest.UniqueAddress("eve", "acme.example")
	owner.do("GET", "/admin/team", nil)
	owner.do("POST", "/admin/team/invite", url.Values{"email": {eve}, "role_id": {fmt.Sprint(ts.roleID(t, "Catalog editor"))}})
	msg := ts.inbox.Wait(t, eve, "Join Acme Tools now")
	if !strings.Contains(msg.Text, "Olive Owner wants you here:") || !strings.Contains(msg.HTML, "Hi &lt;script&gt;alert(1)&lt;/script&gt;,") {
		t.Errorf("the invitation does not use the edit:\n%s\n%s", msg.Text, msg.HTML)
	}
	linkIn(t, msg, s.e.Cfg.TenantPublicURL, "acme.localhost")
	if !slices.Contains(ts.auditActions(t), "notification_template.save") {
		t.Error("the save is not in the audit log")
	}

	// Reset: the default again.
	owner.do("GET", path, nil)
	if code, _, _ := owner.do("POST", path+"/reset", url.Values{}); code != 303 {
		t.Fatalf("reset: %d", code)
	}
	if _, body, _ := owner.do("GET", path, nil); !strings.Contains(body, "Back to the default") || strings.Contains(body, "Join {{.ShopName}} now") {
		t.Error("the reset editor")
	}
	if code, _, _ := owner.do("GET", "/admin/notifications/templates/spam", nil); code != 404 {
		t.Errorf("an unknown kind: %d", code)
	}
}

func vendorRows(t *testing.T, ts *teamShop, sql string) int {
	t.Helper()
	var n int
	if err := ts.pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Who may see the log, retry and edit templates.
func TestEmailPermissions(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, owner := catalogShop(t, s, "perms", "Perms")
	clerk, _ := catalogMember(t, s, v, "Order clerk")
	editor, _ := catalogMember(t, s, v, "Catalog editor")

	if _, body, _ := owner.do("GET", "/admin/", nil); !strings.Contains(body, `href="/admin/notifications">E-mails</a>`) {
		t.Error("the owner's top bar has no E-mails")
	}
	if _, body, _ := editor.do("GET", "/admin/", nil); strings.Contains(body, "/admin/notifications") {
		t.Error("a catalog editor's top bar has E-mails")
	}
	// An order clerk reads the log and retries, but does not edit
	// templates (no Templates tab either).
	code, body, _ := clerk.do("GET", "/admin/notifications", nil)
	if code != 200 || strings.Contains(body, "/admin/notifications/templates") {
		t.Errorf("clerk's log: %d", code)
	}
	if code, body, _ := clerk.do("GET", "/admin/notifications/templates/order_confirmation", nil); code != 403 || !strings.Contains(body, "settings.write") {
		t.Errorf("clerk's editor: %d", code)
	}
	for _, p := range []string{"/admin/notifications", "/admin/notifications/templates"} {
		if code, body, _ := editor.do("GET", p, nil); code != 403 {
			t.Errorf("catalog editor GET %s: %d %.100s", p, code, body)
		}
	}
	if code, _, _ := editor.do("POST", "/admin/notifications/1/retry", url.Values{}); code != 403 {
		t.Errorf("catalog editor retries: %d", code)
	}
}

// A message due later keeps the vendor's request for mail work open (the
// job snoozes until then), and is sent when its time comes; only then is
// the request closed.
func TestMailWorkWaitsForLaterMessages(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	deliverMail(t, s)
	v := s.e.CreateVendor(t, "later", "Later Shop")
	pool := s.e.VendorPool(t, v)
	ctx := context.Background()
	to := mailtest.UniqueAddress("later", "later.example")
	if _, err := pool.Exec(ctx, `INSERT INTO notifications (kind, to_email, data, next_attempt_at)
		VALUES ('shipping_notice', $1, '{"order_id": "5"}', now() + interval '3 seconds')`, to); err != nil {
		t.Fatal(err)
	}
	if _, err := s.e.CP.Exec(ctx, `SELECT request_vendor_work($1, 'mail')`, v.ID); err != nil {
		t.Fatal(err)
	}
	open := func() bool {
		var n int
		_ = s.e.CP.QueryRow(ctx, `SELECT count(*) FROM vendor_work WHERE vendor_id = $1 AND kind = 'mail'`, v.ID).Scan(&n)
		return n > 0
	}
	time.Sleep(1500 * time.Millisecond)
	if !open() {
		t.Fatal("the request was closed while a message waits")
	}
	msg := mailtest.New(t, s.e.Vars["STOREFLEET_MAILPIT_URL"]).Wait(t, to, "Your order 5 from Later Shop is on its way")
	if msg.From.Name != "Later Shop" {
		t.Errorf("from %+v", msg.From)
	}
	pollUntil(t, 10*time.Second, "the request closed", func() bool { return !open() })
}
