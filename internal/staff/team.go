package staff

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
)

// PermStaffManage lets a member manage the team and its roles.
const PermStaffManage = "staff.manage"

// Errors of team management; each says what to do instead.
var (
	ErrForbidden      = errors.New("managing the team needs the staff.manage permission")
	ErrOwnerProtected = errors.New("the shop's owner cannot be removed, disabled or given another role")
	ErrSelf           = errors.New("you cannot change your own role, disable or remove yourself; ask someone else who manages the team")
	ErrOutranked      = errors.New("this person holds permissions you do not have; ask the shop's owner")
	ErrBuiltinRole    = errors.New("built-in roles cannot be changed or deleted; make a custom role instead")
	ErrOwnRole        = errors.New("you cannot change the role you hold yourself; ask the shop's owner")
	ErrNotInvited     = errors.New("this person has accepted their invitation already")
	ErrOwnerActive    = errors.New("the owner has set a password already; they can reset it from the sign-in page")
	ErrHasHistory     = errors.New("this person's account is referenced by the shop's records; disable the account instead")
)

// FieldError is a problem with one field of a form.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// HoldsAll reports whether the member holds every one of perms.
func (m *Member) HoldsAll(perms []string) bool {
	for _, p := range perms {
		if !m.Can(p) {
			return false
		}
	}
	return true
}

// CanAssign reports whether by may give role r to someone: never the
// owner's role, and only roles whose permissions by holds.
func (m *Member) CanAssign(r *Role) bool {
	return m.Can(PermStaffManage) && !r.IsOwnerRole() && m.HoldsAll(r.Permissions)
}

// List returns the shop's staff: the owner first, then by e-mail.
func List(ctx context.Context, db *pgxpool.Pool) ([]*Member, error) {
	rows, err := db.Query(ctx, memberSQL+` ORDER BY s.is_owner DESC, lower(s.email)`)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	defer rows.Close()
	var out []*Member
	for rows.Next() {
		m, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list staff: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// target is a member locked for a change.
type target struct {
	ID          int64
	Email       string
	IsOwner     bool
	Status      string
	RoleID      int64
	RoleName    string
	Permissions []string
}

// lockTarget locks the member id for a change by `by` and checks the
// rules every change shares: by manages staff, the target exists, is not
// the owner, is not by, and holds no permission by lacks.
func lockTarget(ctx context.Context, tx pgx.Tx, by *Member, id int64) (*target, error) {
	if !by.Can(PermStaffManage) {
		return nil, ErrForbidden
	}
	var t target
	err := tx.QueryRow(ctx, `SELECT s.id, s.email, s.is_owner, s.status, s.role_id, r.name, r.permissions
		FROM staff s JOIN staff_roles r ON r.id = s.role_id WHERE s.id = $1 FOR UPDATE OF s`, id).
		Scan(&t.ID, &t.Email, &t.IsOwner, &t.Status, &t.RoleID, &t.RoleName, &t.Permissions)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("lock staff %d: %w", id, err)
	}
	switch {
	case t.IsOwner:
		return nil, ErrOwnerProtected
	case t.ID == by.ID:
		return nil, ErrSelf
	case !by.HoldsAll(t.Permissions):
		return nil, ErrOutranked
	}
	return &t, nil
}

// assignable locks role id (against its deletion) and checks by may give it.
func assignable(ctx context.Context, tx pgx.Tx, by *Member, id int64) (*Role, error) {
	var r Role
	err := tx.QueryRow(ctx, `SELECT id, name, builtin, permissions FROM staff_roles WHERE id = $1 FOR SHARE`, id).
		Scan(&r.ID, &r.Name, &r.Builtin, &r.Permissions)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &FieldError{Field: "role", Message: "Choose one of the shop's roles."}
	}
	if err != nil {
		return nil, fmt.Errorf("find role %d: %w", id, err)
	}
	if r.IsOwnerRole() {
		return nil, &FieldError{Field: "role", Message: "The Owner role belongs to the shop's owner alone."}
	}
	if !by.HoldsAll(r.Permissions) {
		return nil, &FieldError{Field: "role", Message: "You can only give roles whose permissions you hold yourself."}
	}
	return &r, nil
}

// CheckEmail normalises and checks an e-mail address typed into a form.
func CheckEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if email == "" || err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email, "@") {
		return "", &FieldError{Field: "email", Message: "Enter an e-mail address such as name@example.com."}
	}
	return email, nil
}

// WithToken runs in the transaction that makes a token, after it, with
// the member the token is for: the back office queues the e-mail that
// carries the token there, so that both are committed, or neither.
type WithToken func(ctx context.Context, tx pgx.Tx, staffID int64, token string) error

// Invite adds an invited member with a role and returns them with their
// invitation token (valid InviteTTL), to be e-mailed; then, if given,
// runs in the same transaction.
func Invite(ctx context.Context, db *pgxpool.Pool, by *Member, email string, roleID int64, audit Entry, then ...WithToken) (*Member, string, error) {
	if !by.Can(PermStaffManage) {
		return nil, "", ErrForbidden
	}
	email, err := CheckEmail(email)
	if err != nil {
		return nil, "", err
	}
	var id int64
	var token string
	err = database.Transact(ctx, db, func(tx pgx.Tx) error {
		r, err := assignable(ctx, tx, by, roleID)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO staff (email, role_id, status) VALUES ($1, $2, 'invited') RETURNING id`, email, r.ID).Scan(&id)
		if database.Code(err) == "23505" {
			return &FieldError{Field: "email", Message: "Someone with this e-mail address is on the team already."}
		}
		if err != nil {
			return fmt.Errorf("invite %s: %w", email, err)
		}
		if token, err = newToken(ctx, tx, id, PurposeInvite, InviteTTL); err != nil {
			return err
		}
		if err := runThen(ctx, tx, id, token, then); err != nil {
			return err
		}
		audit.Action, audit.TargetType, audit.TargetID = "staff.invite", "staff", fmt.Sprint(id)
		audit.After = map[string]any{"email": email, "role": r.Name}
		return Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, "", err
	}
	m, err := ByID(ctx, db, id)
	return m, token, err
}

// ResendInvite replaces an invited member's token with a new one; then,
// if given, runs in the same transaction.
func ResendInvite(ctx context.Context, db *pgxpool.Pool, by *Member, id int64, audit Entry, then ...WithToken) (*Member, string, error) {
	var token string
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		t, err := lockTarget(ctx, tx, by, id)
		if err != nil {
			return err
		}
		if t.Status != "invited" {
			return ErrNotInvited
		}
		if token, err = newToken(ctx, tx, id, PurposeInvite, InviteTTL); err != nil {
			return err
		}
		if err := runThen(ctx, tx, id, token, then); err != nil {
			return err
		}
		audit.Action, audit.TargetType, audit.TargetID = "staff.invite_resend", "staff", fmt.Sprint(id)
		return Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, "", err
	}
	m, err := ByID(ctx, db, id)
	return m, token, err
}

// ChangeRole gives member id another role.
func ChangeRole(ctx context.Context, db *pgxpool.Pool, by *Member, id, roleID int64, audit Entry) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		t, err := lockTarget(ctx, tx, by, id)
		if err != nil {
			return err
		}
		r, err := assignable(ctx, tx, by, roleID)
		if err != nil {
			return err
		}
		if r.ID == t.RoleID {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE staff SET role_id = $2 WHERE id = $1`, id, r.ID); err != nil {
			return fmt.Errorf("change role of staff %d: %w", id, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "staff.role_change", "staff", fmt.Sprint(id)
		audit.Before, audit.After = map[string]any{"role": t.RoleName}, map[string]any{"role": r.Name}
		return Audit(ctx, tx, audit)
	})
}

// SetDisabled disables member id (ending their sessions and unused
// links) or enables them again.
func SetDisabled(ctx context.Context, db *pgxpool.Pool, by *Member, id int64, disabled bool, audit Entry) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		t, err := lockTarget(ctx, tx, by, id)
		if err != nil {
			return err
		}
		if disabled == (t.Status == "disabled") {
			return nil
		}
		if disabled {
			if _, err := tx.Exec(ctx, `UPDATE staff SET status = 'disabled', sessions_valid_after = now() WHERE id = $1`, id); err != nil {
				return fmt.Errorf("disable staff %d: %w", id, err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM staff_tokens WHERE staff_id = $1 AND used_at IS NULL AND purpose IN ('invite', 'reset')`, id); err != nil {
				return fmt.Errorf("disable staff %d: %w", id, err)
			}
			audit.Action = "staff.disable"
		} else {
			if _, err := tx.Exec(ctx, `UPDATE staff SET status = CASE WHEN password_hash IS NULL THEN 'invited' ELSE 'active' END WHERE id = $1`, id); err != nil {
				return fmt.Errorf("enable staff %d: %w", id, err)
			}
			audit.Action = "staff.enable"
		}
		audit.TargetType, audit.TargetID = "staff", fmt.Sprint(id)
		audit.Before = map[string]any{"status": t.Status}
		return Audit(ctx, tx, audit)
	})
}

// Remove deletes member id. A member the shop's records point at (stock
// movements, orders) is refused with ErrHasHistory: disable them instead.
func Remove(ctx context.Context, db *pgxpool.Pool, by *Member, id int64, audit Entry) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		t, err := lockTarget(ctx, tx, by, id)
		if err != nil {
			return err
		}
		// The audit entry goes first: the log keeps who was removed.
		audit.Action, audit.TargetType, audit.TargetID = "staff.remove", "staff", fmt.Sprint(id)
		audit.Before = map[string]any{"email": t.Email, "role": t.RoleName, "status": t.Status}
		if err := Audit(ctx, tx, audit); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM staff WHERE id = $1`, id)
		if database.Code(err) == "23503" {
			return ErrHasHistory
		}
		if err != nil {
			return fmt.Errorf("remove staff %d: %w", id, err)
		}
		return nil
	})
}

// InviteOwner makes a new invitation token (valid InviteTTL) for the
// shop's owner, replacing any unused one, for the provisioner and the
// control plane to e-mail. It refuses with ErrOwnerActive once the owner
// has set a password. If email is not empty it becomes the owner's
// address (the control plane's record wins), and an owner missing
// altogether is created with it.
func InviteOwner(ctx context.Context, db database.Beginner, email string, audit Entry) (token string, err error) {
	if email != "" {
		if email, err = CheckEmail(email); err != nil {
			return "", err
		}
	}
	err = database.Transact(ctx, db, func(tx pgx.Tx) error {
		var id int64
		var status, current string
		err := tx.QueryRow(ctx, `SELECT id, status, email FROM staff WHERE is_owner FOR UPDATE`).Scan(&id, &status, &current)
		switch {
		case errors.Is(err, pgx.ErrNoRows) && email == "":
			return fmt.Errorf("the shop has no owner account: %w", ErrNotFound)
		case errors.Is(err, pgx.ErrNoRows):
			err = tx.QueryRow(ctx, `INSERT INTO staff (email, name, role_id, is_owner, status)
				VALUES ($1, '', (SELECT id FROM staff_roles WHERE name = $2 AND builtin), true, 'invited') RETURNING id`,
				email, OwnerRole).Scan(&id)
			if err != nil {
				return fmt.Errorf("create the owner's account: %w", err)
			}
			status, current = "invited", email
		case err != nil:
			return fmt.Errorf("find the owner: %w", err)
		}
		if status != "invited" {
			return ErrOwnerActive
		}
		if email != "" && !strings.EqualFold(email, current) {
			_, err := tx.Exec(ctx, `UPDATE staff SET email = $2 WHERE id = $1`, id, email)
			if database.Code(err) == "23505" {
				return &FieldError{Field: "email", Message: "Another member of the team has this e-mail address."}
			}
			if err != nil {
				return fmt.Errorf("change the owner's e-mail: %w", err)
			}
		}
		if token, err = newToken(ctx, tx, id, PurposeInvite, InviteTTL); err != nil {
			return err
		}
		audit.Action, audit.TargetType, audit.TargetID = "staff.owner_invite", "staff", fmt.Sprint(id)
		if email != "" && !strings.EqualFold(email, current) {
			audit.Before, audit.After = map[string]any{"email": current}, map[string]any{"email": email}
		}
		return Audit(ctx, tx, audit)
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// RequestReset makes a password-reset token (valid ResetTTL) for the
// active member with this e-mail address; then, if given, runs in the
// same transaction. Anyone else (unknown, invited, disabled) gets
// ErrNotFound, which callers must not reveal.
func RequestReset(ctx context.Context, db *pgxpool.Pool, email string, audit Entry, then ...WithToken) (*Member, string, error) {
	m, err := ByEmail(ctx, db, email)
	if err != nil {
		return nil, "", err
	}
	if m.Status != "active" || m.PasswordHash == nil {
		return nil, "", fmt.Errorf("reset for %s: %w", m.Status, ErrNotFound)
	}
	var token string
	err = database.Transact(ctx, db, func(tx pgx.Tx) error {
		if token, err = newToken(ctx, tx, m.ID, PurposeReset, ResetTTL); err != nil {
			return err
		}
		if err := runThen(ctx, tx, m.ID, token, then); err != nil {
			return err
		}
		audit.StaffID = m.ID
		audit.Action, audit.TargetType, audit.TargetID = "staff.password_reset_request", "staff", fmt.Sprint(m.ID)
		return Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, "", err
	}
	return m, token, nil
}

func runThen(ctx context.Context, tx pgx.Tx, staffID int64, token string, then []WithToken) error {
	for _, fn := range then {
		if err := fn(ctx, tx, staffID, token); err != nil {
			return err
		}
	}
	return nil
}

// InviteMail is what the "mail_invite" template renders, for the back
// office's invitations and the provisioner's owner invitations alike.
type InviteMail struct {
	ShopName  string
	InvitedBy string
	RoleName  string
	IsOwner   bool
	Link      string
	Expires   string
}
