package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/viewas"
)

// issueTicket records and signs a view-as ticket as the console does.
func issueTicket(t *testing.T, s *shopEnv, v *platform.Vendor, at time.Time) string {
	t.Helper()
	var ticket string
	err := s.e.Store.Transact(context.Background(), func(tx pgx.Tx) error {
		var err error
		ticket, _, err = viewas.Issue(context.Background(), tx, viewas.Key(s.e.Cfg.MasterKey), v.ID, 0, "ada@platform.example", at)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ticket
}

func cpAudit(t *testing.T, s *shopEnv, action string, v *platform.Vendor) []platform.AuditRow {
	t.Helper()
	rows, err := s.e.Store.RecentAudit(context.Background(), platform.AuditFilter{Action: action, TargetType: "vendor",
		TargetID: strconv.FormatInt(v.ID, 10), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestViewAsVendor(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "viewas-shop", "View Shop")
	other := s.e.CreateVendor(t, "viewas-other", "Other Shop")
	ticket := issueTicket(t, s, v, time.Now())
	path := "/admin/impersonate?ticket=" + url.QueryEscape(ticket)

	t.Run("refused on another vendor's host", func(t *testing.T) {
		b := &browser{t: t, s: s, host: other.Host}
		code, body, _ := b.do("GET", path, nil)
		if code != http.StatusForbidden || !strings.Contains(body, "made for another shop") {
			t.Fatalf("ticket on another host: %d\n%s", code, body)
		}
		if code, _, _ := b.do("GET", "/admin/", nil); code != http.StatusSeeOther {
			t.Errorf("the other shop's back office after a refused ticket: %d, want a redirect to sign in", code)
		}
	})

	b := &browser{t: t, s: s, host: v.Host}
	code, body, hdr := b.do("GET", path, nil)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/admin/" {
		t.Fatalf("redeem the ticket: %d %s\n%s", code, hdr.Get("Location"), body)
	}
	code, body, _ = b.do("GET", "/admin/", nil)
	if code != http.StatusOK || !strings.Contains(body, "Viewing as ada@platform.example, read-only") {
		t.Fatalf("back office in a read-only session: %d\n%s", code, body)
	}
	for _, page := range []string{"/admin/products", "/admin/orders", "/admin/settings", "/admin/team"} {
		if code, body, _ := b.do("GET", page, nil); code != http.StatusOK {
			t.Errorf("GET %s read-only: %d\n%.500s", page, code, body)
		}
	}
	// Every change is refused, with or without the form's token.
	for _, page := range []string{"/admin/settings", "/admin/products", "/admin/categories", "/admin/logout-everywhere"} {
		code, body, _ := b.do("POST", page, url.Values{"display_name": {"Changed"}})
		if code != http.StatusForbidden || !strings.Contains(body, "read-only view") {
			t.Errorf("POST %s read-only: %d, want 403\n%.500s", page, code, body)
		}
	}
	var name string
	if err := s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT display_name FROM shop_profile`).Scan(&name); err == nil && name == "Changed" {
		t.Error("a read-only session changed the shop's name")
	}

	// Audited on the control plane and in the shop's own log.
	if rows := cpAudit(t, s, "vendor.view_as_opened", v); len(rows) != 1 || rows[0].Actor != "admin:ada@platform.example" {
		t.Errorf("vendor.view_as_opened rows: %+v", rows)
	}
	if rows := cpAudit(t, s, "vendor.view_as_refused", other); len(rows) != 1 || !strings.Contains(string(rows[0].After), "another vendor") {
		t.Errorf("refusal on the other host: %+v", rows)
	}
	var shopRows int
	if err := s.e.VendorPool(t, v).QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'platform.view_as'
		AND actor = 'platform:ada@platform.example'`).Scan(&shopRows); err != nil || shopRows != 1 {
		t.Errorf("the shop's audit log has %d platform.view_as rows (%v), want 1", shopRows, err)
	}

	t.Run("replayed", func(t *testing.T) {
		b := &browser{t: t, s: s, host: v.Host}
		code, body, _ := b.do("GET", path, nil)
		if code != http.StatusForbidden || !strings.Contains(body, "already been used") {
			t.Fatalf("replayed ticket: %d\n%s", code, body)
		}
		if rows := cpAudit(t, s, "vendor.view_as_refused", v); len(rows) != 1 || !strings.Contains(string(rows[0].After), "already used") {
			t.Errorf("replay audit rows: %+v", rows)
		}
	})

	t.Run("expired", func(t *testing.T) {
		old := issueTicket(t, s, v, time.Now().Add(-2*viewas.TTL))
		b := &browser{t: t, s: s, host: v.Host}
		code, body, _ := b.do("GET", "/admin/impersonate?ticket="+url.QueryEscape(old), nil)
		if code != http.StatusForbidden || !strings.Contains(body, "expired") {
			t.Fatalf("expired ticket: %d\n%s", code, body)
		}
	})

	t.Run("forged", func(t *testing.T) {
		fresh := issueTicket(t, s, v, time.Now())
		payload, _, _ := strings.Cut(fresh, ".")
		forged := viewas.Sign([]byte("not the platform's key"), viewas.Ticket{ID: "x", VendorID: v.ID, Expires: time.Now().Add(time.Minute)})
		for _, tk := range []string{payload + ".AAAA", forged, "nonsense"} {
			b := &browser{t: t, s: s, host: v.Host}
			code, body, _ := b.do("GET", "/admin/impersonate?ticket="+url.QueryEscape(tk), nil)
			if code != http.StatusForbidden || !strings.Contains(body, "not a valid ticket") {
				t.Errorf("ticket %q: %d\n%.300s", tk, code, body)
			}
		}
	})

	// Signing out ends the read-only session.
	if code, _, _ := b.do("POST", "/admin/logout", url.Values{}); code != http.StatusSeeOther {
		t.Errorf("sign out of a read-only session: %d", code)
	}
	if code, _, _ := b.do("GET", "/admin/", nil); code != http.StatusSeeOther {
		t.Errorf("back office after signing out: %d, want a redirect", code)
	}
}
