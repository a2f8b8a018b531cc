package backoffice

import (
	"context"
	"errors"
	"time"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// mailSetup is how the back office sends e-mail: the mailer, and the
// tenant app's public URL with {host} standing for the vendor's host.
type mailSetup struct {
	mailer    *mail.Mailer
	publicURL string
}

// SetMailer gives the back office its mailer and the tenant app's public
// URL ("https://{host}", STOREFLEET_TENANT_PUBLIC_URL), from which links
// in e-mails are built on the vendor's primary domain. It returns h, for
// chaining. Without it, invitations and password resets cannot be sent.
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

// errNoMail means the back office has no working e-mail.
var errNoMail = errors.New("e-mail is not set up on this platform")

// absURL is an absolute link to path on the vendor's primary domain as
// the control plane knows it (isolation rule 4): never the request's Host
// or X-Forwarded-Host, never the shared host's /vendor/<slug> path.
func (h *Handler) absURL(t *tenant.Tenant, path string) (string, error) {
	return tenant.AbsURL(h.mail().publicURL, t, path)
}

// sendMail renders a mail and sends it from the shop to one address.
func (h *Handler) sendMail(ctx context.Context, t *tenant.Tenant, to, template string, data any) error {
	s := h.mail()
	if !s.mailer.Configured() {
		return errNoMail
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return s.mailer.Send(ctx, mail.Message{To: to, FromName: t.Entry.Name, Template: template, Data: data})
}

// sendInvite e-mails an invitation link for token to to.
func (h *Handler) sendInvite(ctx context.Context, t *tenant.Tenant, to, roleName, invitedBy, token string) error {
	link, err := h.absURL(t, "/admin/invite/"+token)
	if err != nil {
		return err
	}
	return h.sendMail(ctx, t, to, "mail_invite", staff.InviteMail{ShopName: t.Entry.Name, InvitedBy: invitedBy,
		RoleName: roleName, Link: link, Expires: mail.Lifetime(staff.InviteTTL)})
}

// resetMail is what mail_password_reset renders.
type resetMail struct {
	ShopName string
	Email    string
	Link     string
	Expires  string
}
