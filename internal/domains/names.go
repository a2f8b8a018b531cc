// Package domains is the vendors' domains: the platform subdomain every
// vendor gets, and the custom domains an admin or the vendor adds, which
// route only once a DNS TXT record proves that whoever added them controls
// them. The control plane (console, admin API, TLS ask endpoint, the
// verification job) and the tenant app's back office (through the router
// role's functions) both use it. See docs/domains.md.
package domains

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// TXTPrefix is the label under which the verification record is published.
const TXTPrefix = "_storefleet-verify."

// TXTValuePrefix starts the verification record's text.
const TXTValuePrefix = "storefleet-verify="

// ErrInvalid is wrapped by every error Canonical returns.
var ErrInvalid = errors.New("invalid domain name")

// invalidError is a host refused, with a reason for people.
type invalidError struct{ reason string }

func (e *invalidError) Error() string { return e.reason }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{reason: fmt.Sprintf(format, args...)}
}

// profile converts international names to their xn-- form as browsers
// look them up (UTS #46, non-transitional), checking the DNS rules.
var profile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// Canonical returns the canonical form of a domain name a person typed:
// lower case, international names converted to punycode (xn--), no
// trailing dot. A leading "http://" or "https://" and a trailing "/" are
// forgiven. It refuses ports, paths, IP addresses, names with a single
// label, public suffixes (such as "co.uk"), and the platform's base
// domains and every name under them. Errors wrap ErrInvalid and say what
// is wrong.
func Canonical(input string, baseDomains ...string) (string, error) {
	s := strings.TrimSpace(input)
	lower := strings.ToLower(s)
	for _, scheme := range []string{"https://", "http://"} {
		if strings.HasPrefix(lower, scheme) {
			s = s[len(scheme):]
			break
		}
	}
	s = strings.TrimSuffix(s, "/")
	switch {
	case s == "":
		return "", invalid("Enter a domain name, such as shop.example.com.")
	case len(s) > 300:
		return "", invalid("That is too long for a domain name.")
	case strings.ContainsAny(s, "/?#@\\ \t"):
		return "", invalid("Enter the domain name only (such as shop.example.com), without a path or anything else.")
	case strings.HasPrefix(s, "["), strings.Count(s, ":") > 1:
		return "", invalid("An IP address cannot be a shop's domain: use a domain name.")
	case strings.Contains(s, ":"):
		return "", invalid("Leave out the port: shops are reached on the usual web ports.")
	}
	s = strings.TrimSuffix(s, ".")
	if _, err := netip.ParseAddr(s); err == nil {
		return "", invalid("An IP address cannot be a shop's domain: use a domain name.")
	}
	ascii, err := profile.ToASCII(s)
	if err != nil {
		return "", invalid("%q is not a valid domain name (%v).", s, err)
	}
	host := strings.ToLower(ascii)
	if err := checkLabels(host); err != nil {
		return "", err
	}
	for _, b := range baseDomains {
		b = strings.ToLower(strings.TrimSuffix(b, "."))
		if b != "" && (host == b || strings.HasSuffix(host, "."+b)) {
			return "", invalid("%s belongs to the platform: every shop already has its own address under %s.", host, b)
		}
	}
	if suffix, icann := publicsuffix.PublicSuffix(host); suffix == host && (icann || strings.Contains(host, ".")) {
		return "", invalid("%s is a public suffix that many owners share, not a domain of its own.", host)
	}
	return host, nil
}

// checkLabels applies what the control plane's domain_host_check does:
// at least two labels of letters, digits and inner hyphens, and a last
// label starting with a letter (so nothing an address parser would take
// for an IP address).
func checkLabels(host string) error {
	if len(host) < 3 || len(host) > 253 {
		return invalid("A domain name has 3 to 253 characters.")
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return invalid("%s is not a full domain name: it needs a dot, as in %s.com.", host, host)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return invalid("%q is not a valid domain name: each part between dots has 1 to 63 characters.", host)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return invalid("%q is not a valid domain name: a part cannot start or end with a hyphen.", host)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return invalid("%q is not a valid domain name: %q is not allowed.", host, string(c))
			}
		}
	}
	if last := labels[len(labels)-1]; last[0] < 'a' || last[0] > 'z' {
		return invalid("%s is not a domain name (it reads as an IP address).", host)
	}
	return nil
}

// Partner is the other half of an apex and www pair: "www.example.com"
// for "example.com" and the other way round. Names that are neither a
// registrable domain nor its www name have no partner.
func Partner(host string) (string, bool) {
	apex, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return "", false
	}
	switch host {
	case apex:
		return "www." + apex, true
	case "www." + apex:
		return apex, true
	}
	return "", false
}

// VerifyName is the name whose TXT record verifies host: host without a
// leading "www." (as domain_verify_name in the control plane computes it).
func VerifyName(host string) string {
	if rest, ok := strings.CutPrefix(host, "www."); ok && strings.Contains(rest, ".") {
		return rest
	}
	return host
}

// TXTName is where the verification record of host is published.
func TXTName(host string) string { return TXTPrefix + VerifyName(host) }

// TXTValue is the verification record's text for a token.
func TXTValue(token string) string { return TXTValuePrefix + token }
