package notify_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/mail/mailtest"
	"github.com/storefleet/storefleet/internal/notify"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/templates"
)

// shop is a vendor database with a mailer to the test services' mailpit.
type shop struct {
	pool   *pgxpool.Pool
	mailer *mail.Mailer
	inbox  *mailtest.Inbox
}

func newShop(t *testing.T) *shop {
	t.Helper()
	e := testenv.New(t)
	_, pool := e.TenantDB(t)
	return &shop{pool: pool, mailer: mailerAt(t, e.Vars["STOREFLEET_SMTP_URL"]+"?from=shop@storefleet.example"),
		inbox: mailtest.New(t, e.Vars["STOREFLEET_MAILPIT_URL"])}
}

func mailerAt(t *testing.T, smtpURL string) *mail.Mailer {
	t.Helper()
	m, err := mail.New(smtpURL, templates.FS, "tenantapp")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (s *shop) enqueue(t *testing.T, m notify.Message) int64 {
	t.Helper()
	id, err := notify.Enqueue(context.Background(), s.pool, m)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type row struct {
	State, Subject, LastError, Link string
	Attempts                        int
	Next                            time.Time
	SentAt                          *time.Time
}

func (s *shop) row(t *testing.T, id int64) row {
	t.Helper()
	var r row
	err := s.pool.QueryRow(context.Background(), `SELECT state, subject, last_error, coalesce(data->>'link', ''), attempts, next_attempt_at, sent_at
		FROM notifications WHERE id = $1`, id).Scan(&r.State, &r.Subject, &r.LastError, &r.Link, &r.Attempts, &r.Next, &r.SentAt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func invitation(to, link string) notify.Message {
	return notify.Message{Kind: notify.StaffInvitation, To: to, Data: map[string]any{"shop_name": "Acme Tools",
		"invited_by": "Olive Owner", "role_name": "Catalog editor", "link": link, "expires": "7 days"}}
}

func TestDrainSendsThroughMailpitAndRemovesLinks(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	// The shop's contact address answers; its own order confirmation is
	// used, a product title with markup arrives escaped in the HTML part.
	if _, err := s.pool.Exec(ctx, `UPDATE shop_profile SET contact_email = 'help@acme.example', accent_color = '#aa3300'`); err != nil {
		t.Fatal(err)
	}
	if errs, err := notify.SaveTemplate(ctx, s.pool, notify.OrderConfirmation, "Order {{.OrderID}} is in, {{.CustomerName}}",
		"We got it:\n{{range .Lines}}- {{.Title}} × {{.Quantity}}\n{{end}}Total {{.Total}}\n{{.OrderURL}}\n", 0); err != nil || errs != nil {
		t.Fatalf("save: %v %v", errs, err)
	}
	ann := mailtest.UniqueAddress("ann", "example.com")
	cleo := mailtest.UniqueAddress("cleo", "example.com")
	order := s.enqueue(t, notify.Message{Kind: notify.OrderConfirmation, To: ann, Data: map[string]any{
		"shop_name": "Acme Tools", "order_id": "1042", "order_url": "http://acme.localhost/account/orders/1042",
		"customer_name": "Ann", "total": "€33.40",
		"lines": []map[string]string{{"title": `Hammer <script>alert(1)</script>`, "quantity": "2"}}}})
	invite := s.enqueue(t, invitation(cleo, "http://acme.localhost/admin/invite/secret-token"))

	next, err := notify.Drain(ctx, s.pool, s.mailer, notify.Options{ShopName: "Acme Tools"})
	if err != nil || !next.IsZero() {
		t.Fatalf("drain: %v, next %v", err, next)
	}
	got := s.inbox.Wait(t, ann, "Order 1042 is in, Ann")
	if got.From.Name != "Acme Tools" || len(got.ReplyTo) != 1 || got.ReplyTo[0].Address != "help@acme.example" {
		t.Errorf("from %+v, reply-to %+v", got.From, got.ReplyTo)
	}
	if !strings.Contains(got.Text, "- Hammer <script>alert(1)</script> × 2") || !strings.Contains(got.Text, "Total €33.40") {
		t.Errorf("text:\n%s", got.Text)
	}
	if strings.Contains(got.HTML, "<script") || !strings.Contains(got.HTML, "Hammer &lt;script&gt;alert(1)&lt;/script&gt;") ||
		!strings.Contains(got.HTML, `href="http://acme.localhost/account/orders/1042"`) || !strings.Contains(got.HTML, "#aa3300") {
		t.Errorf("HTML:\n%s", got.HTML)
	}
	inv := s.inbox.Wait(t, cleo, "You are invited to the back office of Acme Tools")
	if !strings.Contains(inv.Text, "http://acme.localhost/admin/invite/secret-token") {
		t.Errorf("invitation:\n%s", inv.Text)
	}

	// Both are recorded sent with their subject; the invitation's token
	// is gone from the database, the order's link stays.
	r := s.row(t, order)
	if r.State != "sent" || r.Subject != "Order 1042 is in, Ann" || r.Attempts != 1 || r.SentAt == nil {
		t.Errorf("order row: %+v", r)
	}
	r = s.row(t, invite)
	if r.State != "sent" || r.Link != notify.RedactedLink || r.Subject != "You are invited to the back office of Acme Tools" {
		t.Errorf("invitation row: %+v", r)
	}
	var leaks int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE data::text LIKE '%secret-token%'`).Scan(&leaks); err != nil || leaks != 0 {
		t.Errorf("the token is still in the outbox: %d %v", leaks, err)
	}
	// Nothing is sent twice.
	if _, err := notify.Drain(ctx, s.pool, s.mailer, notify.Options{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.inbox.Count(t, cleo); n != 1 {
		t.Errorf("%d invitations arrived", n)
	}

	// The log lists them newest first, and filters.
	list, more, err := notify.List(ctx, s.pool, notify.Filter{})
	if err != nil || more || len(list) != 2 || list[0].ID != invite || !list[0].LinkRemoved || list[1].LinkRemoved {
		t.Errorf("log: %+v %v %v", list, more, err)
	}
	list, _, _ = notify.List(ctx, s.pool, notify.Filter{Kind: notify.OrderConfirmation, State: "sent"})
	if len(list) != 1 || list[0].ID != order {
		t.Errorf("filtered log: %+v", list)
	}
}

// freePort is a local port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestFailedSendsBackOffAndGiveUp(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	down := mailerAt(t, "smtp://"+freePort(t))
	to := mailtest.UniqueAddress("dan", "example.com")
	id := s.enqueue(t, invitation(to, "http://acme.localhost/admin/invite/another-token"))
	for i, wait := range notify.Backoff {
		start := time.Now()
		next, err := notify.Drain(ctx, s.pool, down, notify.Options{ShopName: "Acme Tools"})
		if err != nil {
			t.Fatal(err)
		}
		r := s.row(t, id)
		if r.State != "pending" || r.Attempts != i+1 || r.LastError == "" || r.Link == notify.RedactedLink {
			t.Fatalf("after attempt %d: %+v", i+1, r)
		}
		// The next attempt waits for the backoff, and the drain says when.
		if d := r.Next.Sub(start); d < wait-time.Second || d > wait+5*time.Second {
			t.Errorf("attempt %d: next try in %v, want %v", i+1, d, wait)
		}
		if !next.Equal(r.Next) {
			t.Errorf("attempt %d: drain says %v, row says %v", i+1, next, r.Next)
		}
		// Not due yet: another drain leaves it alone.
		if _, err := notify.Drain(ctx, s.pool, down, notify.Options{}); err != nil {
			t.Fatal(err)
		}
		if r2 := s.row(t, id); r2.Attempts != i+1 {
			t.Fatalf("a drain tried a message that was not due: %+v", r2)
		}
		if _, err := s.pool.Exec(ctx, `UPDATE notifications SET next_attempt_at = now() WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	next, err := notify.Drain(ctx, s.pool, down, notify.Options{})
	if err != nil || !next.IsZero() {
		t.Fatalf("last drain: %v %v", next, err)
	}
	r := s.row(t, id)
	if r.State != "failed" || r.Attempts != 6 || r.Link != notify.RedactedLink || !strings.Contains(r.LastError, "connect") && !strings.Contains(r.LastError, "refused") {
		t.Errorf("after the last attempt: %+v", r)
	}
	// A failed message with a one-time link cannot be retried: it is gone.
	if _, err := notify.Retry(ctx, s.pool, id); !errors.Is(err, notify.ErrNotRetryable) {
		t.Errorf("retry without its link: %v", err)
	}

	// One without a one-time link is retried by hand: queued again with
	// fresh attempts, and sent.
	order := s.enqueue(t, notify.Message{Kind: notify.ShippingNotice, To: to, Data: map[string]any{"shop_name": "Acme Tools",
		"order_id": "7", "order_url": "http://acme.localhost/account/orders/7"}})
	if _, err := s.pool.Exec(ctx, `UPDATE notifications SET state = 'failed', attempts = 6, last_error = 'x' WHERE id = $1`, order); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.Retry(ctx, s.pool, order); err != nil {
		t.Fatal(err)
	}
	if r := s.row(t, order); r.State != "pending" || r.Attempts != 0 {
		t.Errorf("retried: %+v", r)
	}
	if _, err := notify.Retry(ctx, s.pool, order); !errors.Is(err, notify.ErrNotRetryable) {
		t.Errorf("retry a pending e-mail: %v", err)
	}
	if _, err := notify.Retry(ctx, s.pool, 999999); !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("retry a missing e-mail: %v", err)
	}
	if _, err := notify.Drain(ctx, s.pool, s.mailer, notify.Options{ShopName: "Acme Tools"}); err != nil {
		t.Fatal(err)
	}
	s.inbox.Wait(t, to, "Your order 7 from Acme Tools is on its way")
	if r := s.row(t, order); r.State != "sent" || r.Attempts != 1 {
		t.Errorf("sent after the retry: %+v", r)
	}
}

// refusingSMTP is an SMTP server that refuses every recipient for good
// (550), as a real one does for a mailbox that does not exist.
func refusingSMTP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				w := bufio.NewWriter(c)
				say := func(s string) { _, _ = w.WriteString(s + "\r\n"); _ = w.Flush() }
				say("220 refuser ready")
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					cmd := strings.ToUpper(sc.Text())
					switch {
					case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
						say("250 refuser")
					case strings.HasPrefix(cmd, "RCPT"):
						say("550 5.1.1 no such mailbox")
					case strings.HasPrefix(cmd, "QUIT"):
						say("221 bye")
						return
					default:
						say("250 ok")
					}
				}
			}()
		}
	}()
	return "smtp://" + l.Addr().String()
}

// An SMTP server that cannot be reached: the drain tries the first message
// of its batch, and the rest wait with it (no attempt counted, due when it
// is) rather than each paying the connection's failure in turn.
func TestUnreachableServerPostponesTheBatch(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	var ids []int64
	for i := range 3 {
		ids = append(ids, s.enqueue(t, invitation(mailtest.UniqueAddress(fmt.Sprint("eve", i), "example.com"),
			"http://acme.localhost/admin/invite/t"+fmt.Sprint(i))))
	}
	next, err := notify.Drain(ctx, s.pool, mailerAt(t, "smtp://"+freePort(t)), notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := s.row(t, ids[0])
	if first.State != "pending" || first.Attempts != 1 || first.LastError == "" {
		t.Fatalf("the message tried: %+v", first)
	}
	for _, id := range ids[1:] {
		r := s.row(t, id)
		if r.State != "pending" || r.Attempts != 0 || r.LastError != "" || r.Next.Sub(first.Next).Abs() > time.Second {
			t.Errorf("a message behind it: %+v, want pending, no attempt, due with the first (%v)", r, first.Next)
		}
	}
	if next.Sub(first.Next).Abs() > time.Second {
		t.Errorf("the drain says the next is due at %v, want about %v", next, first.Next)
	}
	// Once the server answers, all of them go.
	if _, err := s.pool.Exec(ctx, `UPDATE notifications SET next_attempt_at = now()`); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.Drain(ctx, s.pool, s.mailer, notify.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if r := s.row(t, id); r.State != "sent" {
			t.Errorf("after the server is back: %+v", r)
		}
	}
}

func TestPermanentRefusalFailsAtOnce(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	id := s.enqueue(t, invitation("nobody@example.com", "http://acme.localhost/admin/invite/t"))
	bad := s.enqueue(t, invitation("not an address", "http://acme.localhost/admin/invite/u"))
	if _, err := notify.Drain(ctx, s.pool, mailerAt(t, refusingSMTP(t)), notify.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{id, bad} {
		if r := s.row(t, id); r.State != "failed" || r.Attempts != 1 || r.Link != notify.RedactedLink {
			t.Errorf("message %d: %+v", id, r)
		}
	}
	if r := s.row(t, id); !strings.Contains(r.LastError, "550") {
		t.Errorf("the error does not say why: %q", r.LastError)
	}
}

// countingSender counts what it sends, by recipient.
type countingSender struct {
	notify.Sender
	mu   sync.Mutex
	sent map[string]int
}

func (c *countingSender) SendRendered(ctx context.Context, env mail.Envelope, r *mail.Rendered) error {
	c.mu.Lock()
	c.sent[env.To]++
	c.mu.Unlock()
	return c.Sender.SendRendered(ctx, env, r)
}

func TestConcurrentDrainsSendEachMessageOnce(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	const n = 40
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = mailtest.UniqueAddress("many", "example.com")
		s.enqueue(t, notify.Message{Kind: notify.ShippingNotice, To: addrs[i], Data: map[string]any{"shop_name": "Acme Tools",
			"order_id": "1", "order_url": "http://acme.localhost/account/orders/1"}})
	}
	c := &countingSender{Sender: s.mailer, sent: map[string]int{}}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := notify.Drain(ctx, s.pool, c, notify.Options{Batch: 3})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range addrs {
		if c.sent[a] != 1 {
			t.Errorf("%s: sent %d times", a, c.sent[a])
		}
	}
	var sent int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM notifications WHERE state = 'sent' AND attempts = 1`).Scan(&sent); err != nil || sent != n {
		t.Errorf("%d of %d recorded sent once: %v", sent, n, err)
	}
	for _, a := range addrs[:3] {
		s.inbox.Wait(t, a, "is on its way")
	}
}

// A message claimed by a drain that died is sent again once its lease
// runs out (at least once), and the late drain cannot record over it.
func TestExpiredLeaseIsTakenOver(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	to := mailtest.UniqueAddress("lease", "example.com")
	id := s.enqueue(t, notify.Message{Kind: notify.ShippingNotice, To: to, Data: map[string]any{"order_id": "9"}})
	// Claimed by a drain that died: 'sending' with a lease that runs on.
	if _, err := s.pool.Exec(ctx, `UPDATE notifications SET state = 'sending', attempts = 1, locked_until = now() + interval '1 minute' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	next, err := notify.Drain(ctx, s.pool, s.mailer, notify.Options{ShopName: "Acme Tools"})
	if err != nil || next.IsZero() || time.Until(next) < 50*time.Second {
		t.Fatalf("a leased message: next %v, %v", next, err)
	}
	if r := s.row(t, id); r.State != "sending" {
		t.Fatalf("a leased message was taken: %+v", r)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE notifications SET locked_until = now() - interval '1 second' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.Drain(ctx, s.pool, s.mailer, notify.Options{ShopName: "Acme Tools"}); err != nil {
		t.Fatal(err)
	}
	if r := s.row(t, id); r.State != "sent" || r.Attempts != 2 {
		t.Errorf("after the lease: %+v", r)
	}
	// The shop's name comes from the control plane when the data has none.
	s.inbox.Wait(t, to, "Your order 9 from Acme Tools is on its way")
}

func TestTemplatesStore(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	tmpl, err := notify.TemplateFor(ctx, s.pool, notify.StaffInvitation)
	if err != nil || tmpl.Custom {
		t.Fatalf("default: %+v %v", tmpl, err)
	}
	errs, err := notify.SaveTemplate(ctx, s.pool, notify.StaffInvitation, "Join {{.ShopName}}", "Hi\n{{.Lnk}}\n", 0)
	if err != nil || !strings.Contains(errs["body"], "Line 2: {{.Lnk}} is not a placeholder") {
		t.Fatalf("a bad template: %v %v", errs, err)
	}
	if tmpl, _ := notify.TemplateFor(ctx, s.pool, notify.StaffInvitation); tmpl.Custom {
		t.Error("a refused template was saved")
	}
	if errs, err := notify.SaveTemplate(ctx, s.pool, notify.StaffInvitation, "Join {{.ShopName}}", "Hi\n{{.Link}}\n", 0); errs != nil || err != nil {
		t.Fatalf("save: %v %v", errs, err)
	}
	all, err := notify.Templates(ctx, s.pool)
	if err != nil || len(all) != len(notify.Kinds) {
		t.Fatalf("templates: %v %v", all, err)
	}
	for i, k := range notify.Kinds {
		if all[i].Kind != k.Name || all[i].Custom != (k.Name == notify.StaffInvitation) {
			t.Errorf("%s: %+v", k.Name, all[i])
		}
	}
	if had, err := notify.ResetTemplate(ctx, s.pool, notify.StaffInvitation); !had || err != nil {
		t.Errorf("reset: %v %v", had, err)
	}
	if had, _ := notify.ResetTemplate(ctx, s.pool, notify.StaffInvitation); had {
		t.Error("reset twice")
	}
	if _, err := notify.ResetTemplate(ctx, s.pool, "nope"); !errors.Is(err, notify.ErrUnknownKind) {
		t.Errorf("reset an unknown kind: %v", err)
	}
}
