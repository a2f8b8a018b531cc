package staff_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/testenv"
)

func roleID(t *testing.T, db *pgxpool.Pool, name string) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow(context.Background(), `SELECT id FROM staff_roles WHERE name = $1`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// activeOwner makes the shop's invited owner active and returns them.
func activeOwner(t *testing.T, db *pgxpool.Pool) *staff.Member {
	t.Helper()
	ctx := context.Background()
	token, err := staff.InviteOwner(ctx, db, "", staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := staff.SetPasswordWithToken(ctx, db, token, staff.PurposeInvite, "hash", "Olive", staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInviteOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := testenv.New(t)
	v, db := e.TenantDB(t)
	audit := staff.Entry{Actor: "admin:ops"}

	first, err := staff.InviteOwner(ctx, db, "", audit)
	if err != nil {
		t.Fatal(err)
	}
	m, err := staff.PeekToken(ctx, db, first, staff.PurposeInvite)
	if err != nil || !m.IsOwner || m.Email != v.OwnerEmail {
		t.Fatalf("the owner's token: %+v %v", m, err)
	}
	// A new invitation replaces the old one; a new address replaces the
	// owner's (the control plane's record wins).
	second, err := staff.InviteOwner(ctx, db, "new-owner@example.com", audit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := staff.PeekToken(ctx, db, first, staff.PurposeInvite); !errors.Is(err, staff.ErrTokenInvalid) {
		t.Errorf("the replaced token: %v", err)
	}
	if m, err := staff.PeekToken(ctx, db, second, staff.PurposeInvite); err != nil || m.Email != "new-owner@example.com" {
		t.Errorf("the new token: %+v %v", m, err)
	}
	if _, err := staff.InviteOwner(ctx, db, "not an address", audit); err == nil {
		t.Error("a bad address was taken")
	}
	if _, err := staff.SetPasswordWithToken(ctx, db, second, staff.PurposeInvite, "hash", "", audit); err != nil {
		t.Fatal(err)
	}
	// Once active, the owner resets their password instead.
	if _, err := staff.InviteOwner(ctx, db, "", audit); !errors.Is(err, staff.ErrOwnerActive) {
		t.Errorf("invite an active owner: %v", err)
	}
	var n int
	_ = db.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'staff.owner_invite' AND actor = 'admin:ops'`).Scan(&n)
	if n != 2 {
		t.Errorf("audit entries: %d", n)
	}

	// A shop without an owner gets one, if an address is given.
	_, empty := e.TenantDB(t)
	if _, err := empty.Exec(ctx, `ALTER TABLE staff DISABLE TRIGGER staff_owner_guard; DELETE FROM staff; ALTER TABLE staff ENABLE TRIGGER staff_owner_guard`); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.InviteOwner(ctx, empty, "", audit); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("no owner, no address: %v", err)
	}
	tok, err := staff.InviteOwner(ctx, empty, "olive@example.com", audit)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := staff.PeekToken(ctx, empty, tok, staff.PurposeInvite); err != nil || !m.IsOwner || m.RoleName != staff.OwnerRole {
		t.Errorf("the new owner: %+v %v", m, err)
	}
}

func TestTeamRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := testenv.New(t)
	_, db := e.TenantDB(t)
	owner := activeOwner(t, db)
	audit := staff.Entry{Actor: "test"}

	clerk, _, err := staff.Invite(ctx, db, owner, "clerk@example.com", roleID(t, db, "Order clerk"), audit)
	if err != nil {
		t.Fatal(err)
	}
	if clerk.Status != "invited" || clerk.RoleName != "Order clerk" {
		t.Fatalf("invited: %+v", clerk)
	}
	// The clerk (no staff.manage) can do nothing to the team.
	clerk.Status = "active"
	if err := staff.ChangeRole(ctx, db, clerk, owner.ID, roleID(t, db, "Manager"), audit); !errors.Is(err, staff.ErrForbidden) {
		t.Errorf("clerk changes a role: %v", err)
	}
	if _, _, err := staff.Invite(ctx, db, clerk, "x@example.com", roleID(t, db, "Order clerk"), audit); !errors.Is(err, staff.ErrForbidden) {
		t.Errorf("clerk invites: %v", err)
	}
	if _, err := staff.CreateRole(ctx, db, clerk, staff.RoleInput{Name: "x"}, audit); !errors.Is(err, staff.ErrForbidden) {
		t.Errorf("clerk makes a role: %v", err)
	}
	// Nobody, the owner included, touches the owner.
	for name, err := range map[string]error{
		"role":    staff.ChangeRole(ctx, db, owner, owner.ID, roleID(t, db, "Manager"), audit),
		"disable": staff.SetDisabled(ctx, db, owner, owner.ID, true, audit),
		"remove":  staff.Remove(ctx, db, owner, owner.ID, audit),
	} {
		if !errors.Is(err, staff.ErrOwnerProtected) {
			t.Errorf("owner %s: %v", name, err)
		}
	}
	// Remove refuses a member the shop's records point at.
	if _, err := db.Exec(ctx, `CREATE TABLE test_refs (staff_id bigint REFERENCES staff (id))`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO test_refs VALUES ($1)`, clerk.ID); err != nil {
		t.Fatal(err)
	}
	if err := staff.Remove(ctx, db, owner, clerk.ID, audit); !errors.Is(err, staff.ErrHasHistory) {
		t.Errorf("remove a member with history: %v", err)
	}
	if _, err := staff.ByID(ctx, db, clerk.ID); err != nil {
		t.Errorf("the member with history is gone: %v", err)
	}
	// Unknown members.
	if err := staff.SetDisabled(ctx, db, owner, 999999, true, audit); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("disable nobody: %v", err)
	}

	// Password resets are for active members only.
	if _, _, err := staff.RequestReset(ctx, db, "clerk@example.com", audit); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("reset for an invited member: %v", err)
	}
	if _, _, err := staff.RequestReset(ctx, db, "nobody@example.com", audit); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("reset for nobody: %v", err)
	}
	m, tok, err := staff.RequestReset(ctx, db, strings.ToUpper(owner.Email), audit)
	if err != nil || tok == "" || m.ID != owner.ID {
		t.Fatalf("reset for the owner: %v", err)
	}
	if _, err := staff.PeekToken(ctx, db, tok, staff.PurposeReset); err != nil {
		t.Errorf("the reset token: %v", err)
	}
	if _, err := staff.PeekToken(ctx, db, tok, staff.PurposeInvite); !errors.Is(err, staff.ErrTokenInvalid) {
		t.Errorf("a reset token used as an invitation: %v", err)
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := testenv.New(t)
	_, db := e.TenantDB(t)
	owner := activeOwner(t, db)
	audit := staff.Entry{Actor: "test"}

	known, err := staff.KnownPermissions(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != len(owner.Permissions) || known[0].Name != "dashboard.read" || known[0].Label == known[0].Name {
		t.Errorf("known permissions: %+v", known)
	}

	r, err := staff.CreateRole(ctx, db, owner, staff.RoleInput{Name: "  Stock   keeper ",
		Permissions: []string{"inventory.write", "catalog.read", "inventory.write"}}, audit)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "Stock keeper" || !slices.Equal(r.Permissions, []string{"catalog.read", "inventory.write"}) {
		t.Errorf("normalised role: %+v", r)
	}
	var fe *staff.FieldError
	for name, in := range map[string]staff.RoleInput{
		"empty name":         {Name: "  "},
		"long name":          {Name: strings.Repeat("x", 61)},
		"duplicate":          {Name: "stock KEEPER"},
		"builtin name":       {Name: "owner"},
		"unknown permission": {Name: "x", Permissions: []string{"everything"}},
	} {
		if _, err := staff.CreateRole(ctx, db, owner, in, audit); !errors.As(err, &fe) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An empty role is fine, and grants nothing.
	empty, err := staff.CreateRole(ctx, db, owner, staff.RoleInput{Name: "Nothing"}, audit)
	if err != nil || len(empty.Permissions) != 0 {
		t.Fatalf("empty role: %+v %v", empty, err)
	}
	m, _, err := staff.Invite(ctx, db, owner, "n@example.com", empty.ID, audit)
	if err != nil {
		t.Fatal(err)
	}
	m.Status = "active"
	for _, p := range owner.Permissions {
		if m.Can(p) {
			t.Errorf("an empty role grants %s", p)
		}
	}
	// In use: refused, naming who holds it.
	var inUse *staff.RoleInUseError
	if err := staff.DeleteRole(ctx, db, owner, empty.ID, audit); !errors.As(err, &inUse) || !slices.Equal(inUse.Members, []string{"n@example.com"}) {
		t.Errorf("delete a role in use: %v", err)
	}
	if err := staff.DeleteRole(ctx, db, owner, roleID(t, db, "Manager"), audit); !errors.Is(err, staff.ErrBuiltinRole) {
		t.Errorf("delete a built-in role: %v", err)
	}
	if err := staff.UpdateRole(ctx, db, owner, roleID(t, db, "Manager"), staff.RoleInput{Name: "Manager"}, audit); !errors.Is(err, staff.ErrBuiltinRole) {
		t.Errorf("update a built-in role: %v", err)
	}
	if err := staff.DeleteRole(ctx, db, owner, r.ID, audit); err != nil {
		t.Errorf("delete an unused role: %v", err)
	}

	// A manager of staff who lacks settings.write can neither grant it
	// nor give a role that has it, but keeps it on a role that had it.
	lead, err := staff.CreateRole(ctx, db, owner, staff.RoleInput{Name: "Lead", Permissions: []string{"staff.manage", "catalog.read"}}, audit)
	if err != nil {
		t.Fatal(err)
	}
	settings, err := staff.CreateRole(ctx, db, owner, staff.RoleInput{Name: "Settings", Permissions: []string{"settings.write", "catalog.read"}}, audit)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := staff.Invite(ctx, db, owner, "lead@example.com", lead.ID, audit)
	if err != nil {
		t.Fatal(err)
	}
	l.Status = "active"
	if _, err := staff.CreateRole(ctx, db, l, staff.RoleInput{Name: "More", Permissions: []string{"settings.write"}}, audit); !errors.As(err, &fe) || fe.Field != "permissions" {
		t.Errorf("grant a permission one lacks: %v", err)
	}
	if _, _, err := staff.Invite(ctx, db, l, "s@example.com", settings.ID, audit); !errors.As(err, &fe) || fe.Field != "role" {
		t.Errorf("give a role with a permission one lacks: %v", err)
	}
	if err := staff.UpdateRole(ctx, db, l, settings.ID, staff.RoleInput{Name: "Settings people", Permissions: []string{"settings.write"}}, audit); err != nil {
		t.Errorf("keep a permission the role had: %v", err)
	}
	if err := staff.UpdateRole(ctx, db, l, lead.ID, staff.RoleInput{Name: "Lead", Permissions: []string{"staff.manage"}}, audit); !errors.Is(err, staff.ErrOwnRole) {
		t.Errorf("edit one's own role: %v", err)
	}
	// The lead cannot touch someone who holds more than they do.
	s, _, err := staff.Invite(ctx, db, owner, "s@example.com", settings.ID, audit)
	if err != nil {
		t.Fatal(err)
	}
	if err := staff.SetDisabled(ctx, db, l, s.ID, true, audit); !errors.Is(err, staff.ErrOutranked) {
		t.Errorf("disable someone with more permissions: %v", err)
	}
	if err := staff.ChangeRole(ctx, db, l, l.ID, empty.ID, audit); !errors.Is(err, staff.ErrSelf) {
		t.Errorf("change one's own role: %v", err)
	}
}
