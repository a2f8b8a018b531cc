package provision

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Input errors. Callers show their text to people as it is.
var (
	ErrSlugTaken = errors.New("that slug is already taken by another vendor; choose another")
)

// ValidationError says what is wrong with one field of a request.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*[a-z0-9]$`)

// reserved slugs would collide with platform host names or confuse people.
var reserved = map[string]bool{
	"admin": true, "administrator": true, "api": true, "app": true, "assets": true, "auth": true,
	"billing": true, "blog": true, "cdn": true, "console": true, "control": true, "controlplane": true,
	"dashboard": true, "dev": true, "docs": true, "ftp": true, "help": true, "imap": true, "internal": true,
	"localhost": true, "login": true, "mail": true, "media": true, "minio": true, "mx": true, "new": true, "ns1": true,
	"ns2": true, "pop": true, "postgres": true, "redis": true, "root": true, "s3": true, "smtp": true,
	"shop": true, "signup": true, "static": true, "status": true, "storefleet": true, "support": true,
	"system": true, "test": true, "vendor": true, "vendors": true, "webmail": true, "www": true,
}

// ValidateSlug checks a vendor slug: 3 to 40 lower-case letters, digits and
// hyphens, not starting or ending with a hyphen, and not reserved.
func ValidateSlug(slug string) error {
	switch {
	case len(slug) < 3 || len(slug) > 40:
		return &ValidationError{"slug", fmt.Sprintf("must be 3 to 40 characters long (got %d)", len(slug))}
	case !slugPattern.MatchString(slug):
		return &ValidationError{"slug", "may contain only lower-case letters a-z, digits and hyphens, and must start and end with a letter or digit"}
	case strings.Contains(slug, "--"):
		return &ValidationError{"slug", "must not contain two hyphens in a row"}
	case reserved[slug]:
		return &ValidationError{"slug", fmt.Sprintf("%q is reserved for the platform; choose another", slug)}
	}
	return nil
}

// CreateRequest asks for a new vendor.
type CreateRequest struct {
	Slug       string `json:"slug"`
	Name       string `json:"name"`
	OwnerEmail string `json:"owner_email"`
}

// Validate checks every field and returns the first problem.
func (r *CreateRequest) Validate() error {
	r.Slug = strings.TrimSpace(r.Slug)
	r.Name = strings.TrimSpace(r.Name)
	r.OwnerEmail = strings.TrimSpace(r.OwnerEmail)
	if err := ValidateSlug(r.Slug); err != nil {
		return err
	}
	if r.Name == "" {
		return &ValidationError{"name", "is required"}
	}
	if utf8.RuneCountInString(r.Name) > 200 {
		return &ValidationError{"name", "must be at most 200 characters"}
	}
	addr, err := mail.ParseAddress(r.OwnerEmail)
	if err != nil || addr.Address != r.OwnerEmail || !strings.Contains(r.OwnerEmail, "@") {
		return &ValidationError{"owner_email", "must be an e-mail address like owner@example.com"}
	}
	return nil
}

// Names derives every resource name of a vendor from its id, so a crashed
// run finds the same names again.
type Names struct{ prefix string }

// Database is the vendor's database name (also its role name).
func (n Names) Database(id int64) string { return fmt.Sprintf("%s_v%d", n.prefix, id) }

// Role is the vendor's PostgreSQL role.
func (n Names) Role(id int64) string { return n.Database(id) }

// Bucket is the vendor's bucket name.
func (n Names) Bucket(id int64) string {
	return n.BucketPrefix() + strconv.FormatInt(id, 10)
}

// BucketPrefix starts every vendor bucket name.
func (n Names) BucketPrefix() string { return strings.ReplaceAll(n.prefix, "_", "-") + "-v" }

// TenantOwner is the role that owns the objects of a template database;
// each clone hands them to the vendor's role.
func TenantOwner(templateDB string) string { return templateDB + "_owner" }

// vendorIDOf parses the vendor id out of a database, role or bucket name,
// or returns false if the name is not one of ours.
func (n Names) vendorIDOf(name string, bucket bool) (int64, bool) {
	p := n.prefix + "_v"
	if bucket {
		p = n.BucketPrefix()
	}
	rest, ok := strings.CutPrefix(name, p)
	if !ok || rest == "" || len(rest) > 40 {
		return 0, false
	}
	if !bucket { // copies of a vendor database: <prefix>_v<id>_<row id>
		if id, copyID, found := strings.Cut(rest, "_"); found {
			if _, ok := digits(copyID); !ok {
				return 0, false
			}
			rest = id
		}
	}
	return digits(rest)
}

// digits parses a positive decimal number without a leading zero.
func digits(rest string) (int64, bool) {
	if rest == "" || len(rest) > 18 {
		return 0, false
	}
	var id int64
	for _, c := range rest {
		if c < '0' || c > '9' {
			return 0, false
		}
		id = id*10 + int64(c-'0')
	}
	return id, rest[0] != '0'
}

// PasswordContext binds a vendor database password to its database name.
func PasswordContext(dbName string) string { return "vendor-db:" + dbName }
