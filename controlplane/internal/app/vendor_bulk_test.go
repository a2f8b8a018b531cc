package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
)

func idsForm(action string, vs ...*platform.Vendor) url.Values {
	f := url.Values{"action": {action}}
	for _, v := range vs {
		f.Add("id", strconv.FormatInt(v.ID, 10))
	}
	return f
}

// auditFor returns the audit rows of one action on one vendor.
func (c *cp) auditFor(action string, v *platform.Vendor) []platform.AuditRow {
	c.t.Helper()
	var out []platform.AuditRow
	for _, r := range c.audit(action) {
		if r.TargetType == "vendor" && r.TargetID == strconv.FormatInt(v.ID, 10) {
			out = append(out, r)
		}
	}
	return out
}

func TestVendorBulkActions(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	va := c.CreateVendor(t, "bulk-alpha", "Alpha Bulk")
	vb := c.CreateVendor(t, "bulk-bravo", "Bravo Bulk")
	vc := c.CreateVendor(t, "bulk-charlie", "Charlie Bulk")
	if _, err := c.Prov.Suspend(ctx, platform.Actor{Kind: "system", Name: "test"}, vc.Slug, "set up"); err != nil {
		t.Fatal(err)
	}
	b := c.browser()
	b.mustLogin()

	list := b.get("/admin/vendors")
	wantStatus(t, "vendor list", list, http.StatusOK)
	wantContains(t, "vendor list", list.Body, `form="bulk" name="id" value="`+strconv.FormatInt(va.ID, 10)+`"`,
		`action="/admin/vendors/bulk"`, "Back up now", "Change plan", ">starter<")

	t.Run("nothing selected", func(t *testing.T) {
		p := b.get("/admin/vendors/bulk?action=suspend")
		wantStatus(t, "confirm without vendors", p, http.StatusSeeOther)
		wantContains(t, "flash", b.get("/admin/vendors").Body, "Select the vendors first")
	})

	t.Run("suspend, one failing", func(t *testing.T) {
		q := idsForm("suspend", va, vc)
		p := b.get("/admin/vendors/bulk?" + q.Encode())
		wantStatus(t, "confirmation", p, http.StatusOK)
		wantContains(t, "confirmation", p.Body, "Suspend 2 vendors?", va.Slug, vc.Slug, `name="reason"`)
		if len(c.auditFor("vendor.suspend", va)) != 0 {
			t.Fatal("the confirmation page suspended a vendor")
		}
		// The reason is required.
		p = b.submit("/admin/vendors/bulk?"+q.Encode(), "/admin/vendors/bulk", idsForm("suspend", va, vc))
		wantStatus(t, "suspend without a reason", p, http.StatusUnprocessableEntity)
		wantContains(t, "suspend without a reason", p.Body, "Say why the shops are suspended")

		f := idsForm("suspend", va, vc)
		f.Set("reason", "unpaid invoices")
		p = b.submit("/admin/vendors/bulk?"+q.Encode(), "/admin/vendors/bulk", f)
		wantStatus(t, "bulk suspend", p, http.StatusOK)
		wantContains(t, "results", p.Body, "1 succeeded", "1 failed", "Suspended: its storefront answers 503",
			"vendor bulk-charlie is Suspended; cannot suspend it")
		if v, _ := c.Store.VendorByID(ctx, va.ID); v.State != platform.StateSuspended {
			t.Errorf("alpha is %s after the bulk suspension", v.State)
		}
		if rows := c.auditFor("vendor.suspend", va); len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail {
			t.Errorf("alpha's vendor.suspend audit rows: %+v", rows)
		}
		rows := c.auditFor("vendor.bulk_failed", vc)
		if len(rows) != 1 || !strings.Contains(string(rows[0].After), "cannot suspend") || !strings.Contains(string(rows[0].After), "unpaid invoices") {
			t.Errorf("charlie's vendor.bulk_failed audit rows: %+v", rows)
		}
	})

	t.Run("resume", func(t *testing.T) {
		p := b.submit("/admin/vendors", "/admin/vendors/bulk", idsForm("resume", va, vc, vb))
		wantStatus(t, "bulk resume", p, http.StatusOK)
		wantContains(t, "results", p.Body, "2 succeeded", "1 failed", "vendor bulk-bravo is Active; cannot resume it")
		for _, v := range []*platform.Vendor{va, vc} {
			if got, _ := c.Store.VendorByID(ctx, v.ID); got.State != platform.StateActive {
				t.Errorf("%s is %s after the bulk resume", v.Slug, got.State)
			}
			if len(c.auditFor("vendor.resume", v)) != 1 {
				t.Errorf("%s: no vendor.resume audit row", v.Slug)
			}
		}
		if len(c.auditFor("vendor.bulk_failed", vb)) != 1 {
			t.Error("bravo's failed resume is not audited")
		}
	})

	t.Run("change plan", func(t *testing.T) {
		f := idsForm("plan", va, vb)
		f.Set("plan", "enterprise")
		p := b.submit("/admin/vendors", "/admin/vendors/bulk", f)
		wantStatus(t, "unknown plan", p, http.StatusUnprocessableEntity)
		f.Set("plan", "growth")
		p = b.submit("/admin/vendors", "/admin/vendors/bulk", f)
		wantStatus(t, "bulk plan", p, http.StatusOK)
		wantContains(t, "results", p.Body, "2 succeeded", "Now on Growth.")
		plans, err := c.Store.VendorPlans(ctx, []int64{va.ID, vb.ID, vc.ID})
		if err != nil {
			t.Fatal(err)
		}
		if plans[va.ID] != "growth" || plans[vb.ID] != "growth" || plans[vc.ID] != "starter" {
			t.Errorf("plans %v", plans)
		}
		rows := c.auditFor("vendor.plan_change", va)
		if len(rows) != 1 || !strings.Contains(string(rows[0].Before), "starter") || !strings.Contains(string(rows[0].After), "growth") {
			t.Errorf("alpha's vendor.plan_change rows: %+v", rows)
		}
		// Again: nothing changes, nothing more is audited.
		p = b.submit("/admin/vendors", "/admin/vendors/bulk", f)
		wantContains(t, "again", p.Body, "Already on Growth")
		if len(c.auditFor("vendor.plan_change", va)) != 1 {
			t.Error("an unchanged plan was audited")
		}
		wantContains(t, "vendor list", b.get("/admin/vendors").Body, ">growth<")
		wantContains(t, "vendor page", b.get("/admin/vendors/"+va.Slug).Body, "Growth")

		// One vendor's page changes its plan too.
		p = b.submit("/admin/vendors/"+vc.Slug, "/admin/vendors/"+vc.Slug+"/plan", url.Values{"plan": {"scale"}})
		wantStatus(t, "plan form", p, http.StatusSeeOther)
		if len(c.auditFor("vendor.plan_change", vc)) != 1 {
			t.Error("the plan form did not audit")
		}
	})

	t.Run("back up now", func(t *testing.T) {
		p := b.submit("/admin/vendors", "/admin/vendors/bulk", idsForm("backup", va, vb))
		wantStatus(t, "bulk backup", p, http.StatusOK)
		wantContains(t, "results", p.Body, "2 succeeded", "Backup started")
		deadline := time.Now().Add(60 * time.Second)
		for _, v := range []*platform.Vendor{va, vb} {
			for len(c.auditFor("backup.create_requested", v)) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%s: no backup.create_requested audit row", v.Slug)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		// Let the backups finish before the test's services go.
		for _, v := range []*platform.Vendor{va, vb} {
			for {
				list, err := c.Backups.List(ctx, v.ID, 5)
				if err != nil {
					t.Fatal(err)
				}
				if len(list) > 0 && list[0].State != "running" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: the backup did not end", v.Slug)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
}

func TestViewAsVendorFromTheConsole(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	v := c.CreateVendor(t, "viewas-alpha", "Alpha View")
	off := c.CreateVendor(t, "viewas-off", "Off View")
	if _, err := c.Prov.Suspend(ctx, platform.Actor{Kind: "system", Name: "test"}, off.Slug, "set up"); err != nil {
		t.Fatal(err)
	}
	b := c.browser()
	b.mustLogin()
	wantContains(t, "vendor page", b.get("/admin/vendors/"+v.Slug).Body, `action="/admin/vendors/`+v.Slug+`/view-as"`)

	p := b.submit("/admin/vendors/"+v.Slug, "/admin/vendors/"+v.Slug+"/view-as", nil)
	wantStatus(t, "view as", p, http.StatusSeeOther)
	want := strings.ReplaceAll(c.Cfg.TenantPublicURL, "{host}", v.Host) + "/admin/impersonate?ticket="
	if !strings.HasPrefix(p.Location, want) {
		t.Fatalf("view as redirects to %q, want %s…", p.Location, want)
	}
	rows := c.auditFor("vendor.view_as", v)
	if len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail {
		t.Errorf("vendor.view_as audit rows: %+v", rows)
	}
	var n int
	var expires, issued time.Time
	if err := c.CP.QueryRow(ctx, `SELECT count(*), max(expires_at), max(issued_at) FROM view_as_tickets WHERE vendor_id = $1 AND used_at IS NULL`, v.ID).
		Scan(&n, &expires, &issued); err != nil || n != 1 || expires.Sub(issued) > time.Minute {
		t.Errorf("tickets: %d, valid %s (%v); want one of at most a minute", n, expires.Sub(issued), err)
	}

	// A suspended vendor's back office is not offered.
	p = b.submit("/admin/vendors/"+off.Slug, "/admin/vendors/"+off.Slug+"/view-as", nil)
	wantStatus(t, "view a suspended vendor", p, http.StatusSeeOther)
	wantContains(t, "flash", b.get(p.Location).Body, "Only an active vendor")
	if len(c.auditFor("vendor.view_as", off)) != 0 {
		t.Error("a refused view-as was recorded as issued")
	}
}
