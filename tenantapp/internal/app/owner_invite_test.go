package app_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/mail/mailtest"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/staff"
)

// A new vendor's owner is e-mailed a link on the shop's own domain; it
// opens the back office once; the provisioner can send a fresh one (to a
// new address) until the owner has a password, and then refuses.
func TestOwnerInvitedAtProvisioning(t *testing.T) {
	s := newShopEnv(t)
	s.e.UseMailer(t)
	inbox := mailtest.New(t, s.e.Vars["STOREFLEET_MAILPIT_URL"])
	ctx := context.Background()
	actor := platform.Actor{Kind: "cli", Name: "test"}

	first := mailtest.UniqueAddress("olive", "invited.example")
	v, err := s.e.Prov.CreateVendor(ctx, actor, provision.CreateRequest{Slug: "invited", Name: "Invited & Co", OwnerEmail: first})
	if err != nil {
		t.Fatal(err)
	}
	msg := inbox.Wait(t, first, "Your shop Invited & Co is ready")
	old := linkIn(t, msg, s.e.Cfg.TenantPublicURL, "invited.localhost")
	if msg.From.Name != "Invited & Co" {
		t.Errorf("sender name %q", msg.From.Name)
	}
	evs, err := s.e.Store.VendorEvents(ctx, v.ID, 5)
	if err != nil || len(evs) == 0 || !strings.Contains(evs[0].Message, "owner invitation e-mailed to "+first) {
		t.Errorf("the vendor's history does not note the invitation: %+v %v", evs, err)
	}

	// Sent again to another address: that address becomes the owner's,
	// here and in the control plane, and the first link stops working.
	second := mailtest.UniqueAddress("olga", "invited.example")
	inv, err := s.e.Prov.InviteOwner(ctx, actor, "invited", second)
	if err != nil || !inv.Sent || inv.Link != "" || inv.Email != second {
		t.Fatalf("invite again: %+v %v", inv, err)
	}
	link := linkIn(t, inbox.Wait(t, second, "is ready"), s.e.Cfg.TenantPublicURL, "invited.localhost")
	if v2, _ := s.e.Store.VendorBySlug(ctx, "invited"); v2.OwnerEmail != second {
		t.Errorf("control plane still says the owner is %s", v2.OwnerEmail)
	}
	b := &browser{t: t, s: s, host: "invited.localhost"}
	if code, _, _ := b.do("GET", old.Path, nil); code != 410 {
		t.Errorf("the replaced link: %d", code)
	}
	// The link is for this shop only.
	other := s.e.CreateVendor(t, "bystander", "Bystander")
	ob := &browser{t: t, s: s, host: "bystander.localhost"}
	if code, _, _ := ob.do("GET", link.Path, nil); code != 410 {
		t.Errorf("the link on another shop's host: %d", code)
	}
	_ = other
	if code, _, _ := b.do("GET", link.Path, nil); code != 200 {
		t.Fatalf("the invitation page: %d", code)
	}
	pw := "a long owner password"
	if code, _, _ := b.do("POST", link.Path, url.Values{"name": {"Olga"}, "password": {pw}, "password_again": {pw}}); code != 303 {
		t.Fatalf("accept: %d", code)
	}
	if code := (&browser{t: t, s: s, host: "invited.localhost"}).login(second, pw); code != 303 {
		t.Errorf("the owner cannot sign in: %d", code)
	}

	// Now the owner has a password: no more invitations.
	if _, err := s.e.Prov.InviteOwner(ctx, actor, "invited", ""); !errors.Is(err, staff.ErrOwnerActive) {
		t.Errorf("invite an active owner: %v", err)
	}
	// Bad input: nothing changes.
	if _, err := s.e.Prov.InviteOwner(ctx, actor, "bystander", "not an address"); err == nil {
		t.Error("a bad address is accepted")
	}
	if v3, _ := s.e.Store.VendorBySlug(ctx, "bystander"); v3.OwnerEmail != "owner@bystander.example" {
		t.Errorf("a refused invitation changed the owner's address to %s", v3.OwnerEmail)
	}
	if _, err := s.e.Prov.Suspend(ctx, actor, "bystander", "test"); err != nil {
		t.Fatal(err)
	}
	var se *provision.StateError
	if _, err := s.e.Prov.InviteOwner(ctx, actor, "bystander", ""); !errors.As(err, &se) {
		t.Errorf("invite the owner of a suspended shop: %v", err)
	}
}

// Without a mailer the invitation is made and its link handed back.
func TestOwnerInvitationWithoutMail(t *testing.T) {
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "quiet", "Quiet")
	inv, err := s.e.Prov.InviteOwner(context.Background(), platform.Actor{Kind: "cli", Name: "test"}, v.Slug, "")
	if !errors.Is(err, provision.ErrMailNotConfigured) || inv == nil || inv.Sent {
		t.Fatalf("%+v %v", inv, err)
	}
	u, err := url.Parse(inv.Link)
	if err != nil || u.Host != "quiet.localhost:8080" && !strings.HasPrefix(u.Host, "quiet.localhost") {
		t.Fatalf("link %q: %v", inv.Link, err)
	}
	b := &browser{t: t, s: s, host: "quiet.localhost"}
	if code, _, _ := b.do("GET", u.Path, nil); code != 200 {
		t.Errorf("the link does not open: %d", code)
	}
}
