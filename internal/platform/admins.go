package platform

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
)

// Admin is a platform administrator.
type Admin struct {
	ID           int64      `json:"id"`
	Email        string     `json:"email"`
	Name         string     `json:"name"`
	PasswordHash string     `json:"-"`
	CreatedAt    time.Time  `json:"created_at"`
	DisabledAt   *time.Time `json:"disabled_at,omitempty"`
	// Role is RoleSuperAdmin or RoleSupport (see roles.go).
	Role string `json:"role"`
	// TOTPEnabledAt is when two-factor sign-in was turned on; nil if off.
	TOTPEnabledAt *time.Time `json:"totp_enabled_at,omitempty"`
}

func scanAdmin(row pgx.Row) (*Admin, error) {
	var a Admin
	err := row.Scan(&a.ID, &a.Email, &a.Name, &a.PasswordHash, &a.CreatedAt, &a.DisabledAt, &a.Role, &a.TOTPEnabledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &a, err
}

const adminColumns = `id, email, name, password_hash, created_at, disabled_at, role, totp_enabled_at`

// AdminByEmail finds an admin by e-mail, ignoring case.
func (s *Store) AdminByEmail(ctx context.Context, email string) (*Admin, error) {
	a, err := scanAdmin(s.pool.QueryRow(ctx, `SELECT `+adminColumns+` FROM admins WHERE lower(email) = lower($1)`, strings.TrimSpace(email)))
	if err != nil {
		return nil, fmt.Errorf("find admin by e-mail: %w", err)
	}
	return a, nil
}

// AdminByID finds an admin by id.
func (s *Store) AdminByID(ctx context.Context, id int64) (*Admin, error) {
	a, err := scanAdmin(s.pool.QueryRow(ctx, `SELECT `+adminColumns+` FROM admins WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("find admin %d: %w", id, err)
	}
	return a, nil
}

// UpsertAdmin creates an admin, or sets the password and name of an
// existing one with the same e-mail.
func (s *Store) UpsertAdmin(ctx context.Context, email, name, passwordHash string) (*Admin, error) {
	a, err := scanAdmin(s.pool.QueryRow(ctx, `
		INSERT INTO admins (email, name, password_hash) VALUES ($1, $2, $3)
		ON CONFLICT (lower(email)) DO UPDATE SET name = EXCLUDED.name, password_hash = EXCLUDED.password_hash
		RETURNING `+adminColumns, strings.TrimSpace(email), name, passwordHash))
	if err != nil {
		return nil, fmt.Errorf("save admin %s: %w", email, err)
	}
	return a, nil
}

// APIToken is an admin's API token (without the secret).
type APIToken struct {
	ID         int64      `json:"id"`
	AdminID    int64      `json:"admin_id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// tokenPrefix marks Storefleet admin tokens so secret scanners can find them.
const tokenPrefix = "sfadm_"

// CreateAPIToken makes a token for an admin and returns its secret, which
// is not stored and cannot be shown again.
func (s *Store) CreateAPIToken(ctx context.Context, actor Actor, adminID int64, name string) (string, *APIToken, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("make token: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	var t APIToken
	err := s.Transact(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO admin_api_tokens (admin_id, name, token_hash) VALUES ($1, $2, $3)
			RETURNING id, admin_id, name, created_at, last_used_at, revoked_at`, adminID, name, sum[:]).
			Scan(&t.ID, &t.AdminID, &t.Name, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
		if err != nil {
			return fmt.Errorf("save API token: %w", err)
		}
		return Audit(ctx, tx, actor, AuditEntry{Action: "api_token.create", TargetType: "api_token",
			TargetID: fmt.Sprint(t.ID), After: map[string]any{"name": name, "admin_id": adminID}})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, &t, nil
}

// AdminByToken returns the enabled admin owning an unrevoked token.
func (s *Store) AdminByToken(ctx context.Context, secret string) (*Admin, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return nil, ErrNotFound
	}
	sum := sha256.Sum256([]byte(secret))
	a, err := scanAdmin(s.pool.QueryRow(ctx, `
		WITH t AS (
			UPDATE admin_api_tokens SET last_used_at = now()
			WHERE token_hash = $1 AND revoked_at IS NULL
			RETURNING admin_id)
		SELECT a.id, a.email, a.name, a.password_hash, a.created_at, a.disabled_at, a.role, a.totp_enabled_at
		FROM admins a JOIN t ON t.admin_id = a.id WHERE a.disabled_at IS NULL`, sum[:]))
	if err != nil {
		return nil, fmt.Errorf("check API token: %w", err)
	}
	return a, nil
}

// APITokens lists an admin's tokens.
func (s *Store) APITokens(ctx context.Context, adminID int64) ([]APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, admin_id, name, created_at, last_used_at, revoked_at
		FROM admin_api_tokens WHERE admin_id = $1 ORDER BY id DESC`, adminID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	toks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[APIToken])
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return toks, nil
}

// RevokeAPIToken revokes one of an admin's tokens.
func (s *Store) RevokeAPIToken(ctx context.Context, actor Actor, adminID, tokenID int64) error {
	return s.Transact(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE admin_api_tokens SET revoked_at = now() WHERE id = $1 AND admin_id = $2 AND revoked_at IS NULL`, tokenID, adminID)
		if err != nil {
			return fmt.Errorf("revoke API token: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return Audit(ctx, tx, actor, AuditEntry{Action: "api_token.revoke", TargetType: "api_token", TargetID: fmt.Sprint(tokenID)})
	})
}

// AuditRow is a stored audit log entry.
type AuditRow struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	ClientAddr string          `json:"client_addr"`
	RequestID  string          `json:"request_id"`
}

// AuditFilter narrows RecentAudit.
type AuditFilter struct {
	TargetType, TargetID, Action string
	Limit                        int
}

// RecentAudit lists audit entries, newest first.
func (s *Store) RecentAudit(ctx context.Context, f AuditFilter) ([]AuditRow, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, at, actor, action, target_type, target_id, before, after, client_addr, request_id
		FROM audit_log
		WHERE ($1 = '' OR target_type = $1) AND ($2 = '' OR target_id = $2) AND ($3 = '' OR action = $3)
		ORDER BY id DESC LIMIT $4`, f.TargetType, f.TargetID, f.Action, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AuditRow])
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}
