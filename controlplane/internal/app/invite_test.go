package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/mail/mailtest"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/testenv"
)

func TestOwnerInvitationFromConsoleAndAPI(t *testing.T) {
	t.Parallel()
	c := startWith(t, func(e *testenv.Env, _ *app.Main) { e.UseMailer(t) })
	inbox := mailtest.New(t, c.Vars["STOREFLEET_MAILPIT_URL"])
	b := c.browser()
	b.mustLogin()

	owner := mailtest.UniqueAddress("wile", "acme.example")
	p := b.submit("/admin/vendors/new", "/admin/vendors", url.Values{"slug": {"acme"}, "name": {"Acme"}, "owner_email": {owner}})
	wantStatus(t, "create", p, http.StatusSeeOther)
	inbox.Wait(t, owner, "Your shop Acme is ready")
	wantContains(t, "vendor page", b.get("/admin/vendors/acme").Body, "Invite the owner", "owner invitation e-mailed to "+owner)

	// The console: a bad address is shown next to the field; a good one
	// becomes the owner's and gets the mail.
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/invite-owner", url.Values{"owner_email": {"nope"}})
	wantStatus(t, "bad address", p, http.StatusUnprocessableEntity)
	wantContains(t, "bad address", p.Body, `id="owner_email-error"`)
	other := mailtest.UniqueAddress("road", "acme.example")
	p = b.submit("/admin/vendors/acme", "/admin/vendors/acme/invite-owner", url.Values{"owner_email": {other}})
	wantStatus(t, "invite", p, http.StatusSeeOther)
	wantContains(t, "after invite", b.get("/admin/vendors/acme").Body, "Invitation e-mailed to "+other)
	inbox.Wait(t, other, "is ready")
	if v, _ := c.Store.VendorBySlug(context.Background(), "acme"); v.OwnerEmail != other {
		t.Errorf("owner e-mail is %s", v.OwnerEmail)
	}
	if rows := c.audit("vendor.owner_email"); len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail {
		t.Errorf("vendor.owner_email audit rows = %+v", rows)
	}

	// The API.
	api := c.api(c.newToken())
	p = api.do(http.MethodPost, "/api/v1/vendors/acme/owner-invitation", nil)
	wantStatus(t, "API invite", p, http.StatusOK)
	inv := decode[provision.OwnerInvitation](t, p)
	if !inv.Sent || inv.Email != other || inv.Link != "" {
		t.Errorf("API invitation: %+v", inv)
	}
	inbox.WaitN(t, other, "is ready", 2)
	wantAPIError(t, "bad address", api.do(http.MethodPost, "/api/v1/vendors/acme/owner-invitation", map[string]string{"email": "x"}), http.StatusUnprocessableEntity, "email")
	wantAPIError(t, "unknown vendor", api.do(http.MethodPost, "/api/v1/vendors/nobody/owner-invitation", nil), http.StatusNotFound, "")
	if _, err := c.Prov.Suspend(context.Background(), platform.Actor{Kind: "cli", Name: "t"}, "acme", "test"); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, "suspended", api.do(http.MethodPost, "/api/v1/vendors/acme/owner-invitation", nil), http.StatusConflict, "")
}
