package staff

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
)

// OwnerRole is the name of the built-in role the shop's owner holds; no
// one else can be given it.
const OwnerRole = "Owner"

// Role is a named set of permissions. Built-in roles come with the schema
// and cannot be changed; custom roles are the shop's own.
type Role struct {
	ID          int64
	Name        string
	Description string
	Builtin     bool
	Permissions []string
	// Members is how many staff hold the role (filled by Roles).
	Members int
}

// IsOwnerRole reports whether r is the owner's built-in role.
func (r *Role) IsOwnerRole() bool { return r.Builtin && r.Name == OwnerRole }

// Has reports whether the role grants perm.
func (r *Role) Has(perm string) bool { return slices.Contains(r.Permissions, perm) }

// Permission is a permission described for people.
type Permission struct {
	Name  string // "catalog.write"
	Area  string // "Catalog"
	Label string // "Create, edit and delete products"
}

// permissionInfo describes the permissions this release knows, in the
// order forms show them. A permission the schema has and this list does
// not (added by a later migration) is still shown, under its own name.
var permissionInfo = []Permission{
	{"dashboard.read", "Shop", "See the dashboard"},
	{"catalog.read", "Catalog", "See products and categories"},
	{"catalog.write", "Catalog", "Create, edit and delete products and categories"},
	{"inventory.read", "Inventory", "See stock and its movements"},
	{"inventory.write", "Inventory", "Receive and adjust stock"},
	{"media.read", "Media", "See the media library"},
	{"media.write", "Media", "Upload and delete images"},
	{"orders.read", "Orders", "See orders"},
	{"orders.write", "Orders", "Handle orders, payments and refunds"},
	{"customers.read", "Customers", "See customers and their addresses"},
	{"settings.write", "Settings", "Change the shop's settings and theme"},
	{"staff.manage", "Team", "Invite people, change their roles, manage roles"},
	{"audit.read", "Team", "Read the shop's audit log"},
}

// KnownPermissions returns every permission the shop's schema knows (the
// union of its built-in roles; the Owner role holds them all), described
// and in display order.
func KnownPermissions(ctx context.Context, db *pgxpool.Pool) ([]Permission, error) {
	var names []string
	err := db.QueryRow(ctx, `SELECT COALESCE(array_agg(DISTINCT p), '{}') FROM staff_roles, unnest(permissions) p WHERE builtin`).Scan(&names)
	if err != nil {
		return nil, fmt.Errorf("list permissions: %w", err)
	}
	return Describe(names), nil
}

// Describe orders and labels a set of permission names for people.
func Describe(names []string) []Permission {
	var out []Permission
	for _, p := range permissionInfo {
		if slices.Contains(names, p.Name) {
			out = append(out, p)
		}
	}
	var rest []string
	for _, n := range names {
		if !slices.ContainsFunc(permissionInfo, func(p Permission) bool { return p.Name == n }) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	for _, n := range rest {
		area, _, _ := strings.Cut(n, ".")
		out = append(out, Permission{Name: n, Area: strings.ToUpper(area[:1]) + area[1:], Label: n})
	}
	return out
}

const roleSQL = `SELECT r.id, r.name, r.description, r.builtin, r.permissions,
	(SELECT count(*) FROM staff s WHERE s.role_id = r.id)::int FROM staff_roles r`

func scanRole(row pgx.Row) (*Role, error) {
	var r Role
	err := row.Scan(&r.ID, &r.Name, &r.Description, &r.Builtin, &r.Permissions, &r.Members)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &r, err
}

// Roles returns every role, built-in ones first.
func Roles(ctx context.Context, db *pgxpool.Pool) ([]*Role, error) {
	rows, err := db.Query(ctx, roleSQL+` ORDER BY NOT r.builtin, CASE WHEN r.builtin THEN r.id END, lower(r.name)`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	var out []*Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RoleByID finds a role.
func RoleByID(ctx context.Context, db *pgxpool.Pool, id int64) (*Role, error) {
	r, err := scanRole(db.QueryRow(ctx, roleSQL+` WHERE r.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("find role %d: %w", id, err)
	}
	return r, nil
}

// RoleInput is what a role form sends.
type RoleInput struct {
	Name        string
	Description string
	Permissions []string
}

// RoleInUseError refuses to delete a role that staff still hold.
type RoleInUseError struct {
	Role    string
	Members []string // e-mail addresses
}

func (e *RoleInUseError) Error() string {
	return fmt.Sprintf("the role %q is still held by %s; give them another role first", e.Role, strings.Join(e.Members, ", "))
}

// CreateRole makes a custom role. by must manage staff and may grant only
// permissions they hold themselves.
func CreateRole(ctx context.Context, db *pgxpool.Pool, by *Member, in RoleInput, audit Entry) (*Role, error) {
	if !by.Can(PermStaffManage) {
		return nil, ErrForbidden
	}
	var id int64
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		known, err := knownTx(ctx, tx)
		if err != nil {
			return err
		}
		if err := in.check(known, by, nil); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO staff_roles (name, description, permissions) VALUES ($1, $2, $3) RETURNING id`,
			in.Name, in.Description, in.Permissions).Scan(&id)
		if database.Code(err) == "23505" {
			return &FieldError{Field: "name", Message: "A role with this name exists already."}
		}
		if err != nil {
			return fmt.Errorf("create role: %w", err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "role.create", "role", fmt.Sprint(id)
		audit.After = in
		return Audit(ctx, tx, audit)
	})
	if err != nil {
		return nil, err
	}
	return RoleByID(ctx, db, id)
}

// UpdateRole changes a custom role's name, description and permissions.
// Built-in roles and the role by holds cannot be changed; permissions by
// does not hold can be kept but not added.
func UpdateRole(ctx context.Context, db *pgxpool.Pool, by *Member, id int64, in RoleInput, audit Entry) error {
	if !by.Can(PermStaffManage) {
		return ErrForbidden
	}
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		old, err := lockRole(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.Builtin {
			return ErrBuiltinRole
		}
		if by.RoleID == id {
			return ErrOwnRole
		}
		known, err := knownTx(ctx, tx)
		if err != nil {
			return err
		}
		if err := in.check(known, by, old.Permissions); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE staff_roles SET name = $2, description = $3, permissions = $4 WHERE id = $1`,
			id, in.Name, in.Description, in.Permissions)
		if database.Code(err) == "23505" {
			return &FieldError{Field: "name", Message: "A role with this name exists already."}
		}
		if err != nil {
			return fmt.Errorf("update role %d: %w", id, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "role.update", "role", fmt.Sprint(id)
		audit.Before = RoleInput{Name: old.Name, Description: old.Description, Permissions: old.Permissions}
		audit.After = in
		return Audit(ctx, tx, audit)
	})
}

// DeleteRole deletes a custom role that no one holds; otherwise it
// returns a *RoleInUseError naming who holds it.
func DeleteRole(ctx context.Context, db *pgxpool.Pool, by *Member, id int64, audit Entry) error {
	if !by.Can(PermStaffManage) {
		return ErrForbidden
	}
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		old, err := lockRole(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.Builtin {
			return ErrBuiltinRole
		}
		// Holders are locked too, so no one is given the role meanwhile
		// (the foreign key would refuse the delete anyway).
		rows, err := tx.Query(ctx, `SELECT email FROM staff WHERE role_id = $1 ORDER BY lower(email) FOR UPDATE`, id)
		if err != nil {
			return fmt.Errorf("who holds role %d: %w", id, err)
		}
		holders, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("who holds role %d: %w", id, err)
		}
		if len(holders) > 0 {
			return &RoleInUseError{Role: old.Name, Members: holders}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM staff_roles WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete role %d: %w", id, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "role.delete", "role", fmt.Sprint(id)
		audit.Before = RoleInput{Name: old.Name, Description: old.Description, Permissions: old.Permissions}
		return Audit(ctx, tx, audit)
	})
}

func lockRole(ctx context.Context, tx pgx.Tx, id int64) (*Role, error) {
	var r Role
	err := tx.QueryRow(ctx, `SELECT id, name, description, builtin, permissions FROM staff_roles WHERE id = $1 FOR UPDATE`, id).
		Scan(&r.ID, &r.Name, &r.Description, &r.Builtin, &r.Permissions)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("lock role %d: %w", id, err)
	}
	return &r, nil
}

func knownTx(ctx context.Context, tx pgx.Tx) ([]string, error) {
	var names []string
	err := tx.QueryRow(ctx, `SELECT COALESCE(array_agg(DISTINCT p), '{}') FROM staff_roles, unnest(permissions) p WHERE builtin`).Scan(&names)
	if err != nil {
		return nil, fmt.Errorf("list permissions: %w", err)
	}
	return names, nil
}

// check validates and normalises a role form: a name of 1 to 60
// characters, known permissions only, none that by lacks unless the role
// had it already (kept).
func (in *RoleInput) check(known []string, by *Member, kept []string) error {
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	in.Description = strings.TrimSpace(in.Description)
	if in.Name == "" {
		return &FieldError{Field: "name", Message: "Give the role a name."}
	}
	if utf8.RuneCountInString(in.Name) > 60 {
		return &FieldError{Field: "name", Message: "Use at most 60 characters."}
	}
	if utf8.RuneCountInString(in.Description) > 300 {
		return &FieldError{Field: "description", Message: "Use at most 300 characters."}
	}
	var perms, denied []string
	for _, p := range in.Permissions {
		if slices.Contains(perms, p) {
			continue
		}
		if !slices.Contains(known, p) {
			return &FieldError{Field: "permissions", Message: fmt.Sprintf("%q is not a permission this shop knows.", p)}
		}
		if !by.Can(p) && !slices.Contains(kept, p) {
			denied = append(denied, p)
		}
		perms = append(perms, p)
	}
	if len(denied) > 0 {
		return &FieldError{Field: "permissions", Message: "You can only grant permissions you hold yourself (not: " + strings.Join(denied, ", ") + ")."}
	}
	in.Permissions = []string{}
	for _, p := range Describe(perms) {
		in.Permissions = append(in.Permissions, p.Name)
	}
	return nil
}
