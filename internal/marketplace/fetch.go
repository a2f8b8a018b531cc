package marketplace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBadURL means a URL cannot be fetched: not http(s), or it points
// inside the platform's network.
var ErrBadURL = errors.New("bad URL")

// CheckURL says whether raw is a link the platform will fetch: absolute
// http or https, with a host, at most 2000 bytes. Where it leads is
// checked again at every connection (see newHTTPClient).
func CheckURL(raw string) (*url.URL, error) {
	if len(raw) > 2000 {
		return nil, fmt.Errorf("%w: longer than 2000 characters", ErrBadURL)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: only http and https links can be fetched", ErrBadURL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: the link has no host", ErrBadURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: links with a user name or password are not fetched", ErrBadURL)
	}
	return u, nil
}

// publicAddr reports whether an address may be fetched from: not
// loopback, private, link-local, multicast or unspecified.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	// IPv6 addresses that carry an IPv4 one (NAT64, 6to4) lead where it
	// leads.
	if a.Is6() {
		b := a.As16()
		for _, p := range embedsIPv4 {
			if p.prefix.Contains(a) {
				return publicAddr(netip.AddrFrom4([4]byte(b[p.at : p.at+4])))
			}
		}
	}
	return true
}

// nonPublic are ranges that are not public beyond what netip knows.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),  // protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and broadcast
	netip.MustParsePrefix("::/96"),         // IPv4-compatible (deprecated)
}

// embedsIPv4 are IPv6 prefixes whose addresses carry an IPv4 address, and
// where it starts.
var embedsIPv4 = []struct {
	prefix netip.Prefix
	at     int
}{
	{netip.MustParsePrefix("64:ff9b::/96"), 12},   // NAT64
	{netip.MustParsePrefix("64:ff9b:1::/48"), 12}, // local NAT64
	{netip.MustParsePrefix("2002::/16"), 2},       // 6to4
}

// newHTTPClient is the client for feed URLs and image links: every
// connection is checked against the address it really goes to (after DNS,
// after redirects), so a name that resolves inside the network is refused.
func newHTTPClient(cfg Config) *http.Client {
	rt := cfg.Transport
	if rt == nil {
		dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
			if cfg.AllowPrivateURLs {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !publicAddr(ap.Addr()) {
				return fmt.Errorf("%w: %s is inside the network", ErrBadURL, address)
			}
			return nil
		}}
		rt = &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       30 * time.Second,
		}
	}
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			_, err := CheckURL(req.URL.String())
			return err
		},
	}
}

// get fetches u and returns its body (at most limit bytes are let through:
// reading more fails with errTooBig) for a 200 answer.
func (r *Runner) get(ctx context.Context, u string, limit int64) (io.ReadCloser, *http.Response, error) {
	if _, err := CheckURL(u); err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	req.Header.Set("User-Agent", "Storefleet/1 (+marketplace import)")
	resp, err := r.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = Redact(ue.URL)
		}
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, resp, &HTTPStatusError{URL: u, Status: resp.StatusCode}
	}
	if resp.ContentLength > limit {
		resp.Body.Close()
		return nil, resp, fmt.Errorf("%w: %d bytes, at most %d", errTooBig, resp.ContentLength, limit)
	}
	return &limitedBody{r: resp.Body, left: limit}, resp, nil
}

// HTTPStatusError is an answer other than 200.
type HTTPStatusError struct {
	URL    string
	Status int
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("%s answered %d %s", Redact(e.URL), e.Status, http.StatusText(e.Status))
}

// Redact is a link as errors, logs and the platform's console may show
// it: scheme, host and path, without the query (feed links often carry an
// access token there) or user information.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a link)"
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	s := out.String()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}

// Temporary reports whether trying again later may help (5xx, 429, 408).
func (e *HTTPStatusError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

var errTooBig = errors.New("the file is too big")

// limitedBody fails with errTooBig past its limit, unlike io.LimitReader,
// which would quietly cut the file short.
type limitedBody struct {
	r    io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, errTooBig
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.r.Close() }
