package app

import (
	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/templates"
)

// adminService is the console's admin management: invitations e-mailed
// with templates/controlplane/mail, TOTP secrets sealed with the master
// key, and session records whose revocation deletes the session from the
// same Redis store (and prefix) the console's sessions live in.
func (m *Main) adminService() *admins.Service {
	mailer, err := mail.New(m.Config.SMTPURL, templates.FS, "controlplane/mail")
	if err != nil {
		// The templates are embedded: this is a broken build, and the
		// SMTP URL was checked when the platform was wired.
		m.Logger.Error("admin e-mail is unavailable", "err", err)
		mailer, _ = mail.New("", templates.FS, "controlplane/mail")
	}
	sm := m.sessions(&web.Responder{Logger: m.Logger, Unavailable: consoleUnavailable}) // the console's settings and store
	return admins.New(admins.Options{
		Store: m.Platform.Store, Box: m.Platform.Box, Mailer: mailer, ConsoleURL: m.Config.ControlPlanePublicURL,
		Sessions: sm.Store, SessionLifetime: sm.Lifetime, SessionIdle: sm.IdleTimeout, Logger: m.Logger,
	})
}
