package provision

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/staff"
)

// OwnerInvitation is what InviteOwner made: a one-time link, valid until
// Expires, for the shop's owner to choose a password.
type OwnerInvitation struct {
	Vendor  string    `json:"vendor"`
	Email   string    `json:"email"`
	Expires time.Time `json:"expires"`
	// Sent says the link was e-mailed. Link is only filled when it was
	// not (no mailer configured), for the operator to hand over.
	Sent bool   `json:"sent"`
	Link string `json:"link,omitempty"`
}

// ErrMailNotConfigured means an invitation was made but the platform has
// no mailer to send it with.
var ErrMailNotConfigured = errors.New("e-mail is not configured (set STOREFLEET_SMTP_URL)")

// InviteOwner gives the owner of an active vendor a fresh invitation link
// (replacing any unused one) and e-mails it. If email is not empty it
// becomes the owner's address, in the vendor's database and in the
// control plane. The link is built from the vendor's primary domain as
// the control plane records it, never from a request. It is refused with
// staff.ErrOwnerActive once the owner has set a password: they use
// "forgot password" from then on.
//
// With no mailer configured the invitation is still made and returned
// with its link, along with ErrMailNotConfigured.
func (p *Provisioner) InviteOwner(ctx context.Context, actor platform.Actor, slug, email string) (*OwnerInvitation, error) {
	v, err := p.o.Store.VendorBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	if v.State != platform.StateActive {
		return nil, &StateError{Slug: slug, State: v.State, Action: "invite the owner of"}
	}
	email = strings.TrimSpace(email)
	token, err := p.ownerToken(ctx, actor, v, email)
	if err != nil {
		return nil, err
	}
	if email == "" {
		email = v.OwnerEmail
	} else if !strings.EqualFold(email, v.OwnerEmail) {
		if err := p.recordOwnerEmail(ctx, actor, v, email); err != nil {
			return nil, err
		}
	}
	inv := &OwnerInvitation{Vendor: v.Slug, Email: email, Expires: time.Now().Add(staff.InviteTTL).UTC().Truncate(time.Second)}
	link, err := p.vendorLink(v, "/admin/invite/"+token)
	if err != nil {
		return nil, err
	}
	if !p.o.Mailer.Configured() {
		inv.Link = link
		return inv, ErrMailNotConfigured
	}
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = p.o.Mailer.Send(sendCtx, mail.Message{To: email, FromName: v.Name, Template: "mail_invite",
		Data: staff.InviteMail{ShopName: v.Name, IsOwner: true, RoleName: staff.OwnerRole, Link: link, Expires: mail.Lifetime(staff.InviteTTL)}})
	if err != nil {
		return nil, fmt.Errorf("e-mail the owner's invitation to %s: %w", email, err)
	}
	inv.Sent = true
	return inv, nil
}

// ownerToken makes the invitation in the vendor's database, connected as
// the vendor's own role.
func (p *Provisioner) ownerToken(ctx context.Context, actor platform.Actor, v *platform.Vendor, email string) (string, error) {
	u, err := p.VendorDatabaseURL(ctx, v)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return "", fmt.Errorf("connect to %s's database: %w", v.Slug, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return staff.InviteOwner(ctx, conn, email, staff.Entry{Actor: "platform: " + actor.String(), RequestID: actor.RequestID})
}

// recordOwnerEmail keeps the control plane's record of the owner's address
// in step with the vendor's database.
func (p *Provisioner) recordOwnerEmail(ctx context.Context, actor platform.Actor, v *platform.Vendor, email string) error {
	return p.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE vendors SET owner_email = $2 WHERE id = $1`, v.ID, email); err != nil {
			return fmt.Errorf("record the owner's e-mail of %s: %w", v.Slug, err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{
			Action: "vendor.owner_email", TargetType: "vendor", TargetID: strconv.FormatInt(v.ID, 10),
			Before: map[string]any{"owner_email": v.OwnerEmail}, After: map[string]any{"owner_email": email},
		})
	})
}

// vendorLink is an absolute link to path on the vendor's primary domain.
func (p *Provisioner) vendorLink(v *platform.Vendor, path string) (string, error) {
	pub := p.o.TenantPublicURL
	if !strings.Contains(pub, "{host}") {
		return "", fmt.Errorf("build a link: the tenant app's public URL %q has no {host} (STOREFLEET_TENANT_PUBLIC_URL)", pub)
	}
	if v.Host == "" {
		return "", fmt.Errorf("build a link: vendor %s has no domain", v.Slug)
	}
	return strings.TrimSuffix(strings.ReplaceAll(pub, "{host}", v.Host), "/") + path, nil
}

// inviteNewOwner sends the first invitation of a vendor that has just
// become active. A failure does not undo the vendor: it is logged and
// noted in the vendor's history, and `provisioner invite-owner` sends it
// again.
func (p *Provisioner) inviteNewOwner(ctx context.Context, id int64) {
	if !p.o.Mailer.Configured() {
		p.log.Info("owner invitation not sent: e-mail is not configured", "vendor_id", id)
		return
	}
	v, err := p.o.Store.VendorByID(ctx, id)
	if err != nil {
		p.log.Error("owner invitation: find vendor", "vendor_id", id, "err", err)
		return
	}
	inv, err := p.InviteOwner(ctx, platform.Actor{Kind: "system", Name: "provisioner"}, v.Slug, "")
	msg, errText := "owner invited", ""
	if err != nil {
		msg, errText = "owner invitation failed; send it again with: provisioner invite-owner --slug "+v.Slug, err.Error()
		p.log.Error("owner invitation failed", "vendor", v.Slug, "err", err)
	} else {
		msg = "owner invitation e-mailed to " + inv.Email
	}
	err = p.o.Store.Transact(context.WithoutCancel(ctx), func(tx pgx.Tx) error {
		return platform.RecordEvent(ctx, tx, v.ID, v.State, msg, errText)
	})
	if err != nil {
		p.log.Error("owner invitation: record event", "vendor", v.Slug, "err", err)
	}
}
