package admins

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/platform"
)

// SessionKey is the key scs keeps a session under when it hashes tokens
// in the store (HashTokenInStore): base64url of the token's SHA-256. The
// session records are keyed by it, never by the token itself.
func SessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Session is the record of one console session.
type Session struct {
	ID         int64
	AdminID    int64
	Key        string
	UserAgent  string
	ClientAddr string
	CreatedAt  time.Time
	LastSeenAt time.Time
	EndedAt    *time.Time
	EndReason  string
}

// touchEvery is how stale last_seen_at may get before a request updates it.
const touchEvery = time.Minute

// StartSession records a session at sign-in.
func (s *Service) StartSession(ctx context.Context, adminID int64, key, userAgent, clientAddr string) error {
	_, err := s.o.Store.Pool().Exec(ctx, `INSERT INTO admin_sessions (admin_id, token_hash, user_agent, client_addr) VALUES ($1, $2, $3, $4)
		ON CONFLICT (token_hash) DO NOTHING`, adminID, key, truncate(userAgent, 500), clientAddr)
	if err != nil {
		return fmt.Errorf("record session: %w", err)
	}
	return nil
}

// CheckSession is called on every signed-in request: it reports whether
// the session may go on (false if it was revoked or belongs to another
// admin), records sessions that predate the records, and keeps
// last_seen_at and the address fresh (at most once a minute).
func (s *Service) CheckSession(ctx context.Context, adminID int64, key, userAgent, clientAddr string) (bool, error) {
	var owner int64
	var ended *time.Time
	var seen time.Time
	var addr string
	err := s.o.Store.Pool().QueryRow(ctx, `SELECT admin_id, ended_at, last_seen_at, client_addr FROM admin_sessions WHERE token_hash = $1`, key).
		Scan(&owner, &ended, &seen, &addr)
	if errors.Is(err, pgx.ErrNoRows) {
		return true, s.StartSession(ctx, adminID, key, userAgent, clientAddr)
	}
	if err != nil {
		return false, fmt.Errorf("check session: %w", err)
	}
	if ended != nil || owner != adminID {
		return false, nil
	}
	if time.Since(seen) > touchEvery || addr != clientAddr {
		if _, err := s.o.Store.Pool().Exec(ctx, `UPDATE admin_sessions SET last_seen_at = now(), client_addr = $2 WHERE token_hash = $1`,
			key, clientAddr); err != nil {
			return false, fmt.Errorf("touch session: %w", err)
		}
	}
	return true, nil
}

// EndSession closes a session's record (sign-out) and deletes it from
// the store.
func (s *Service) EndSession(ctx context.Context, key, reason string) error {
	if _, err := s.o.Store.Pool().Exec(ctx, `UPDATE admin_sessions SET ended_at = now(), end_reason = $2 WHERE token_hash = $1 AND ended_at IS NULL`,
		key, reason); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return s.deleteStored(ctx, key)
}

func (s *Service) deleteStored(ctx context.Context, key string) error {
	if s.o.Sessions == nil {
		return nil
	}
	var err error
	if cs, ok := s.o.Sessions.(scs.CtxStore); ok {
		err = cs.DeleteCtx(ctx, key)
	} else {
		err = s.o.Sessions.Delete(key)
	}
	if err != nil {
		return fmt.Errorf("delete session from the store: %w", err)
	}
	return nil
}

// Sessions lists an admin's sessions still open (not ended, not idle or
// old enough to have expired), newest activity first.
func (s *Service) Sessions(ctx context.Context, adminID int64) ([]Session, error) {
	rows, err := s.o.Store.Pool().Query(ctx, `SELECT id, admin_id, token_hash, user_agent, client_addr, created_at, last_seen_at, ended_at, end_reason
		FROM admin_sessions WHERE admin_id = $1 AND ended_at IS NULL
			AND last_seen_at > now() - $2::interval AND created_at > now() - $3::interval
		ORDER BY last_seen_at DESC, id DESC`, adminID, interval(s.o.SessionIdle), interval(s.o.SessionLifetime))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Session])
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// RevokeSession ends one of an admin's sessions: its record is closed and
// the session deleted from the store, so its next request is signed out.
func (s *Service) RevokeSession(ctx context.Context, actor platform.Actor, adminID, sessionID int64) error {
	var key string
	err := s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE admin_sessions SET ended_at = now(), end_reason = 'revoked by ' || $3
			WHERE id = $1 AND admin_id = $2 AND ended_at IS NULL RETURNING token_hash`, sessionID, adminID, actor.String()).Scan(&key)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("open session %d: %w", sessionID, platform.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke session %d: %w", sessionID, err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "admin.session_revoke", TargetType: "admin_session",
			TargetID: strconv.FormatInt(sessionID, 10), After: map[string]any{"admin_id": adminID}})
	})
	if err != nil {
		return err
	}
	return s.deleteStored(ctx, key)
}

// EndSessions ends every open session of an admin but the one with key
// keep, and returns how many.
func (s *Service) EndSessions(ctx context.Context, adminID int64, keep, reason string) (int, error) {
	rows, err := s.o.Store.Pool().Query(ctx, `UPDATE admin_sessions SET ended_at = now(), end_reason = $3
		WHERE admin_id = $1 AND token_hash <> $2 AND ended_at IS NULL RETURNING token_hash`, adminID, keep, reason)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	for _, k := range keys {
		if err := s.deleteStored(ctx, k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
