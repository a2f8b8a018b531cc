// Package hostname turns the host a request names into the canonical form
// the control plane stores in domains.host (lower case, no port, no
// trailing dot), and refuses anything that is not a plain DNS name.
//
// The tenant app routes every request by this name, so the rules are
// strict on purpose: whatever Canonical accepts is exactly one spelling of
// one DNS name, and everything else (IP literals, user info, paths,
// percent-encoding, underscores, non-ASCII) is refused before it can reach
// the routing cache or any database.
package hostname

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every error Canonical and FromRequest return
// for a malformed host name; test with errors.Is.
var ErrInvalid = errors.New("invalid host name")

// ErrIPLiteral means the host is an IP address (or a spelling that
// browsers and resolvers read as one, such as "0x7f.1" or "2130706433").
// Vendors are reached by name only. It wraps ErrInvalid.
var ErrIPLiteral = fmt.Errorf("%w: IP address literals are not routed to vendors", ErrInvalid)

// ErrAmbiguous means a request carries its host more than once (several
// Host or X-Forwarded-Host header lines), so there is no single answer.
// It wraps ErrInvalid.
var ErrAmbiguous = fmt.Errorf("%w: host given more than once", ErrInvalid)

// Limits from RFC 1035 section 2.3.4, for the name without a trailing dot.
const (
	maxNameLen  = 253
	maxLabelLen = 63
)

// invalid builds an error for host (quoted and shortened, so a hostile
// header cannot flood the logs) that wraps ErrInvalid.
func invalid(host, reason string) error {
	return fmt.Errorf("%w %s: %s", ErrInvalid, quote(host), reason)
}

func quote(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// Canonical returns the canonical form of a host as it appears in a Host
// header or URL authority: ASCII letters lower-cased, a port (":8080")
// removed, one trailing dot removed. It refuses:
//
//   - an empty name, or one longer than 253 characters;
//   - empty labels ("a..b", ".a", "a.." after the one trailing dot);
//   - labels longer than 63 characters or starting or ending with '-';
//   - any character other than ASCII letters, digits, '-' and '.', which
//     rules out user info ('@'), paths ('/'), spaces, '_', '%'
//     (percent-encoding), and non-ASCII text (international names must
//     arrive in their xn-- form, as browsers send them; lower-casing
//     Unicode is not done because it maps e.g. the Kelvin sign to 'k');
//   - a port that is not decimal digits or is above 65535;
//   - IP literals of any form: "[::1]", "::1", "127.0.0.1", and names whose
//     last label is numeric ("127.1", "2130706433", "0x7f.0x1"), which the
//     WHATWG URL parser and many resolvers treat as IPv4 addresses.
//
// Canonical is idempotent: for any accepted input, Canonical(out) == out.
func Canonical(host string) (string, error) {
	if host == "" {
		return "", invalid(host, "empty")
	}
	name := host
	if strings.HasPrefix(name, "[") {
		// "[v6]" or "[v6]:port": the only bracketed form HTTP has.
		inner, _, ok := strings.Cut(name[1:], "]")
		if _, err := netip.ParseAddr(inner); ok && err == nil {
			return "", fmt.Errorf("%w: %s", ErrIPLiteral, quote(host))
		}
		return "", invalid(host, "brackets are only for IPv6 literals")
	}
	switch strings.Count(name, ":") {
	case 0:
	case 1:
		var port string
		name, port, _ = strings.Cut(name, ":")
		if err := checkPort(port); err != nil {
			return "", invalid(host, err.Error())
		}
	default:
		// Several colons: a bare IPv6 address, or garbage.
		if _, err := netip.ParseAddr(name); err == nil {
			return "", fmt.Errorf("%w: %s", ErrIPLiteral, quote(host))
		}
		return "", invalid(host, "more than one ':'")
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", invalid(host, "no name before the port or trailing dot")
	}
	if len(name) > maxNameLen {
		return "", invalid(host, fmt.Sprintf("longer than %d characters", maxNameLen))
	}
	b := []byte(name)
	labelStart := 0
	for i := 0; i <= len(b); i++ {
		if i < len(b) && b[i] != '.' {
			c := b[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			case c >= 'A' && c <= 'Z':
				b[i] = c + ('a' - 'A')
			default:
				return "", invalid(host, fmt.Sprintf("character %s is not allowed in a host name", quote(string(c))))
			}
			continue
		}
		label := b[labelStart:i]
		switch {
		case len(label) == 0:
			return "", invalid(host, "empty label")
		case len(label) > maxLabelLen:
			return "", invalid(host, fmt.Sprintf("label longer than %d characters", maxLabelLen))
		case label[0] == '-' || label[len(label)-1] == '-':
			return "", invalid(host, "label starts or ends with '-'")
		}
		labelStart = i + 1
	}
	out := string(b)
	if numericLastLabel(out) {
		return "", fmt.Errorf("%w: %s", ErrIPLiteral, quote(host))
	}
	return out, nil
}

// checkPort accepts the port of a Host header: decimal digits (possibly
// none, as RFC 9110's "uri-host [ ':' port ]" with port = *DIGIT allows)
// no greater than 65535.
func checkPort(port string) error {
	if port == "" {
		return nil
	}
	if len(port) > 5 {
		return errors.New("port out of range")
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return errors.New("port is not a decimal number")
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return errors.New("port out of range")
	}
	return nil
}

// numericLastLabel reports whether the last label of a lower-cased name
// is all digits or a 0x hex number: the WHATWG URL "ends in a number"
// rule, under which the whole host is parsed as an IPv4 address. No real
// top-level domain is numeric (RFC 3696 section 2).
func numericLastLabel(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		for i := 0; i < len(hex); i++ {
			c := hex[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true
}

// FromRequest returns the canonical host a request is for.
//
// It uses r.Host, which Go's server fills from the request line's
// absolute URI if there is one and from the Host header otherwise (RFC
// 9112 section 3.2.2), and for HTTP/2 from :authority. A request with two
// Host header lines never reaches a handler: net/http answers it with
// "400 Bad Request: too many Host headers" (tested in this package's
// tests). A request built by other code with several Host values in
// r.Header is refused with ErrAmbiguous all the same.
//
// X-Forwarded-Host is used only when the TCP peer (r.RemoteAddr) lies in
// one of the trusted prefixes, that is when a proxy we run set it; from
// anyone else it is ignored. Several X-Forwarded-Host header lines are
// refused (ErrAmbiguous): proxies that set the header write one line, and
// two lines mean that something in the chain appended without merging,
// so we cannot tell which one the trusted proxy wrote.
//
// Of a comma-separated X-Forwarded-Host list the FIRST element is taken.
// The header names "the host the client originally asked for"; proxies
// that append rather than overwrite add the host they themselves were
// addressed by, so later elements name internal hops (for instance
// "tenantapp.internal:8080"), never the vendor. Taking the first element
// is safe here, unlike the leftmost X-Forwarded-For address: a client
// that forges the first element gains nothing, because it could as well
// put that name in its Host header (the host only selects which public
// storefront answers), and no link or redirect is ever built from the
// request's host (isolation rule 4).
//
// An empty X-Forwarded-Host line from a trusted peer is treated as absent.
func FromRequest(r *http.Request, trusted []netip.Prefix) (string, error) {
	if hosts := r.Header.Values("Host"); len(hosts) > 1 {
		return "", fmt.Errorf("%w: %d Host headers", ErrAmbiguous, len(hosts))
	}
	if len(trusted) > 0 && peerTrusted(r.RemoteAddr, trusted) {
		if fwd := r.Header.Values("X-Forwarded-Host"); len(fwd) > 1 {
			return "", fmt.Errorf("%w: %d X-Forwarded-Host headers", ErrAmbiguous, len(fwd))
		} else if len(fwd) == 1 && strings.TrimSpace(fwd[0]) != "" {
			first, _, _ := strings.Cut(fwd[0], ",")
			h, err := Canonical(strings.TrimSpace(first))
			if err != nil {
				return "", fmt.Errorf("read X-Forwarded-Host from trusted proxy %s: %w", r.RemoteAddr, err)
			}
			return h, nil
		}
	}
	h, err := Canonical(r.Host)
	if err != nil {
		return "", fmt.Errorf("read Host header: %w", err)
	}
	return h, nil
}

// peerTrusted reports whether the "ip:port" peer address lies in one of
// the prefixes. Anything unparseable (a Unix socket peer, an empty
// address) is untrusted.
func peerTrusted(remoteAddr string, trusted []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().WithZone("")
	unmapped := addr.Unmap()
	for _, p := range trusted {
		if p.Contains(addr) || p.Contains(unmapped) {
			return true
		}
	}
	return false
}
