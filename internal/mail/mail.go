// Package mail sends e-mails over SMTP, each with a plain-text and an HTML
// body rendered from templates parsed once at start-up.
//
// A mail named "mail_invite" is the pair of files mail_invite.txt (a
// text/template that must define "subject") and mail_invite.html (an
// html/template, optional) in the template folder. Links in the data are
// the caller's business: build them from the vendor's domain as the
// control plane knows it, never from a request.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net"
	"net/mail"
	"net/textproto"
	"net/url"
	"path"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// ErrNotConfigured means no SMTP server is set (STOREFLEET_SMTP_URL).
var ErrNotConfigured = errors.New("e-mail is not configured (STOREFLEET_SMTP_URL is empty)")

// DefaultFrom is the sender address when the SMTP URL names none.
const DefaultFrom = "no-reply@storefleet.localhost"

// DefaultTimeout bounds the whole SMTP dialogue of one e-mail, from the
// connect to the server's last reply, unless the SMTP URL sets timeout=.
const DefaultTimeout = 20 * time.Second

// Mailer renders and sends e-mails. It is safe for concurrent use.
type Mailer struct {
	host     string
	port     int
	from     string
	ssl      bool // smtps://: TLS from the start (done by dial, not go-mail)
	opts     []gomail.Option
	timeout  time.Duration
	mails    map[string]*templates
	disabled bool
}

type templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template // nil: plain text only
}

// New parses the mails in dir of fsys and returns a Mailer that sends them
// through the SMTP server of smtpURL:
//
//	smtp://[user:password@]host[:port][?from=addr&tls=opportunistic|mandatory|none&timeout=20s]
//	smtps://[user:password@]host[:port][?from=addr&timeout=20s]
//
// smtp:// uses STARTTLS when the server offers it (tls=mandatory requires
// it); smtps:// speaks TLS from the start. timeout bounds the whole
// dialogue of one e-mail (default DefaultTimeout): a server that accepts
// the connection and then never answers costs a send that long, then an
// error worth another try. An empty smtpURL gives a Mailer that renders
// but whose Send returns ErrNotConfigured.
func New(smtpURL string, fsys fs.FS, dir string) (*Mailer, error) {
	m := &Mailer{from: DefaultFrom, timeout: DefaultTimeout, mails: map[string]*templates{}}
	if err := m.parse(fsys, dir); err != nil {
		return nil, err
	}
	if smtpURL == "" {
		m.disabled = true
		return m, nil
	}
	if err := m.configure(smtpURL); err != nil {
		return nil, fmt.Errorf("SMTP URL: %w", err)
	}
	return m, nil
}

func (m *Mailer) configure(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL (want smtp://host:port)")
	}
	q := u.Query()
	port := 0
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return fmt.Errorf("bad port %q", p)
		}
	}
	m.host = u.Hostname()
	if m.host == "" {
		return errors.New("no host (want smtp://host:port)")
	}
	switch u.Scheme {
	case "smtp":
		if port == 0 {
			port = gomail.DefaultPortTLS
		}
		policy := gomail.TLSOpportunistic
		switch q.Get("tls") {
		case "", "opportunistic":
		case "mandatory":
			policy = gomail.TLSMandatory
		case "none":
			policy = gomail.NoTLS
		default:
			return fmt.Errorf("tls=%q: use opportunistic, mandatory or none", q.Get("tls"))
		}
		m.opts = append(m.opts, gomail.WithTLSPolicy(policy))
	case "smtps":
		if port == 0 {
			port = gomail.DefaultPortSSL
		}
		// dial speaks TLS itself (go-mail does not over a dial function of
		// ours); with the opportunistic policy go-mail sees the TLS
		// connection as encrypted, so authentication may use PLAIN or LOGIN
		// as with WithSSL.
		m.ssl = true
		m.opts = append(m.opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		return fmt.Errorf("scheme %q: use smtp:// or smtps://", u.Scheme)
	}
	m.port = port
	m.opts = append(m.opts, gomail.WithPort(port))
	if u.User != nil {
		pw, _ := u.User.Password()
		m.opts = append(m.opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pw))
	}
	if f := q.Get("from"); f != "" {
		a, err := mail.ParseAddress(f)
		if err != nil {
			return fmt.Errorf("from=%q is not an e-mail address", f)
		}
		m.from = a.Address
	}
	if h := q.Get("helo"); h != "" {
		m.opts = append(m.opts, gomail.WithHELO(h))
	}
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return fmt.Errorf("timeout=%q: want a duration like 20s", t)
		}
		m.timeout = d
	}
	return nil
}

// Timeout is how long one e-mail's SMTP dialogue may take.
func (m *Mailer) Timeout() time.Duration { return m.timeout }

func (m *Mailer) parse(fsys fs.FS, dir string) error {
	texts, err := fs.Glob(fsys, path.Join(dir, "mail_*.txt"))
	if err != nil {
		return err
	}
	for _, p := range texts {
		name := strings.TrimSuffix(path.Base(p), ".txt")
		t, err := texttemplate.New(path.Base(p)).Option("missingkey=error").ParseFS(fsys, p)
		if err != nil {
			return fmt.Errorf("parse mail template %s: %w", p, err)
		}
		if t.Lookup("subject") == nil {
			return fmt.Errorf("mail template %s does not define \"subject\"", p)
		}
		ts := &templates{text: t}
		hp := path.Join(dir, name+".html")
		if _, err := fs.Stat(fsys, hp); err == nil {
			h, err := htmltemplate.New(path.Base(hp)).Option("missingkey=error").ParseFS(fsys, hp)
			if err != nil {
				return fmt.Errorf("parse mail template %s: %w", hp, err)
			}
			ts.html = h
		}
		m.mails[name] = ts
	}
	return nil
}

// Configured reports whether Send can reach an SMTP server.
func (m *Mailer) Configured() bool { return m != nil && !m.disabled }

// Has reports whether a mail template exists.
func (m *Mailer) Has(name string) bool { _, ok := m.mails[name]; return ok }

// Message is one e-mail to send.
type Message struct {
	To string
	// FromName is shown as the sender's name (the shop's name); the
	// address is the Mailer's.
	FromName string
	// ReplyTo, if set, is where answers go (the shop's contact address).
	ReplyTo string
	// Template names the mail ("mail_invite"), Data is what it renders.
	Template string
	Data     any
}

// Rendered is a mail ready to send.
type Rendered struct {
	Subject string
	Text    string
	HTML    string // empty if the mail has no HTML body
}

// Render renders a message's subject and bodies.
func (m *Mailer) Render(msg Message) (*Rendered, error) {
	ts, ok := m.mails[msg.Template]
	if !ok {
		return nil, fmt.Errorf("no mail template %q", msg.Template)
	}
	var subj, text, html strings.Builder
	if err := ts.text.ExecuteTemplate(&subj, "subject", msg.Data); err != nil {
		return nil, fmt.Errorf("render %s subject: %w", msg.Template, err)
	}
	if err := ts.text.Execute(&text, msg.Data); err != nil {
		return nil, fmt.Errorf("render %s text: %w", msg.Template, err)
	}
	if ts.html != nil {
		if err := ts.html.Execute(&html, msg.Data); err != nil {
			return nil, fmt.Errorf("render %s html: %w", msg.Template, err)
		}
	}
	// A subject is one line, whatever the data held.
	subject := strings.Join(strings.Fields(subj.String()), " ")
	return &Rendered{Subject: subject, Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}

// Send renders msg and delivers it to the SMTP server.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	if !m.Configured() {
		return ErrNotConfigured
	}
	r, err := m.Render(msg)
	if err != nil {
		return err
	}
	return m.deliver(ctx, Envelope{To: msg.To, FromName: msg.FromName, ReplyTo: msg.ReplyTo}, r, msg.Template)
}

// Envelope says who a mail rendered elsewhere goes to and comes from.
type Envelope struct {
	To string
	// FromName is shown as the sender's name; the address is the Mailer's.
	FromName string
	// ReplyTo, if set, is where answers go.
	ReplyTo string
}

// SendRendered delivers a mail whose subject and bodies were rendered
// elsewhere (the vendors' own templates, see internal/notify).
func (m *Mailer) SendRendered(ctx context.Context, env Envelope, r *Rendered) error {
	if !m.Configured() {
		return ErrNotConfigured
	}
	return m.deliver(ctx, env, r, "mail")
}

// ErrBadAddress means a recipient or reply-to address cannot be used;
// sending again will not help.
var ErrBadAddress = errors.New("not a usable e-mail address")

func (m *Mailer) deliver(ctx context.Context, env Envelope, r *Rendered, what string) error {
	to, err := mail.ParseAddress(env.To)
	if err != nil {
		return fmt.Errorf("recipient %q: %w: %v", env.To, ErrBadAddress, err)
	}
	out := gomail.NewMsg()
	out.FromMailAddress(&mail.Address{Name: oneLine(env.FromName), Address: m.from})
	out.ToMailAddress(to)
	if env.ReplyTo != "" {
		if err := out.ReplyTo(env.ReplyTo); err != nil {
			return fmt.Errorf("reply-to %q: %w: %v", env.ReplyTo, ErrBadAddress, err)
		}
	}
	out.Subject(oneLine(r.Subject))
	out.SetMessageID()
	out.SetDate()
	out.SetBodyString(gomail.TypeTextPlain, r.Text)
	if r.HTML != "" {
		out.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	}
	// go-mail bounds the connect and each message's commands, but not the
	// server's greeting, EHLO, STARTTLS or AUTH, and it ignores ctx once
	// connected: a server that accepts and never answers held a send for
	// as long as the connection lived. dial's connection ends at the
	// deadline whatever go-mail asks, and when ctx does.
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	c, err := gomail.NewClient(m.host, append([]gomail.Option{gomail.WithTimeout(m.timeout),
		gomail.WithDialContextFunc(m.dial(ctx))}, m.opts...)...)
	if err != nil {
		return fmt.Errorf("e-mail client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, out); err != nil {
		if time.Since(start) >= m.timeout {
			err = fmt.Errorf("%w (the SMTP dialogue did not end within %v)", err, m.timeout)
		}
		return fmt.Errorf("send %s to %s via %s: %w", what, to.Address, net.JoinHostPort(m.host, strconv.Itoa(m.port)), err)
	}
	return nil
}

// dial returns go-mail's dial function for one e-mail whose dialogue
// ends with ctx: the connection (under TLS, for smtps://) refuses any
// deadline later than ctx's, and its reads and writes fail (an i/o
// timeout) as soon as ctx ends, by cancellation too.
func (m *Mailer) dial(ctx context.Context) gomail.DialContextFunc {
	end, _ := ctx.Deadline()
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn := &boundedConn{Conn: raw, ctx: ctx, end: end}
		if err := conn.SetDeadline(end); err != nil {
			_ = raw.Close()
			return nil, err
		}
		context.AfterFunc(ctx, func() { _ = raw.SetDeadline(expired) })
		if !m.ssl {
			return conn, nil
		}
		tc := tls.Client(conn, &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return tc, nil
	}
}

// expired is a deadline in the past.
var expired = time.Unix(1, 0)

// boundedConn is a connection whose deadlines never pass end, nor the
// end of ctx.
type boundedConn struct {
	net.Conn
	ctx context.Context
	end time.Time
}

func (c *boundedConn) bound(t time.Time) time.Time {
	switch {
	case c.ctx.Err() != nil:
		return expired
	case t.IsZero() || t.After(c.end):
		return c.end
	}
	return t
}

func (c *boundedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.bound(t)) }
func (c *boundedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.bound(t)) }
func (c *boundedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.bound(t)) }

// Permanent reports whether err says that sending the same mail again
// cannot succeed: the SMTP server refused it with a 5xx reply, or an
// address in it is unusable. Anything else (a server that cannot be
// reached, a 4xx reply, a timeout) is worth another try.
func Permanent(err error) bool {
	if errors.Is(err, ErrBadAddress) {
		return true
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		return code >= 500 && code < 600
	}
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500 && te.Code < 600
}

// Unreachable reports whether err says that the SMTP server could not be
// reached or did not answer in time (a refused or reset connection, a
// timeout), rather than that it refused this message: the next message
// would fare no better.
func Unreachable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// go-mail's SendError does not unwrap: a connection that broke or
	// timed out during MAIL, RCPT or DATA is one without an SMTP reply.
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() == 0 {
		switch se.Reason {
		case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose, gomail.ErrConnCheck:
			return true
		}
	}
	return false
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Lifetime says how long a link lives, in the largest whole unit:
// "7 days", "1 hour", "90 minutes".
func Lifetime(d time.Duration) string {
	n, unit := int(d.Hours()/24), "day"
	if d%(24*time.Hour) != 0 {
		n, unit = int(d.Hours()), "hour"
	}
	if d%time.Hour != 0 {
		n, unit = int(d.Minutes()), "minute"
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
