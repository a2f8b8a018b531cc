// Package staff is the store of a vendor's staff accounts, their roles and
// one-time tokens, and the vendor's own audit log, all in the vendor's
// database. Every function takes the vendor's pool: there is no way to
// reach another vendor's staff from here.
package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
)

// ErrNotFound means no such staff member or token.
var ErrNotFound = errors.New("not found")

// Member is a staff account.
type Member struct {
	ID                 int64
	Email              string
	Name               string
	PasswordHash       *string
	RoleID             int64
	RoleName           string
	Permissions        []string
	IsOwner            bool
	Status             string
	SessionsValidAfter time.Time
	CreatedAt          time.Time
	LastLoginAt        *time.Time
}

// Can reports whether the member holds a permission.
func (m *Member) Can(perm string) bool {
	if m == nil || m.Status != "active" {
		return false
	}
	for _, p := range m.Permissions {
		if p == perm {
			return true
		}
	}
	return false
}

const memberSQL = `SELECT s.id, s.email, s.name, s.password_hash, s.role_id, r.name, r.permissions, s.is_owner, s.status,
	s.sessions_valid_after, s.created_at, s.last_login_at
	FROM staff s JOIN staff_roles r ON r.id = s.role_id`

func scan(row pgx.Row) (*Member, error) {
	var m Member
	err := row.Scan(&m.ID, &m.Email, &m.Name, &m.PasswordHash, &m.RoleID, &m.RoleName, &m.Permissions, &m.IsOwner, &m.Status,
		&m.SessionsValidAfter, &m.CreatedAt, &m.LastLoginAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &m, err
}

// ByEmail finds a member by e-mail, ignoring case.
func ByEmail(ctx context.Context, db *pgxpool.Pool, email string) (*Member, error) {
	m, err := scan(db.QueryRow(ctx, memberSQL+` WHERE lower(s.email) = lower($1)`, strings.TrimSpace(email)))
	if err != nil {
		return nil, fmt.Errorf("find staff by e-mail: %w", err)
	}
	return m, nil
}

// ByID finds a member.
func ByID(ctx context.Context, db *pgxpool.Pool, id int64) (*Member, error) {
	m, err := scan(db.QueryRow(ctx, memberSQL+` WHERE s.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("find staff %d: %w", id, err)
	}
	return m, nil
}

// EnsureOwner creates the shop owner's account (invited, no password) if
// the shop has no owner yet. It is idempotent.
func EnsureOwner(ctx context.Context, db database.Beginner, email string) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO staff (email, name, role_id, is_owner, status)
			SELECT $1, '', (SELECT id FROM staff_roles WHERE name = 'Owner' AND builtin), true, 'invited'
			WHERE NOT EXISTS (SELECT FROM staff WHERE is_owner)`, strings.TrimSpace(email))
		if err != nil {
			return fmt.Errorf("create the owner's account: %w", err)
		}
		return nil
	})
}

// Token purposes and lifetimes.
const (
	PurposeInvite = "invite"
	PurposeReset  = "reset"
	InviteTTL     = 7 * 24 * time.Hour
	ResetTTL      = time.Hour
)

// NewToken makes a one-time token for a member, valid for ttl, replacing
// any unused one of the same purpose. It returns the secret (shown or
// e-mailed once; only its hash is stored).
func NewToken(ctx context.Context, db *pgxpool.Pool, staffID int64, purpose string, ttl time.Duration) (string, error) {
	var secret string
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		var err error
		secret, err = newToken(ctx, tx, staffID, purpose, ttl)
		return err
	})
	return secret, err
}

// newToken is NewToken inside tx.
func newToken(ctx context.Context, tx pgx.Tx, staffID int64, purpose string, ttl time.Duration) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make token: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	if _, err := tx.Exec(ctx, `DELETE FROM staff_tokens WHERE staff_id = $1 AND purpose = $2 AND used_at IS NULL`, staffID, purpose); err != nil {
		return "", fmt.Errorf("replace %s token: %w", purpose, err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO staff_tokens (staff_id, purpose, token_hash, expires_at) VALUES ($1, $2, $3, now() + $4::interval)`,
		staffID, purpose, sum[:], fmt.Sprintf("%d seconds", int(ttl.Seconds())))
	if err != nil {
		return "", fmt.Errorf("save %s token: %w", purpose, err)
	}
	return secret, nil
}

// ErrTokenInvalid means a token is unknown, used, or expired.
var ErrTokenInvalid = errors.New("this link is not valid any more: it was used already or has expired; ask for a new one")

// PeekToken returns the member a valid, unused token belongs to, without
// using it.
func PeekToken(ctx context.Context, db *pgxpool.Pool, secret, purpose string) (*Member, error) {
	sum := sha256.Sum256([]byte(secret))
	var id int64
	err := db.QueryRow(ctx, `SELECT staff_id FROM staff_tokens WHERE token_hash = $1 AND purpose = $2
		AND used_at IS NULL AND expires_at > now()`, sum[:], purpose).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrTokenInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("check token: %w", err)
	}
	return ByID(ctx, db, id)
}

// SetPasswordWithToken uses a token (once) to set a member's password and
// activate the account; every earlier session ends.
func SetPasswordWithToken(ctx context.Context, db *pgxpool.Pool, secret, purpose, passwordHash, name string, audit Entry) (*Member, error) {
	sum := sha256.Sum256([]byte(secret))
	var id int64
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE staff_tokens SET used_at = now() WHERE token_hash = $1 AND purpose = $2
			AND used_at IS NULL AND expires_at > now() RETURNING staff_id`, sum[:], purpose).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTokenInvalid
		}
		if err != nil {
			return fmt.Errorf("use token: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE staff SET password_hash = $2, status = CASE WHEN status = 'disabled' THEN status ELSE 'active' END,
			name = CASE WHEN $3 <> '' THEN $3 ELSE name END, sessions_valid_after = now() WHERE id = $1`, id, passwordHash, name)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		audit.StaffID, audit.TargetType, audit.TargetID = id, "staff", fmt.Sprint(id)
		return Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return ByID(ctx, db, id)
}

// RecordLogin notes a successful login.
func RecordLogin(ctx context.Context, db *pgxpool.Pool, id int64, audit Entry) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE staff SET last_login_at = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("record login: %w", err)
		}
		return Audit(ctx, tx, audit)
	})
}

// LogOutEverywhere ends every session of a member.
func LogOutEverywhere(ctx context.Context, db *pgxpool.Pool, id int64, audit Entry) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE staff SET sessions_valid_after = now() WHERE id = $1`, id); err != nil {
			return fmt.Errorf("log out everywhere: %w", err)
		}
		return Audit(ctx, tx, audit)
	})
}

// Entry is a row of the vendor's audit log.
type Entry struct {
	StaffID    int64
	Actor      string
	Action     string
	TargetType string
	TargetID   string
	Before     any
	After      any
	ClientAddr string
	RequestID  string
}

// Audit writes an entry inside tx.
func Audit(ctx context.Context, tx pgx.Tx, e Entry) error {
	enc := func(v any) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		return json.Marshal(v)
	}
	before, err := enc(e.Before)
	if err != nil {
		return err
	}
	after, err := enc(e.After)
	if err != nil {
		return err
	}
	var staffID *int64
	if e.StaffID != 0 {
		staffID = &e.StaffID
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (staff_id, actor, action, target_type, target_id, before, after, client_addr, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, staffID, e.Actor, e.Action, e.TargetType, e.TargetID, before, after, e.ClientAddr, e.RequestID)
	if err != nil {
		return fmt.Errorf("write audit entry %s: %w", e.Action, err)
	}
	return nil
}
