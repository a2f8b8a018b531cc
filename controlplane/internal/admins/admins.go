// Package admins manages the platform's admins: invitations e-mailed as
// one-time links, roles (super admin, read-only support), disabling,
// password changes, TOTP two-factor sign-in with one-time recovery codes,
// and the record of each admin's console sessions, which can be listed
// and revoked. Every change is audited in the same transaction.
package admins

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/secretbox"
)

// Options are the service's dependencies.
type Options struct {
	Store *platform.Store
	// Box seals TOTP secrets under the master key.
	Box *secretbox.Box
	// Mailer sends invitations (templates/controlplane/mail).
	Mailer *mail.Mailer
	// ConsoleURL is the console's public address ("https://admin.example.com"),
	// the base of the links in invitations.
	ConsoleURL string
	// Sessions is where the console's sessions live (scs's store, keys
	// hashed), so revoking one deletes it there.
	Sessions scs.Store
	// SessionLifetime and SessionIdle are the console's session limits:
	// older sessions are not listed as active.
	SessionLifetime, SessionIdle time.Duration
	Logger                       *slog.Logger
}

// Service manages admins.
type Service struct {
	o   Options
	log *slog.Logger
}

// New returns the service.
func New(o Options) *Service {
	s := &Service{o: o, log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.o.SessionLifetime == 0 {
		s.o.SessionLifetime = 12 * time.Hour
	}
	if s.o.SessionIdle == 0 {
		s.o.SessionIdle = 2 * time.Hour
	}
	return s
}

// Errors.
var (
	// ErrLastSuperAdmin means the change would leave no enabled super admin.
	ErrLastSuperAdmin = errors.New("the platform needs at least one enabled super admin")
	// ErrSelf means an admin tried to disable or demote themselves.
	ErrSelf = errors.New("you cannot do that to your own account; ask another super admin")
	// ErrInviteInvalid means an invitation link is unknown, used, revoked or expired.
	ErrInviteInvalid = errors.New("this invitation link is not valid: it was used already, revoked, or has expired")
	// ErrAdminExists means an admin with the e-mail exists already.
	ErrAdminExists = errors.New("an admin with this e-mail address exists already")
	// ErrWrongPassword means the current password given was wrong.
	ErrWrongPassword = errors.New("the current password is wrong")
)

// FieldError is a problem with one form field.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, msg string) error { return &FieldError{Field: field, Message: msg} }

// Row is an admin as the admins page lists them.
type Row struct {
	platform.Admin
	// LastSeenAt is the newest activity of any of their sessions.
	LastSeenAt *time.Time
	// ActiveSessions counts their sessions still open.
	ActiveSessions int
}

// List returns every admin, enabled first, then by e-mail.
func (s *Service) List(ctx context.Context) ([]Row, error) {
	rows, err := s.o.Store.Pool().Query(ctx, `
		SELECT a.id, a.email, a.name, a.password_hash, a.created_at, a.disabled_at, a.role, a.totp_enabled_at,
			(SELECT max(last_seen_at) FROM admin_sessions WHERE admin_id = a.id),
			(SELECT count(*) FROM admin_sessions WHERE admin_id = a.id AND ended_at IS NULL
				AND last_seen_at > now() - $1::interval AND created_at > now() - $2::interval)
		FROM admins a ORDER BY a.disabled_at IS NOT NULL, lower(a.email)`,
		interval(s.o.SessionIdle), interval(s.o.SessionLifetime))
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	var out []Row
	var r Row
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Email, &r.Name, &r.PasswordHash, &r.CreatedAt, &r.DisabledAt, &r.Role,
		&r.TOTPEnabledAt, &r.LastSeenAt, &r.ActiveSessions}, func() error {
		r.PasswordHash = ""
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	return out, nil
}

func interval(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + " seconds"
}

// lockAdmin reads an admin for update.
func lockAdmin(ctx context.Context, tx pgx.Tx, id int64) (*platform.Admin, error) {
	var a platform.Admin
	err := tx.QueryRow(ctx, `SELECT id, email, name, created_at, disabled_at, role, totp_enabled_at FROM admins WHERE id = $1 FOR UPDATE`, id).
		Scan(&a.ID, &a.Email, &a.Name, &a.CreatedAt, &a.DisabledAt, &a.Role, &a.TOTPEnabledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("admin %d: %w", id, platform.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find admin %d: %w", id, err)
	}
	return &a, nil
}

// otherSuperAdmins counts the enabled super admins other than id, locking
// them so two demotions cannot both pass.
func otherSuperAdmins(ctx context.Context, tx pgx.Tx, id int64) (int, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM admins WHERE role = 'super_admin' AND disabled_at IS NULL AND id <> $1 FOR UPDATE`, id)
	if err != nil {
		return 0, fmt.Errorf("count super admins: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("count super admins: %w", err)
	}
	return len(ids), nil
}

// SetRole gives an admin a role.
func (s *Service) SetRole(ctx context.Context, actor platform.Actor, id int64, role string) (*platform.Admin, error) {
	if !platform.ValidRole(role) {
		return nil, fieldErr("role", "choose super admin or support")
	}
	if actor.AdminID == id {
		return nil, ErrSelf
	}
	var out *platform.Admin
	err := s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		a, err := lockAdmin(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.Role == role {
			out = a
			return nil
		}
		if a.Role == platform.RoleSuperAdmin && a.DisabledAt == nil {
			if n, err := otherSuperAdmins(ctx, tx, id); err != nil {
				return err
			} else if n == 0 {
				return ErrLastSuperAdmin
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE admins SET role = $2 WHERE id = $1`, id, role); err != nil {
			return fmt.Errorf("set role of admin %d: %w", id, err)
		}
		before := a.Role
		a.Role = role
		out = a
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "admin.role", TargetType: "admin", TargetID: strconv.FormatInt(id, 10),
			Before: map[string]any{"role": before}, After: map[string]any{"role": role, "email": a.Email}})
	})
	return out, err
}

// SetDisabled disables an admin (their sessions end and their API tokens
// stop working) or enables them again.
func (s *Service) SetDisabled(ctx context.Context, actor platform.Actor, id int64, disabled bool) (*platform.Admin, error) {
	if actor.AdminID == id {
		return nil, ErrSelf
	}
	var out *platform.Admin
	err := s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		a, err := lockAdmin(ctx, tx, id)
		if err != nil {
			return err
		}
		out = a
		if (a.DisabledAt != nil) == disabled {
			return nil
		}
		action := "admin.enable"
		if disabled {
			action = "admin.disable"
			if a.Role == platform.RoleSuperAdmin {
				if n, err := otherSuperAdmins(ctx, tx, id); err != nil {
					return err
				} else if n == 0 {
					return ErrLastSuperAdmin
				}
			}
			err = tx.QueryRow(ctx, `UPDATE admins SET disabled_at = now() WHERE id = $1 RETURNING disabled_at`, id).Scan(&a.DisabledAt)
		} else {
			_, err = tx.Exec(ctx, `UPDATE admins SET disabled_at = NULL WHERE id = $1`, id)
			a.DisabledAt = nil
		}
		if err != nil {
			return fmt.Errorf("%s %d: %w", action, id, err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: action, TargetType: "admin", TargetID: strconv.FormatInt(id, 10),
			After: map[string]any{"email": a.Email}})
	})
	if err != nil {
		return nil, err
	}
	if disabled {
		if _, err := s.EndSessions(ctx, id, "", "account disabled"); err != nil {
			return out, err
		}
	}
	return out, nil
}

// ChangePassword sets a new password after checking the current one, and
// ends the admin's other sessions.
func (s *Service) ChangePassword(ctx context.Context, actor platform.Actor, id int64, current, next, keepSession string) error {
	a, err := s.o.Store.AdminByID(ctx, id)
	if err != nil {
		return err
	}
	ok, err := auth.Verify(current, a.PasswordHash)
	if err != nil {
		return fmt.Errorf("check password of %s: %w", a.Email, err)
	}
	if !ok {
		return fieldErr("current_password", ErrWrongPassword.Error())
	}
	if err := checkPassword(next, a.Email); err != nil {
		return err
	}
	hash, err := auth.Hash(next)
	if err != nil {
		return err
	}
	err = s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE admins SET password_hash = $2, password_changed_at = now() WHERE id = $1`, id, hash); err != nil {
			return fmt.Errorf("change password of admin %d: %w", id, err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "admin.password_change", TargetType: "admin", TargetID: strconv.FormatInt(id, 10)})
	})
	if err != nil {
		return err
	}
	_, err = s.EndSessions(ctx, id, keepSession, "password changed")
	return err
}

// checkPassword applies the password rules.
func checkPassword(pw, email string) error {
	switch {
	case len(pw) < auth.MinPasswordLength || len(pw) > 256:
		return fieldErr("password", fmt.Sprintf("Use %d to 256 characters.", auth.MinPasswordLength))
	case strings.EqualFold(strings.TrimSpace(pw), strings.TrimSpace(email)):
		return fieldErr("password", "Do not use your e-mail address as your password.")
	}
	return nil
}

// randomSecret is 32 random bytes, base64url.
func randomSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("admins: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func sha(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}
