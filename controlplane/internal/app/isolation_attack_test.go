package app_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/controlplane/internal/stripehook"
	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/payments"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/testenv/attack"
)

// The control plane's side of the isolation attack suite (issue 9,
// docs/security.md): Stripe webhooks signed correctly but routed with one
// vendor's connected account while naming another vendor's orders,
// accounts and ids; events for accounts no vendor has; vendor work
// (jobs) asked for another vendor or none; restores of one vendor from
// another's backup; and vendors' staff API tokens against every route of
// the admin API. Every attempt must be refused and write nothing in any
// vendor's database or bucket, or in the control plane's vendor records.
func TestIsolationAttackSuite(t *testing.T) {
	t.Parallel()
	h := newHookEnv(t)
	ctx := context.Background()
	a, b := h.a, h.b
	// Colliding orders: order 1001 in both shops, and one intent id that
	// both hold (each shop's own order).
	oa, ob := newOrder(t, a), newOrder(t, b)
	if oa.id != ob.id {
		t.Fatalf("the orders do not collide: %d and %d", oa.id, ob.id)
	}
	ob2 := newOrder(t, b) // an order only B has
	for _, s := range []*hookShop{a, b} {
		if _, err := s.pool.Exec(ctx, `INSERT INTO notifications (kind, to_email, data) VALUES ('order_confirmation', $1, '{}')`,
			"waiting@"+s.v.Slug+".example"); err != nil {
			t.Fatal(err)
		}
	}
	// A backup of each, made before the stores are watched.
	bkA, err := h.Backups.Run(ctx, platform.Actor{Kind: "cli", Name: "tester"}, a.v.Slug, "manual")
	if err != nil {
		t.Fatal(err)
	}
	bkB, err := h.Backups.Run(ctx, platform.Actor{Kind: "cli", Name: "tester"}, b.v.Slug, "manual")
	if err != nil {
		t.Fatal(err)
	}

	// A real staff API token of each vendor (an active owner's, as the back
	// office makes them), made before the stores are watched.
	tokA, tokB := isoStaffToken(t, a), isoStaffToken(t, b)

	l := attack.New(t, "controlplane")
	l.AtLeast(150)
	for _, s := range []*hookShop{a, b} {
		l.Watch(attack.Database("database of "+s.v.Slug, s.pool))
		l.Watch(attack.Bucket("bucket of "+s.v.Slug, h.Objects.Client(), s.v.Bucket))
	}
	l.Watch(attack.Tables("control plane's vendor records", h.CP, "vendors", "vendor_databases", "buckets", "domains",
		"stripe_accounts", "backups", "feature_flag_overrides", "vendor_work"))

	t.Run("webhooks", func(t *testing.T) {
		isoWebhooks(t, h, l, oa, ob, ob2)
	})
	t.Run("staff tokens on the admin API", func(t *testing.T) {
		routes, err := h.Main.RouteTable()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		l.Quietly("staff tokens on the admin API", func() {
			for _, r := range routes {
				if !strings.HasPrefix(r.Path, "/api/v1/") || r.Path == "/api/v1/openapi.json" {
					continue
				}
				n++
				path := isoFill(r.Path, b.v.Slug)
				for _, tok := range []struct{ whose, secret string }{{"the vendor's own", tokB}, {"another vendor's", tokA}} {
					l.Try("admin API", fmt.Sprintf("%s staff token: %s %s", tok.whose, r.Method, path), func() error {
						req, _ := http.NewRequest(r.Method, h.URL+path, strings.NewReader(`{"confirm":"`+b.v.Slug+`","backup_id":`+strconv.FormatInt(bkA.ID, 10)+`}`))
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("Authorization", "Bearer "+tok.secret)
						res, err := http.DefaultClient.Do(req)
						if err != nil {
							return err
						}
						body, _ := io.ReadAll(res.Body)
						res.Body.Close()
						if res.StatusCode != 401 {
							return fmt.Errorf("status %d, want 401: %.200s", res.StatusCode, body)
						}
						return nil
					})
				}
			}
		})
		if n < 20 {
			t.Fatalf("only %d admin API routes", n)
		}
	})
	t.Run("restores and backups", func(t *testing.T) {
		admin := h.api(h.newToken())
		l.Quietly("restores from another vendor's backup", func() {
			for _, c := range []struct {
				slug string
				id   int64
			}{{a.v.Slug, bkB.ID}, {b.v.Slug, bkA.ID}} {
				l.Try("backup", fmt.Sprintf("restore %s from backup %d of the other vendor", c.slug, c.id), func() error {
					p := admin.do("POST", "/api/v1/vendors/"+c.slug+"/restore", map[string]any{"backup_id": c.id, "confirm": c.slug})
					if p.Status != 409 {
						return fmt.Errorf("status %d, want 409: %.300s", p.Status, p.Body)
					}
					return nil
				})
			}
			for _, c := range []struct {
				slug  string
				other int64
			}{{a.v.Slug, bkB.ID}, {b.v.Slug, bkA.ID}} {
				l.Try("backup", "the backups list of "+c.slug, func() error {
					p := admin.do("GET", "/api/v1/vendors/"+c.slug+"/backups", nil)
					if p.Status != 200 || strings.Contains(p.Body, `"id":`+strconv.FormatInt(c.other, 10)+",") {
						return fmt.Errorf("the list shows the other vendor's backup %d: %d %.300s", c.other, p.Status, p.Body)
					}
					return nil
				})
			}
		})
		for _, bk := range []struct {
			slug   string
			prefix string
			bucket string
		}{{a.v.Slug, bkA.Prefix, bkA.Bucket}, {b.v.Slug, bkB.Prefix, bkB.Bucket}} {
			l.Check("backup", "the backup objects of "+bk.slug+" are under its own prefix", func() error {
				// The prefix's first segment is the vendor's own, exactly:
				// v{vendor id} (backup.Prefix).
				first, _, _ := strings.Cut(bk.prefix, "/")
				if want := "v" + strconv.FormatInt(vendorIDOf(t, h, bk.slug), 10); first != want {
					return fmt.Errorf("prefix %q does not start with the vendor's own segment %q/", bk.prefix, want)
				}
				if bkA.Prefix == bkB.Prefix {
					return fmt.Errorf("two vendors' backups share the prefix %q", bk.prefix)
				}
				return nil
			}())
		}
	})
	t.Run("vendor work", func(t *testing.T) {
		isoJobs(t, h, l)
	})
}

// isoStaffToken makes a staff API token in shop s's database as the back
// office does (tenantapp/internal/backoffice/api_tokens.go: "sfstaff_" and
// 32 random bytes in base64url, stored as its SHA-256, for an active
// member) and returns its secret; it checks that the token is one the
// tenant app's API would take.
func isoStaffToken(t *testing.T, s *hookShop) string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, `INSERT INTO staff (email, name, role_id, is_owner, status)
		SELECT $1, 'Owner', (SELECT id FROM staff_roles WHERE name = 'Owner' AND builtin), true, 'active'
		WHERE NOT EXISTS (SELECT FROM staff WHERE is_owner)`, "owner@"+s.v.Slug+".example"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE staff SET status = 'active' WHERE is_owner`); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := "sfstaff_" + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	if _, err := s.pool.Exec(ctx, `INSERT INTO staff_tokens (staff_id, purpose, name, token_hash, expires_at)
		SELECT id, 'api', 'isolation suite', $1, now() + interval '30 days' FROM staff WHERE is_owner`, sum[:]); err != nil {
		t.Fatal(err)
	}
	var status string
	if err := s.pool.QueryRow(ctx, `SELECT s.status FROM staff_tokens t JOIN staff s ON s.id = t.staff_id
		WHERE t.token_hash = $1 AND t.purpose = 'api' AND (t.expires_at IS NULL OR t.expires_at > now())`, sum[:]).Scan(&status); err != nil || status != "active" {
		t.Fatalf("%s: the staff token is not one the shop's API takes: %q %v", s.v.Slug, status, err)
	}
	return secret
}

func vendorIDOf(t *testing.T, h *hookEnv, slug string) int64 {
	t.Helper()
	v, err := h.Store.VendorBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

// isoFill puts values in a route's variables.
func isoFill(path, slug string) string {
	var out strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] != '{' {
			out.WriteByte(path[i])
			continue
		}
		depth, j := 0, i
		for ; j < len(path); j++ {
			if path[j] == '{' {
				depth++
			} else if path[j] == '}' {
				if depth--; depth == 0 {
					break
				}
			}
		}
		name, _, _ := strings.Cut(path[i+1:j], ":")
		switch name {
		case "slug":
			out.WriteString(slug)
		case "host":
			out.WriteString(slug + ".localhost")
		case "key", "name", "queue":
			out.WriteString("x")
		default:
			out.WriteString("1")
		}
		i = j
	}
	return out.String()
}

// isoWebhooks delivers, for every event type the webhook handles, events
// signed with the platform's secret that try to reach vendor B's data:
// from A's connected account naming B's order, intent and vendor id, from
// accounts no vendor has, and from no account at all.
func isoWebhooks(t *testing.T, h *hookEnv, l *attack.Ledger, oa, ob, ob2 *order) {
	a, b := h.a, h.b
	types := stripehook.HandledEvents()
	if len(types) < 8 {
		t.Fatalf("only %d event types", len(types))
	}
	objectFor := func(typ string, intent string, vendor *hookShop, amount int64, account string) map[string]any {
		meta := map[string]string{"vendor_id": strconv.FormatInt(vendor.v.ID, 10), "order_id": strconv.FormatInt(ob.id, 10)}
		switch {
		case strings.HasPrefix(typ, "payment_intent."):
			return map[string]any{"id": intent, "object": "payment_intent", "amount": amount, "amount_received": amount,
				"currency": "eur", "status": "succeeded", "metadata": meta,
				"last_payment_error": map[string]any{"message": "declined"}}
		case typ == "charge.refunded":
			return map[string]any{"id": "ch_T" + randHex(6), "object": "charge", "payment_intent": intent, "amount": amount,
				"amount_refunded": amount, "metadata": meta, "refunds": map[string]any{"object": "list", "data": []any{
					map[string]any{"id": "re_T" + randHex(6), "object": "refund", "amount": amount, "status": "succeeded",
						"payment_intent": intent, "metadata": meta}}}}
		case strings.HasPrefix(typ, "charge.refund.") || strings.HasPrefix(typ, "refund."):
			return map[string]any{"id": "re_T" + randHex(6), "object": "refund", "amount": amount, "status": "succeeded",
				"payment_intent": intent, "metadata": meta}
		case strings.HasPrefix(typ, "charge.dispute."):
			return map[string]any{"id": "dp_T" + randHex(6), "object": "dispute", "amount": amount, "status": "lost",
				"payment_intent": intent, "metadata": meta}
		case typ == "account.updated":
			return map[string]any{"id": account, "object": "account", "charges_enabled": false, "details_submitted": false, "metadata": meta}
		}
		t.Fatalf("no object for %s", typ)
		return nil
	}
	scenarios := []struct {
		name    string
		account string    // the connected account the event comes from
		intent  string    // the order's PaymentIntent it names
		named   *hookShop // the vendor its metadata names
		about   string    // the account an account.updated event is about
	}{
		{"A's account, B's order and vendor id", a.account, ob.intent, b, b.account},
		{"A's account, B's order, A's vendor id", a.account, ob.intent, a, b.account},
		{"A's account, B's only order", a.account, ob2.intent, a, b.account},
		{"A's account, A's order, B's vendor id", a.account, oa.intent, b, b.account},
		{"B's account spelt otherwise", strings.ToUpper(b.account), ob.intent, b, strings.ToUpper(b.account)},
		{"B's account with a space", b.account + " ", ob.intent, b, b.account + " "},
		{"an account no vendor has", "acct_T" + randHex(8), ob.intent, b, "acct_T" + randHex(8)},
		{"no account (a platform event)", "", ob.intent, b, b.account},
	}
	l.Quietly("webhooks", func() {
		for _, typ := range types {
			for _, sc := range scenarios {
				l.Try("webhook", fmt.Sprintf("%s: %s", typ, sc.name), func() error {
					obj := objectFor(typ, sc.intent, sc.named, ob.total, sc.about)
					code, out := h.deliver(t, event(evID(), typ, sc.account, obj))
					if code != 200 || out["status"] != "ignored" {
						return fmt.Errorf("%d %v, want 200 ignored", code, out)
					}
					return nil
				})
			}
		}
		// Not signed with the platform's secret: refused before anything
		// is read, whatever it names.
		for _, typ := range types {
			l.Try("webhook", typ+": signed with another secret, from B's account", func() error {
				body := event(evID(), typ, b.account, objectFor(typ, ob.intent, b, ob.total, b.account))
				code, _, _ := h.post(t, body, payments.SignPayload(body, "whsec_"+randHex(12), time.Now()))
				if code != 400 {
					return fmt.Errorf("status %d, want 400", code)
				}
				return nil
			})
		}
	})
	if n := count(t, h.CP, `SELECT count(*) FROM stripe_events WHERE outcome LIKE 'applied%'`); n != 0 {
		l.Check("webhook", "no event applied", fmt.Errorf("%d events applied", n))
	}
}

// isoJobs: vendor work is asked for by vendor id only; work asked for one
// vendor touches only that vendor's database (A's waiting e-mail stays
// waiting while B's work runs), and work for no vendor, or of a kind that
// does not exist, is refused by the control plane's database.
func isoJobs(t *testing.T, h *hookEnv, l *attack.Ledger) {
	ctx := context.Background()
	a, b := h.a, h.b
	if err := jobs.Migrate(ctx, h.CP); err != nil {
		t.Fatal(err)
	}
	r, err := jobs.Start(ctx, envPlatform(h.Env), logging.New(io.Discard, "text", "error"), jobs.Options{NoSchedules: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(sctx)
	}()
	for _, c := range []struct {
		name   string
		vendor int64
		kind   string
	}{
		{"work for a vendor that does not exist", 999999, "mail"},
		{"work of a kind that does not exist", b.v.ID, "exports"},
		{"work for vendor 0", 0, "mail"},
		{"work for a negative vendor", -a.v.ID, "mail"},
	} {
		l.Try("job", c.name, func() error {
			if _, err := h.CP.Exec(ctx, `SELECT request_vendor_work($1, $2)`, c.vendor, c.kind); err == nil {
				return fmt.Errorf("request_vendor_work(%d, %q) was accepted", c.vendor, c.kind)
			}
			return nil
		})
	}
	// B's mail is sent while A's waiting e-mail stays where it is: only
	// B's database may change (its e-mail is marked sent or failed).
	watch := []attack.Watcher{attack.Database("database of "+a.v.Slug, a.pool), attack.Bucket("bucket of "+a.v.Slug, h.Objects.Client(), a.v.Bucket)}
	l.TryWith(watch, "job", "B's mail work leaves A's outbox alone", func() error {
		if _, err := h.CP.Exec(ctx, `SELECT request_vendor_work($1, 'mail')`, b.v.ID); err != nil {
			return err
		}
		deadline := time.Now().Add(20 * time.Second)
		for count(t, h.CP, `SELECT count(*) FROM vendor_work WHERE vendor_id = $1`, b.v.ID) > 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("B's mail work did not run")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n := count(t, a.pool, `SELECT count(*) FROM notifications WHERE state = 'pending'`); n != 1 {
			return fmt.Errorf("A's outbox holds %d waiting e-mails, want 1", n)
		}
		return nil
	})
}
