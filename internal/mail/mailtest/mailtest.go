// Package mailtest reads what the test services' SMTP catcher (mailpit)
// received, through its HTTP API, so tests can follow the links in the
// e-mails the programs send.
package mailtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Address is a mailbox in mailpit's answers.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Message is one received e-mail.
type Message struct {
	ID      string    `json:"ID"`
	From    Address   `json:"From"`
	To      []Address `json:"To"`
	ReplyTo []Address `json:"ReplyTo"`
	Subject string    `json:"Subject"`
	Text    string    `json:"Text"`
	HTML    string    `json:"HTML"`
}

// Inbox is mailpit's API at URL (STOREFLEET_MAILPIT_URL).
type Inbox struct {
	URL    string
	Client *http.Client
}

// New returns the inbox of the mailpit at baseURL; an empty URL fails the
// test and says what to start.
func New(t testing.TB, baseURL string) *Inbox {
	t.Helper()
	if baseURL == "" {
		t.Fatal("STOREFLEET_MAILPIT_URL is not set; start the test services with `make test-services`")
	}
	return &Inbox{URL: strings.TrimSuffix(baseURL, "/"), Client: &http.Client{Timeout: 10 * time.Second}}
}

// UniqueAddress returns a fresh address at domain, so that tests sharing
// one mailpit find their own messages.
func UniqueAddress(local, domain string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return local + "-" + hex.EncodeToString(b) + "@" + domain
}

func (in *Inbox) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := in.Client.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// To lists the messages received for addr, newest first (GET
// /api/v1/search, then GET /api/v1/message/{ID} for each).
func (in *Inbox) To(ctx context.Context, addr string) ([]*Message, error) {
	var list struct {
		Messages []struct {
			ID string `json:"ID"`
			To []Address
		} `json:"messages"`
	}
	if err := in.get(ctx, "/api/v1/search?limit=100&query="+url.QueryEscape(`to:"`+addr+`"`), &list); err != nil {
		return nil, err
	}
	var out []*Message
	for _, s := range list.Messages {
		match := false
		for _, a := range s.To {
			match = match || strings.EqualFold(a.Address, addr)
		}
		if !match {
			continue
		}
		var m Message
		if err := in.get(ctx, "/api/v1/message/"+url.PathEscape(s.ID), &m); err != nil {
			return nil, err
		}
		out = append(out, &m)
	}
	return out, nil
}

// Wait returns the newest message for addr whose subject contains subject,
// waiting up to 10 seconds for it; it fails the test if none comes.
func (in *Inbox) Wait(t testing.TB, addr, subject string) *Message {
	t.Helper()
	return in.WaitN(t, addr, subject, 1)[0]
}

// WaitN waits until at least n messages for addr have a subject that
// contains subject, and returns them, newest first.
func (in *Inbox) WaitN(t testing.TB, addr, subject string, n int) []*Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last error
	for {
		msgs, err := in.To(ctx, addr)
		var found []*Message
		for _, m := range msgs {
			if strings.Contains(m.Subject, subject) {
				found = append(found, m)
			}
		}
		if err == nil && len(found) >= n {
			return found
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("%d of %d messages", len(found), n)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no e-mail to %s with %q in the subject arrived in mailpit (%v)", addr, subject, last)
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Count returns how many messages addr has received.
func (in *Inbox) Count(t testing.TB, addr string) int {
	t.Helper()
	msgs, err := in.To(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}
