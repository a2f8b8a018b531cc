package platform

// Admin roles.
const (
	// RoleSuperAdmin may do everything.
	RoleSuperAdmin = "super_admin"
	// RoleSupport may look at every page and read every API endpoint, and
	// change nothing on the platform.
	RoleSupport = "support"
)

// Roles lists the roles, most powerful first.
var Roles = []string{RoleSuperAdmin, RoleSupport}

// RoleLabel is a role's name for people.
func RoleLabel(role string) string {
	switch role {
	case RoleSuperAdmin:
		return "Super admin"
	case RoleSupport:
		return "Support (read-only)"
	}
	return role
}

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool { return role == RoleSuperAdmin || role == RoleSupport }

// CanChange reports whether the admin may change the platform (anything
// beyond their own account).
func (a *Admin) CanChange() bool { return a != nil && a.Role == RoleSuperAdmin }
