package domains

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// Kinds of domain.
const (
	KindSubdomain = "subdomain" // <slug>.<base domain>, made at provisioning
	KindCustom    = "custom"    // added by an admin or the vendor
)

// Verification states.
const (
	StateVerified = "verified"
	StatePending  = "pending" // checked periodically until verified or given up
	StateFailed   = "failed"  // given up: checks start again on request
)

// DefaultGiveUpAfter is how long periodic checks go on before they give
// up on a domain whose record never appeared.
const DefaultGiveUpAfter = 7 * 24 * time.Hour

// TXTRecord is what the vendor publishes to verify a domain.
type TXTRecord struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Domain is one of a vendor's host names.
type Domain struct {
	ID       int64  `json:"id"`
	Host     string `json:"host"`
	Kind     string `json:"kind"`
	Primary  bool   `json:"primary"`
	State    string `json:"state"`
	Redirect string `json:"redirects_to,omitempty"` // the pair's primary name, if this one redirects
	// TXT is the record that verifies the domain (custom domains only).
	TXT              *TXTRecord `json:"txt_record,omitempty"`
	VerifiedAt       *time.Time `json:"verified_at,omitempty"`
	ChecksSince      time.Time  `json:"checks_since"`
	CheckRequestedAt *time.Time `json:"check_requested_at,omitempty"`
	LastCheckedAt    *time.Time `json:"last_checked_at,omitempty"`
	LastCheckError   string     `json:"last_check_error,omitempty"`
	GaveUpAt         *time.Time `json:"gave_up_at,omitempty"`
	AddedBy          string     `json:"added_by,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`

	token, verifyName string
}

// Verified reports whether the domain routes.
func (d *Domain) Verified() bool { return d.VerifiedAt != nil }

// Querier runs queries: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const listColumns = `id, host, kind, is_primary, coalesce(redirect_host, ''), verified_at, verify_token, verify_name,
	checks_since, check_requested_at, last_checked_at, last_check_error, gave_up_at, added_by, created_at`

// list reads a vendor's domains through fn ("domain_list" as the owner,
// "vendor_domains" as the router role).
func list(ctx context.Context, q Querier, fn string, vendorID int64) ([]Domain, error) {
	rows, err := q.Query(ctx, `SELECT `+listColumns+` FROM `+fn+`($1)`, vendorID)
	if err != nil {
		return nil, fmt.Errorf("list the domains of vendor %d: %w", vendorID, Err(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Domain, error) {
		var d Domain
		err := row.Scan(&d.ID, &d.Host, &d.Kind, &d.Primary, &d.Redirect, &d.VerifiedAt, &d.token, &d.verifyName,
			&d.ChecksSince, &d.CheckRequestedAt, &d.LastCheckedAt, &d.LastCheckError, &d.GaveUpAt, &d.AddedBy, &d.CreatedAt)
		switch {
		case d.VerifiedAt != nil:
			d.State = StateVerified
		case d.GaveUpAt != nil:
			d.State = StateFailed
		default:
			d.State = StatePending
		}
		if d.Kind == KindCustom {
			d.TXT = &TXTRecord{Name: TXTPrefix + d.verifyName, Type: "TXT", Value: TXTValue(d.token)}
		}
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list the domains of vendor %d: %w", vendorID, Err(err))
	}
	return out, nil
}

// Err turns the errors of the domain functions (SQLSTATE SFDnn) into
// errors for people: a 422 on the host field for a name that cannot be
// added, a 404 for a domain the vendor does not have, a 409 for what
// cannot be done to it. Other errors are returned as they are.
func Err(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	msg := pgErr.Message
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:] + "."
	}
	switch pgErr.Code {
	case "SFD01", "SFD02", "SFD03", "SFD06":
		return &web.Error{Status: http.StatusUnprocessableEntity, Field: "host", Message: msg, Err: err}
	case "SFD04":
		return &web.Error{Status: http.StatusNotFound, Message: msg, Err: err}
	case "SFD05":
		return &web.Error{Status: http.StatusConflict, Message: msg, Err: err}
	case "22023":
		return &web.Error{Status: http.StatusConflict, Message: "The shop is not active: its domains cannot be changed now.", Err: err}
	}
	return err
}

// Service is the control plane's side of domains: what admins do to any
// vendor's domains (each change audited), the periodic verification, and
// the answer to the TLS ask.
type Service struct {
	store       *platform.Store
	resolver    Resolver
	baseDomain  string
	giveUpAfter time.Duration
	log         *slog.Logger
}

// Options configure a Service.
type Options struct {
	Store *platform.Store
	// Resolver looks up the TXT records (default NetResolver{}).
	Resolver Resolver
	// BaseDomain is the parent of the vendors' subdomains; no custom
	// domain may be it or under it.
	BaseDomain string
	// GiveUpAfter bounds the periodic checks (default DefaultGiveUpAfter).
	GiveUpAfter time.Duration
	Logger      *slog.Logger
}

// New returns a Service.
func New(o Options) *Service {
	s := &Service{store: o.Store, resolver: o.Resolver, baseDomain: o.BaseDomain, giveUpAfter: o.GiveUpAfter, log: o.Logger}
	if s.resolver == nil {
		s.resolver = NetResolver{}
	}
	if s.giveUpAfter <= 0 {
		s.giveUpAfter = DefaultGiveUpAfter
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// List returns a vendor's domains, its subdomain first.
func (s *Service) List(ctx context.Context, vendorID int64) ([]Domain, error) {
	return list(ctx, s.store.Pool(), "domain_list", vendorID)
}

// Prepare canonicalises what a person typed and, if withPartner, finds
// its apex or www partner. It returns the host and the partner ("" if
// none is wanted or there is none).
func Prepare(input string, withPartner bool, baseDomain string) (host, partner string, err error) {
	host, err = Canonical(input, baseDomain)
	if err != nil {
		return "", "", &web.Error{Status: http.StatusUnprocessableEntity, Field: "host", Message: err.Error(), Err: err}
	}
	if withPartner {
		partner, _ = Partner(host)
		if partner != "" {
			if _, err := Canonical(partner, baseDomain); err != nil {
				partner = ""
			}
		}
	}
	return host, partner, nil
}

// Add adds a custom domain (and its partner, if withPartner) to a vendor
// for an admin. It returns the hosts added.
func (s *Service) Add(ctx context.Context, actor platform.Actor, v *platform.Vendor, input string, withPartner bool) ([]string, error) {
	host, partner, err := Prepare(input, withPartner, s.baseDomain)
	if err != nil {
		return nil, err
	}
	added := []string{host}
	if partner != "" {
		added = append(added, partner)
	}
	err = s.store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT domain_add($1, $2, $3, $4)`, v.ID, host, partner, actor.String()); err != nil {
			return Err(err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "domain.add", TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), After: map[string]any{"vendor": v.Slug, "hosts": added}})
	})
	if err != nil {
		return nil, fmt.Errorf("add domain %s to vendor %s: %w", host, v.Slug, err)
	}
	return added, nil
}

// Remove removes a vendor's custom domain for an admin.
func (s *Service) Remove(ctx context.Context, actor platform.Actor, v *platform.Vendor, host string) error {
	err := s.store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT domain_remove($1, $2)`, v.ID, host); err != nil {
			return Err(err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "domain.remove", TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), Before: map[string]any{"vendor": v.Slug, "host": host}})
	})
	if err != nil {
		return fmt.Errorf("remove domain %s of vendor %s: %w", host, v.Slug, err)
	}
	return nil
}

// MakePrimary makes a verified domain the vendor's primary address for an
// admin.
func (s *Service) MakePrimary(ctx context.Context, actor platform.Actor, v *platform.Vendor, host string) error {
	err := s.store.Transact(ctx, func(tx pgx.Tx) error {
		var before string
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT host FROM domains WHERE vendor_id = $1 AND is_primary), '')`, v.ID).Scan(&before); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT domain_make_primary($1, $2)`, v.ID, host); err != nil {
			return Err(err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "domain.primary", TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), Before: map[string]any{"vendor": v.Slug, "primary": before},
			After: map[string]any{"vendor": v.Slug, "primary": host}})
	})
	if err != nil {
		return fmt.Errorf("make %s the primary domain of vendor %s: %w", host, v.Slug, err)
	}
	return nil
}

// Verify checks a vendor's custom domain now, for an admin, and returns
// it as it stands after the check. The check is audited; a failed lookup
// is not an error (the domain records why).
func (s *Service) Verify(ctx context.Context, actor platform.Actor, v *platform.Vendor, host string) (*Domain, error) {
	err := s.store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT domain_request_check($1, $2)`, v.ID, host); err != nil {
			return Err(err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify domain %s of vendor %s: %w", host, v.Slug, err)
	}
	d, err := s.find(ctx, v.ID, host)
	if err != nil {
		return nil, err
	}
	if !d.Verified() {
		if _, err := s.check(ctx, actor, v.ID, d); err != nil {
			return nil, err
		}
		if d, err = s.find(ctx, v.ID, host); err != nil {
			return nil, err
		}
	}
	err = s.store.Transact(ctx, func(tx pgx.Tx) error {
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "domain.verify", TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), After: map[string]any{"vendor": v.Slug, "host": host, "state": d.State}})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Service) find(ctx context.Context, vendorID int64, host string) (*Domain, error) {
	all, err := s.List(ctx, vendorID)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Host == host {
			return &all[i], nil
		}
	}
	return nil, &web.Error{Status: http.StatusNotFound, Message: "This shop has no domain " + host + "."}
}

// check looks up a domain's TXT record and records the outcome on every
// domain verified by the same record (an apex and www pair). It reports
// whether the record was found.
func (s *Service) check(ctx context.Context, actor platform.Actor, vendorID int64, d *Domain) (bool, error) {
	name := TXTPrefix + d.verifyName
	want := TXTValue(d.token)
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	records, lerr := s.resolver.LookupTXT(lctx, name)
	cancel()
	ok, problem := false, ""
	if lerr != nil {
		problem = lookupMessage(name, lerr)
	} else {
		for _, r := range records {
			if strings.TrimSpace(r) == want {
				ok = true
			}
		}
		if !ok {
			problem = fmt.Sprintf("The TXT record at %s does not hold %s (found %d other record(s)).", name, want, len(records))
		}
	}
	err := s.store.Transact(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			UPDATE domains SET last_checked_at = now(), last_check_error = $4,
				verified_at = CASE WHEN $5 THEN now() END,
				gave_up_at = CASE WHEN NOT $5 AND checks_since < now() - make_interval(secs => $6) THEN now() END
			WHERE vendor_id = $1 AND verify_name = $2 AND verify_token = $3 AND kind = 'custom' AND verified_at IS NULL
			RETURNING host`, vendorID, d.verifyName, d.token, problem, ok, s.giveUpAfter.Seconds())
		if err != nil {
			return err
		}
		hosts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if ok && len(hosts) > 0 {
			return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "domain.verified", TargetType: "vendor",
				TargetID: strconv.FormatInt(vendorID, 10), After: map[string]any{"hosts": hosts, "txt": name}})
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record the check of domain %s: %w", d.Host, err)
	}
	return ok, nil
}

// CheckResult counts what CheckDue did.
type CheckResult struct {
	Checked  int `json:"checked"`
	Verified int `json:"verified"`
}

// CheckDue checks every unverified domain that is due: asked for, never
// checked, or not checked for a while (every 5 minutes in its first day,
// hourly after), until it is verified or GiveUpAfter has passed.
func (s *Service) CheckDue(ctx context.Context, actor platform.Actor) (CheckResult, error) {
	var res CheckResult
	rows, err := s.store.Pool().Query(ctx, `
		SELECT DISTINCT ON (d.vendor_id, d.verify_name, d.verify_token) d.vendor_id, d.host, d.verify_name, d.verify_token
		FROM domains d JOIN vendors v ON v.id = d.vendor_id
		WHERE d.kind = 'custom' AND d.verified_at IS NULL AND d.gave_up_at IS NULL
		  AND v.state NOT IN ('deleting', 'deleted')
		  AND (d.last_checked_at IS NULL OR d.check_requested_at > d.last_checked_at
		       OR d.last_checked_at < now() - CASE WHEN d.checks_since > now() - interval '1 day'
		                                          THEN interval '5 minutes' ELSE interval '1 hour' END)
		ORDER BY d.vendor_id, d.verify_name, d.verify_token, d.id
		LIMIT 500`)
	if err != nil {
		return res, fmt.Errorf("find domains to verify: %w", err)
	}
	type due struct {
		vendor int64
		d      Domain
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (due, error) {
		var x due
		err := row.Scan(&x.vendor, &x.d.Host, &x.d.verifyName, &x.d.token)
		return x, err
	})
	if err != nil {
		return res, fmt.Errorf("find domains to verify: %w", err)
	}
	for _, x := range list {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		ok, err := s.check(ctx, actor, x.vendor, &x.d)
		if err != nil {
			return res, err
		}
		res.Checked++
		if ok {
			res.Verified++
			s.log.Info("domain verified", "vendor_id", x.vendor, "host", x.d.Host)
		}
	}
	return res, nil
}

// Allowed reports whether a certificate may be issued for host: it is a
// verified domain (or the platform subdomain) of an active vendor. A
// malformed host is not allowed and costs no query.
func (s *Service) Allowed(ctx context.Context, host string) (bool, error) {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
	if h == "" || len(h) > 253 || checkLabels(h) != nil {
		return false, nil
	}
	var ok bool
	err := s.store.Pool().QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM domains d JOIN vendors v ON v.id = d.vendor_id
		               WHERE d.host = $1 AND d.verified_at IS NOT NULL AND v.state = 'active')`, h).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("look up domain %q: %w", h, err)
	}
	return ok, nil
}

// VendorClient is the tenant app's side: the router role's functions,
// which act on the calling vendor's domains only. actor says who, for
// the control plane's audit log.
type VendorClient struct {
	DB         Querier
	BaseDomain string
}

// List returns the vendor's domains.
func (c VendorClient) List(ctx context.Context, vendorID int64) ([]Domain, error) {
	return list(ctx, c.DB, "vendor_domains", vendorID)
}

// Add adds a custom domain (and its partner, if withPartner) and returns
// the hosts added.
func (c VendorClient) Add(ctx context.Context, vendorID int64, input string, withPartner bool, actor string) ([]string, error) {
	host, partner, err := Prepare(input, withPartner, c.BaseDomain)
	if err != nil {
		return nil, err
	}
	if _, err := c.DB.Exec(ctx, `SELECT vendor_domain_add($1, $2, $3, $4)`, vendorID, host, partner, actor); err != nil {
		return nil, fmt.Errorf("add domain %s: %w", host, Err(err))
	}
	if partner != "" {
		return []string{host, partner}, nil
	}
	return []string{host}, nil
}

// RequestCheck asks the control plane to check the domain's record now.
func (c VendorClient) RequestCheck(ctx context.Context, vendorID int64, host, actor string) error {
	return c.call(ctx, "vendor_domain_check", "ask to verify", vendorID, host, actor)
}

// Remove removes a custom domain.
func (c VendorClient) Remove(ctx context.Context, vendorID int64, host, actor string) error {
	return c.call(ctx, "vendor_domain_remove", "remove", vendorID, host, actor)
}

// MakePrimary makes a verified domain the primary address.
func (c VendorClient) MakePrimary(ctx context.Context, vendorID int64, host, actor string) error {
	return c.call(ctx, "vendor_domain_make_primary", "make primary", vendorID, host, actor)
}

func (c VendorClient) call(ctx context.Context, fn, what string, vendorID int64, host, actor string) error {
	if _, err := c.DB.Exec(ctx, `SELECT `+fn+`($1, $2, $3)`, vendorID, host, actor); err != nil {
		return fmt.Errorf("%s domain %s: %w", what, host, Err(err))
	}
	return nil
}
