package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/mail/mailtest"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/templates"
)

var testMails = fstest.MapFS{
	"m/mail_hello.txt": {Data: []byte(`{{define "subject"}}Hello {{.Name}}
from {{.Shop}}{{end -}}
Hi {{.Name}}, open {{.Link}}`)},
	"m/mail_hello.html": {Data: []byte(`<p>Hi {{.Name}}, <a href="{{.Link}}">open</a></p>`)},
	"m/mail_plain.txt":  {Data: []byte(`{{define "subject"}}Plain{{end}}Only text.`)},
}

type hello struct{ Name, Shop, Link string }

func TestSendThroughMailpit(t *testing.T) {
	t.Parallel()
	v := testenv.Vars(t)
	m, err := mail.New(v["STOREFLEET_SMTP_URL"]+"?from=shop@storefleet.example", testMails, "m")
	if err != nil {
		t.Fatal(err)
	}
	to := mailtest.UniqueAddress("mailer", "example.com")
	err = m.Send(context.Background(), mail.Message{To: to, FromName: "Acme\r\nBcc: evil@x.example", ReplyTo: "help@acme.example",
		Template: "mail_hello", Data: hello{Name: `Ann <script>`, Shop: "Acme", Link: "http://acme.localhost/x?a=1&b=2"}})
	if err != nil {
		t.Fatal(err)
	}
	got := mailtest.New(t, v["STOREFLEET_MAILPIT_URL"]).Wait(t, to, "Hello")
	if got.Subject != "Hello Ann <script> from Acme" {
		t.Errorf("subject: %q", got.Subject)
	}
	if got.From.Address != "shop@storefleet.example" || got.From.Name != "Acme Bcc: evil@x.example" {
		t.Errorf("from: %+v", got.From)
	}
	if len(got.ReplyTo) != 1 || got.ReplyTo[0].Address != "help@acme.example" {
		t.Errorf("reply-to: %+v", got.ReplyTo)
	}
	if !strings.Contains(got.Text, "Hi Ann <script>, open http://acme.localhost/x?a=1&b=2") {
		t.Errorf("text body: %q", got.Text)
	}
	if !strings.Contains(got.HTML, "Hi Ann &lt;script&gt;") || !strings.Contains(got.HTML, `href="http://acme.localhost/x?a=1&amp;b=2"`) {
		t.Errorf("html body: %q", got.HTML)
	}

	// A mail without an HTML file is sent as plain text.
	if err := m.Send(context.Background(), mail.Message{To: to, Template: "mail_plain"}); err != nil {
		t.Fatal(err)
	}
	plain := mailtest.New(t, v["STOREFLEET_MAILPIT_URL"]).Wait(t, to, "Plain")
	if strings.TrimSpace(plain.Text) != "Only text." || plain.HTML != "" {
		t.Errorf("plain mail: %q %q", plain.Text, plain.HTML)
	}
}

func TestNewChecksTheURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"plain", "smtp://127.0.0.1:2525", true},
		{"with auth and sender", "smtp://user:secret@mail.example:587?from=Shop%20%3Cshop@example.com%3E&tls=mandatory", true},
		{"implicit TLS", "smtps://mail.example", true},
		{"empty is unconfigured", "", true},
		{"no host", "smtp://:25", false},
		{"bad port", "smtp://mail.example:99999", false},
		{"other scheme", "http://mail.example", false},
		{"bad tls", "smtp://mail.example?tls=maybe", false},
		{"bad sender", "smtp://mail.example?from=nobody", false},
		{"timeout", "smtp://mail.example?timeout=5s", true},
		{"bad timeout", "smtp://mail.example?timeout=soon", false},
		{"no timeout", "smtp://mail.example?timeout=0s", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mail.New(tc.url, testMails, "m")
			if (err == nil) != tc.ok {
				t.Errorf("New(%q): %v", tc.url, err)
			}
		})
	}
}

func TestUnconfiguredMailerRendersButDoesNotSend(t *testing.T) {
	t.Parallel()
	m, err := mail.New("", testMails, "m")
	if err != nil {
		t.Fatal(err)
	}
	if m.Configured() {
		t.Error("an empty URL configured a mailer")
	}
	if err := m.Send(context.Background(), mail.Message{To: "a@b.example", Template: "mail_hello", Data: hello{}}); !errors.Is(err, mail.ErrNotConfigured) {
		t.Errorf("send: %v", err)
	}
	r, err := m.Render(mail.Message{Template: "mail_hello", Data: hello{Name: "Bo", Shop: "S", Link: "L"}})
	if err != nil || r.Subject != "Hello Bo from S" {
		t.Errorf("render: %+v %v", r, err)
	}
	if _, err := m.Render(mail.Message{Template: "mail_missing"}); err == nil {
		t.Error("an unknown mail rendered")
	}
}

func TestTemplatesAreCheckedAtStart(t *testing.T) {
	t.Parallel()
	bad := fstest.MapFS{"m/mail_x.txt": {Data: []byte(`no subject here`)}}
	if _, err := mail.New("", bad, "m"); err == nil || !strings.Contains(err.Error(), "subject") {
		t.Errorf("a mail without a subject: %v", err)
	}
	broken := fstest.MapFS{"m/mail_x.txt": {Data: []byte(`{{define "subject"}}x{{end}}{{.Oops`)}}
	if _, err := mail.New("", broken, "m"); err == nil {
		t.Error("a broken template parsed")
	}
	// The program's own mails parse.
	m, err := mail.New("", templates.FS, "tenantapp")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mail_invite", "mail_password_reset"} {
		if !m.Has(name) {
			t.Errorf("no %s", name)
		}
	}
}
