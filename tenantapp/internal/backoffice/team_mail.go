package backoffice

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/notify"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// mailSetup is how the back office's e-mails are made: the tenant app's
// public URL with {host} standing for the vendor's host, and the mailer
// (only asked whether the platform has SMTP at all: the e-mails
// themselves go through the vendor's outbox and the control plane's job
// system).
type mailSetup struct {
	mailer    *mail.Mailer
	publicURL string
}

// SetMailer gives the back office the platform's mailer and the tenant
// app's public URL ("https://{host}", STOREFLEET_TENANT_PUBLIC_URL), from
// which links in e-mails are built on the vendor's primary domain. It
// returns h, for chaining. Without it, invitations and password resets
// cannot be e-mailed.
func (h *Handler) SetMailer(m *mail.Mailer, publicURL string) *Handler {
	h.mailer = &mailSetup{mailer: m, publicURL: publicURL}
	return h
}

func (h *Handler) mail() *mailSetup {
	if h.mailer != nil {
		return h.mailer
	}
	return &mailSetup{}
}

// absURL is an absolute link to path on the vendor's primary domain as
// the control plane knows it (isolation rule 4): never the request's Host
// or X-Forwarded-Host, never the shared host's /vendor/<slug> path.
func (h *Handler) absURL(t *tenant.Tenant, path string) (string, error) {
	return tenant.AbsURL(h.mail().publicURL, t, path)
}

// staffMember is who a token was made for, read in its transaction.
func staffMember(ctx context.Context, tx pgx.Tx, id int64) (email, role string, err error) {
	err = tx.QueryRow(ctx, `SELECT s.email, r.name FROM staff s JOIN staff_roles r ON r.id = s.role_id WHERE s.id = $1`, id).Scan(&email, &role)
	if err != nil {
		return "", "", fmt.Errorf("read staff member %d: %w", id, err)
	}
	return email, role, nil
}

// queueInvite returns what puts an invitation e-mail for a new token in
// the vendor's outbox, in the token's transaction.
func (h *Handler) queueInvite(t *tenant.Tenant, invitedBy string) staff.WithToken {
	return func(ctx context.Context, tx pgx.Tx, id int64, token string) error {
		link, err := h.absURL(t, "/admin/invite/"+token)
		if err != nil {
			return err
		}
		email, role, err := staffMember(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = notify.Enqueue(ctx, tx, notify.Message{Kind: notify.StaffInvitation, To: email, Data: map[string]any{
			"shop_name": t.Entry.Name, "invited_by": invitedBy, "role_name": role, "link": link,
			"expires": mail.Lifetime(staff.InviteTTL)}})
		return err
	}
}

// queueReset returns what puts a password-reset e-mail for a new token
// in the vendor's outbox, in the token's transaction.
func (h *Handler) queueReset(t *tenant.Tenant) staff.WithToken {
	return func(ctx context.Context, tx pgx.Tx, id int64, token string) error {
		link, err := h.absURL(t, "/admin/password/reset/"+token)
		if err != nil {
			return err
		}
		email, _, err := staffMember(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = notify.Enqueue(ctx, tx, notify.Message{Kind: notify.StaffPasswordReset, To: email, Data: map[string]any{
			"shop_name": t.Entry.Name, "email": email, "link": link, "expires": mail.Lifetime(staff.ResetTTL)}})
		return err
	}
}

// sendQueued asks the control plane's job system to send the vendor's
// outbox, after a message was queued and committed. A failure is logged:
// the message stays queued, and the e-mail log asks again for messages
// that wait too long.
func (h *Handler) sendQueued(ctx context.Context, t *tenant.Tenant) {
	if h.work == nil {
		h.log.Warn("no job system to send e-mail; it stays queued", "vendor", t.Entry.Slug)
		return
	}
	if err := h.work.RequestWork(ctx, t.Entry.VendorID, notify.WorkKind); err != nil {
		h.log.Warn("cannot ask for e-mail to be sent; it stays queued", "vendor", t.Entry.Slug, "err", err)
	}
}
