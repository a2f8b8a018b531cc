package admins

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/database"
	smail "github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/platform"
)

// InviteTTL is how long an invitation link works.
const InviteTTL = 72 * time.Hour

// Invite is an invitation to become an admin.
type Invite struct {
	ID         int64      `json:"id"`
	Email      string     `json:"email"`
	Role       string     `json:"role"`
	InvitedBy  string     `json:"invited_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Expired reports whether the link no longer works by age.
func (i Invite) Expired() bool { return time.Now().After(i.ExpiresAt) }

const inviteColumns = `i.id, i.email, i.role, COALESCE(b.email, ''), i.created_at, i.expires_at, i.accepted_at, i.revoked_at`
const inviteFrom = ` FROM admin_invites i LEFT JOIN admins b ON b.id = i.invited_by`

// PendingInvites lists the invitations not accepted or revoked, newest first.
func (s *Service) PendingInvites(ctx context.Context) ([]Invite, error) {
	rows, err := s.o.Store.Pool().Query(ctx, `SELECT `+inviteColumns+inviteFrom+`
		WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL ORDER BY i.id DESC LIMIT 200`)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Invite])
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return out, nil
}

// Invite creates an invitation and e-mails its one-time link. If the
// e-mail cannot be sent the invitation is withdrawn and the error
// returned (smail.ErrNotConfigured if there is no SMTP server).
func (s *Service) Invite(ctx context.Context, actor platform.Actor, email, role string) (*Invite, error) {
	email = strings.TrimSpace(email)
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		return nil, fieldErr("email", "Enter an e-mail address like name@example.com.")
	}
	if !platform.ValidRole(role) {
		return nil, fieldErr("role", "Choose super admin or support.")
	}
	if !s.o.Mailer.Configured() {
		return nil, smail.ErrNotConfigured
	}
	if _, err := s.o.Store.AdminByEmail(ctx, email); err == nil {
		return nil, fieldErr("email", ErrAdminExists.Error())
	} else if !errors.Is(err, platform.ErrNotFound) {
		return nil, err
	}
	token := randomSecret()
	var inv Invite
	err = s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		// A new invitation replaces any still open for the address.
		if _, err := tx.Exec(ctx, `UPDATE admin_invites SET revoked_at = now()
			WHERE lower(email) = lower($1) AND accepted_at IS NULL AND revoked_at IS NULL`, email); err != nil {
			return fmt.Errorf("withdraw older invitations: %w", err)
		}
		var by *int64
		if actor.AdminID != 0 {
			by = &actor.AdminID
		}
		err := tx.QueryRow(ctx, `INSERT INTO admin_invites (email, role, token_hash, invited_by, expires_at)
			VALUES ($1, $2, $3, $4, now() + $5::interval)
			RETURNING id, email, role, created_at, expires_at`, email, role, sha(token), by, interval(InviteTTL)).
			Scan(&inv.ID, &inv.Email, &inv.Role, &inv.CreatedAt, &inv.ExpiresAt)
		if err != nil {
			return fmt.Errorf("save invitation: %w", err)
		}
		inv.InvitedBy = actor.Name
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "admin.invite", TargetType: "admin_invite",
			TargetID: strconv.FormatInt(inv.ID, 10), After: map[string]any{"email": email, "role": role}})
	})
	if err != nil {
		return nil, err
	}
	link := strings.TrimSuffix(s.o.ConsoleURL, "/") + "/admin/invite/" + token
	err = s.o.Mailer.Send(ctx, smail.Message{To: email, FromName: "Storefleet", Template: "mail_admin_invite", Data: map[string]any{
		"Link": link, "Role": platform.RoleLabel(role), "InvitedBy": actor.Name, "Lifetime": smail.Lifetime(InviteTTL),
	}})
	if err != nil {
		// Nobody can use a link that never arrived: withdraw it.
		if _, derr := s.o.Store.Pool().Exec(context.WithoutCancel(ctx), `UPDATE admin_invites SET revoked_at = now() WHERE id = $1`, inv.ID); derr != nil {
			s.log.Error("cannot withdraw an invitation that was not sent", "invite", inv.ID, "err", derr)
		}
		return nil, fmt.Errorf("e-mail the invitation to %s: %w", email, err)
	}
	return &inv, nil
}

// RevokeInvite withdraws an open invitation.
func (s *Service) RevokeInvite(ctx context.Context, actor platform.Actor, id int64) error {
	return s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		var email string
		err := tx.QueryRow(ctx, `UPDATE admin_invites SET revoked_at = now() WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL
			RETURNING email`, id).Scan(&email)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("open invitation %d: %w", id, platform.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke invitation %d: %w", id, err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "admin.invite_revoke", TargetType: "admin_invite",
			TargetID: strconv.FormatInt(id, 10), Before: map[string]any{"email": email}})
	})
}

// InviteByToken returns the open, unexpired invitation of a link's token.
func (s *Service) InviteByToken(ctx context.Context, token string) (*Invite, error) {
	return inviteByToken(ctx, s.o.Store.Pool(), token, "")
}

func inviteByToken(ctx context.Context, q platform.Querier, token, lock string) (*Invite, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrInviteInvalid
	}
	rows, err := q.Query(ctx, `SELECT `+inviteColumns+inviteFrom+` WHERE i.token_hash = $1
		AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()`+lock, sha(token))
	if err != nil {
		return nil, fmt.Errorf("find invitation: %w", err)
	}
	inv, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByPos[Invite])
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrInviteInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("find invitation: %w", err)
	}
	return inv, nil
}

// AcceptInvite makes the invited admin with a name and a password; the
// link then stops working.
func (s *Service) AcceptInvite(ctx context.Context, token, name, password, clientAddr, requestID string) (*platform.Admin, error) {
	name = strings.TrimSpace(name)
	inv, err := s.InviteByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	switch {
	case name == "":
		return nil, fieldErr("name", "Enter your name, so others know who did what.")
	case utf8.RuneCountInString(name) > 100:
		return nil, fieldErr("name", "Keep your name under 100 characters.")
	}
	if err := checkPassword(password, inv.Email); err != nil {
		return nil, err
	}
	hash, err := auth.Hash(password)
	if err != nil {
		return nil, err
	}
	var a *platform.Admin
	err = s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		inv, err := inviteByToken(ctx, tx, token, " FOR UPDATE OF i")
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO admins (email, name, password_hash, role, password_changed_at)
			VALUES ($1, $2, $3, $4, now()) RETURNING id`, inv.Email, name, hash, inv.Role).Scan(&id)
		if database.IsUniqueViolation(err) {
			return fieldErr("email", ErrAdminExists.Error())
		}
		if err != nil {
			return fmt.Errorf("create admin %s: %w", inv.Email, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE admin_invites SET accepted_at = now(), admin_id = $2 WHERE id = $1`, inv.ID, id); err != nil {
			return fmt.Errorf("close invitation: %w", err)
		}
		a = &platform.Admin{ID: id, Email: inv.Email, Name: name, Role: inv.Role}
		act := platform.Actor{Kind: "admin", AdminID: id, Name: inv.Email, ClientAddr: clientAddr, RequestID: requestID}
		return platform.Audit(ctx, tx, act, platform.AuditEntry{Action: "admin.invite_accept", TargetType: "admin",
			TargetID: strconv.FormatInt(id, 10), After: map[string]any{"email": inv.Email, "name": name, "role": inv.Role, "invite_id": inv.ID}})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}
