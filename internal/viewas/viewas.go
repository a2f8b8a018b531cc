// Package viewas makes and checks the tickets of a platform admin's
// read-only "view as vendor": the control plane issues a short-lived ticket
// (recorded in the control-plane database and signed with a key derived
// from the master key) and sends the admin to the vendor's host; the tenant
// app checks the signature, the expiry and the vendor, then redeems the
// ticket once through redeem_view_as_ticket, which records its use in the
// audit log. Both programs derive the key here, so it can never differ.
package viewas

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// TTL is how long a ticket may be used after it is issued.
const TTL = time.Minute

// Key derives the tickets' signing key from the platform's master key.
// The key is used for nothing else.
func Key(masterKey []byte) []byte {
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("storefleet view-as ticket v1"))
	return m.Sum(nil)
}

// Ticket is what a signed ticket says.
type Ticket struct {
	ID         string    `json:"id"`
	VendorID   int64     `json:"v"`
	AdminID    int64     `json:"a"`
	AdminEmail string    `json:"e"`
	Expires    time.Time `json:"x"`
}

// Errors of Parse; all mean "refuse".
var (
	ErrMalformed = errors.New("the ticket is malformed or its signature is wrong")
	ErrExpired   = errors.New("the ticket has expired")
	ErrVendor    = errors.New("the ticket is for another vendor")
	// ErrUsed is returned by redeemers when the control plane refuses a
	// ticket (already used, expired or unknown).
	ErrUsed = errors.New("the ticket has already been used or is no longer valid")
)

// Sign encodes and signs a ticket: base64url(JSON) "." base64url(HMAC).
func Sign(key []byte, t Ticket) string {
	body, _ := json.Marshal(t)
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload))
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Parse checks a signed ticket's signature, its expiry against now and
// that it was made for vendorID.
func Parse(key []byte, s string, vendorID int64, now time.Time) (*Ticket, error) {
	if len(s) > 1024 {
		return nil, ErrMalformed
	}
	payload, sig, ok := strings.Cut(s, ".")
	if !ok {
		return nil, ErrMalformed
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, payload)) {
		return nil, ErrMalformed
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, ErrMalformed
	}
	var t Ticket
	if err := json.Unmarshal(body, &t); err != nil || t.ID == "" || t.VendorID == 0 {
		return nil, ErrMalformed
	}
	if !now.Before(t.Expires) {
		return &t, ErrExpired
	}
	if t.VendorID != vendorID {
		return &t, ErrVendor
	}
	return &t, nil
}

// Redeem uses a ticket once, through redeem_view_as_ticket on the control
// plane (the tenant app calls it as the router role), which also writes
// the audit row. It returns the admin's e-mail; ErrUsed if the control
// plane refuses the ticket.
func Redeem(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, t *Ticket, vendorID int64, clientAddr, requestID string) (string, error) {
	var email *string
	if err := q.QueryRow(ctx, `SELECT redeem_view_as_ticket($1, $2, $3, $4)`, t.ID, vendorID, clientAddr, requestID).Scan(&email); err != nil {
		return "", fmt.Errorf("redeem view-as ticket: %w", err)
	}
	if email == nil {
		return "", ErrUsed
	}
	return *email, nil
}

// Issue records a ticket for an admin to view a vendor inside tx (the
// caller writes its audit row in the same transaction) and returns it
// signed. The ticket expires after TTL.
func Issue(ctx context.Context, tx pgx.Tx, key []byte, vendorID, adminID int64, adminEmail string, now time.Time) (string, *Ticket, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("view-as ticket: %w", err)
	}
	t := Ticket{ID: base64.RawURLEncoding.EncodeToString(b), VendorID: vendorID, AdminID: adminID, AdminEmail: adminEmail,
		Expires: now.Add(TTL).UTC().Truncate(time.Millisecond)}
	var admin *int64
	if adminID != 0 {
		admin = &adminID
	}
	if _, err := tx.Exec(ctx, `INSERT INTO view_as_tickets (id, vendor_id, admin_id, admin_email, issued_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, t.ID, vendorID, admin, adminEmail, now, t.Expires); err != nil {
		return "", nil, fmt.Errorf("record view-as ticket for vendor %d: %w", vendorID, err)
	}
	return Sign(key, t), &t, nil
}
