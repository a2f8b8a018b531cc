package hostname

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestCanonical(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	// 4 labels of 63 plus 3 dots = 255; trim to exactly 253.
	name253 := label63 + "." + label63 + "." + label63 + "." + strings.Repeat("b", 61)
	tests := []struct {
		in   string
		want string // "" means an error is expected
		ip   bool   // the error must be ErrIPLiteral
	}{
		// Accepted, already canonical.
		{in: "shop.localhost", want: "shop.localhost"},
		{in: "localhost", want: "localhost"},
		{in: "a.b.c.example.com", want: "a.b.c.example.com"},
		{in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{in: "my-shop.example.com", want: "my-shop.example.com"},
		{in: "a1.example", want: "a1.example"},
		{in: "1shop.example", want: "1shop.example"},
		{in: "123.example.com", want: "123.example.com"},
		{in: "example.x1", want: "example.x1"},
		{in: label63 + ".example", want: label63 + ".example"},
		{in: name253, want: name253},
		{in: name253 + ".", want: name253},

		// Lower-casing, ports and the trailing dot.
		{in: "Shop.LocalHost", want: "shop.localhost"},
		{in: "SHOP.EXAMPLE.COM", want: "shop.example.com"},
		{in: "shop.localhost:8080", want: "shop.localhost"},
		{in: "shop.localhost:80", want: "shop.localhost"},
		{in: "shop.localhost:0", want: "shop.localhost"},
		{in: "shop.localhost:65535", want: "shop.localhost"},
		{in: "shop.localhost:00443", want: "shop.localhost"},
		{in: "shop.localhost:", want: "shop.localhost"},
		{in: "shop.example.com.", want: "shop.example.com"},
		{in: "Shop.Example.Com.:443", want: "shop.example.com"},

		// Malformed names.
		{in: ""},
		{in: "."},
		{in: ":80"},
		{in: ".:80"},
		{in: "..example.com"},
		{in: ".example.com"},
		{in: "example..com"},
		{in: "example.com.."},
		{in: "example.com:80:80"},
		{in: "example.com:http"},
		{in: "example.com:-1"},
		{in: "example.com:65536"},
		{in: "example.com:123456"},
		{in: "example.com:+80"},
		{in: "example.com:8080."},
		{in: "example.com :80"},
		{in: label63 + "a.example"},
		{in: name253 + "a"},
		{in: strings.Repeat("a.", 127) + "aa"},
		{in: "-shop.example"},
		{in: "shop-.example"},
		{in: "shop.-example"},
		{in: "shop.example-"},
		{in: "-"},
		{in: "shop_1.example"},
		{in: "_dmarc.example"},
		{in: "shop example"},
		{in: " shop.example"},
		{in: "shop.example "},
		{in: "shop.example\t"},
		{in: "shop.example\r\nX-Evil: 1"},
		{in: "shop.example\x00"},
		{in: "shop.example/"},
		{in: "shop.example/path"},
		{in: "/shop.example"},
		{in: "user@shop.example"},
		{in: "user:pass@shop.example"},
		{in: "shop.example@evil.example"},
		{in: "shop%2eexample"},
		{in: "%73hop.example"},
		{in: "shop.example%00"},
		{in: "shop.example?x=1"},
		{in: "shop.example#frag"},
		{in: "shop\\example"},
		{in: "shop*.example"},
		{in: "*.example"},
		{in: "shop,evil.example"},
		{in: "shop;evil.example"},
		{in: "\"shop.example\""},
		{in: "bücher.example"},
		{in: "shop.\u212Aexample"}, // Kelvin sign: strings.ToLower would make it 'k'
		{in: "shop.exa\u0131mple"},
		{in: "\xff\xfe"},
		{in: "[shop.example]"},
		{in: "[shop.example]:80"},
		{in: "[]"},
		{in: "["},
		{in: "]"},
		{in: "shop.example]"},

		// IP literals, in every spelling.
		{in: "127.0.0.1", ip: true},
		{in: "127.0.0.1:8080", ip: true},
		{in: "10.1.2.3.", ip: true},
		{in: "127.1", ip: true},
		{in: "2130706433", ip: true},
		{in: "0x7f.0x1", ip: true},
		{in: "0X7F.1", ip: true},
		{in: "0x7f000001", ip: true},
		{in: "shop.0x1f", ip: true},
		{in: "shop.123", ip: true},
		{in: "017700000001", ip: true},
		{in: "[::1]", ip: true},
		{in: "[::1]:8080", ip: true},
		{in: "[2001:db8::1]:443", ip: true},
		{in: "[::ffff:127.0.0.1]", ip: true},
		{in: "::1", ip: true},
		{in: "2001:db8::1", ip: true},
		{in: "[fe80::1%25eth0]"},
		{in: "fe80::1%eth0", ip: true},
	}
	for _, tt := range tests {
		got, err := Canonical(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Canonical(%q) = %q, want an error", tt.in, got)
				continue
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Canonical(%q) error %v does not wrap ErrInvalid", tt.in, err)
			}
			if tt.ip && !errors.Is(err, ErrIPLiteral) {
				t.Errorf("Canonical(%q) error %v, want ErrIPLiteral", tt.in, err)
			}
			if got != "" {
				t.Errorf("Canonical(%q) returned %q with its error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("Canonical(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalErrorsAreShortAndQuoted(t *testing.T) {
	_, err := Canonical(strings.Repeat("x", 5000) + "\n")
	if err == nil {
		t.Fatal("no error for a 5000-character name")
	}
	if len(err.Error()) > 300 {
		t.Errorf("error message is %d bytes long; a hostile header must not flood the log", len(err.Error()))
	}
	_, err = Canonical("a\r\nb")
	if err == nil || strings.ContainsAny(err.Error(), "\r\n") {
		t.Errorf("error %q should quote control characters", err)
	}
}

func mustPrefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestFromRequest(t *testing.T) {
	trusted := mustPrefixes(t, "10.0.0.0/8", "fd00::/8")
	tests := []struct {
		name    string
		remote  string
		host    string
		headers map[string][]string
		trusted []netip.Prefix
		want    string
		wantErr error
	}{
		{name: "plain host", remote: "203.0.113.9:5000", host: "Shop.Localhost:8080", want: "shop.localhost"},
		{name: "forwarded host ignored from untrusted peer", remote: "203.0.113.9:5000", host: "shop.localhost",
			headers: map[string][]string{"X-Forwarded-Host": {"evil.example"}}, trusted: trusted, want: "shop.localhost"},
		{name: "forwarded host ignored without trusted prefixes", remote: "10.1.2.3:5000", host: "shop.localhost",
			headers: map[string][]string{"X-Forwarded-Host": {"other.example"}}, want: "shop.localhost"},
		{name: "forwarded host from trusted proxy", remote: "10.1.2.3:5000", host: "tenantapp.internal:8080",
			headers: map[string][]string{"X-Forwarded-Host": {"Shop.Example.Com"}}, trusted: trusted, want: "shop.example.com"},
		{name: "forwarded host from trusted IPv6 proxy", remote: "[fd00::7]:5000", host: "tenantapp.internal",
			headers: map[string][]string{"X-Forwarded-Host": {"shop.example.com:443"}}, trusted: trusted, want: "shop.example.com"},
		{name: "IPv4-mapped peer matches an IPv4 prefix", remote: "[::ffff:10.9.9.9]:5000", host: "tenantapp.internal",
			headers: map[string][]string{"X-Forwarded-Host": {"shop.example.com"}}, trusted: trusted, want: "shop.example.com"},
		{name: "first element of a list", remote: "10.1.2.3:5000", host: "tenantapp.internal",
			headers: map[string][]string{"X-Forwarded-Host": {"shop.example.com, edge.internal ,tenantapp.internal"}}, trusted: trusted, want: "shop.example.com"},
		{name: "empty forwarded host falls back to Host", remote: "10.1.2.3:5000", host: "shop.localhost",
			headers: map[string][]string{"X-Forwarded-Host": {"  "}}, trusted: trusted, want: "shop.localhost"},
		{name: "two forwarded host lines", remote: "10.1.2.3:5000", host: "shop.localhost",
			headers: map[string][]string{"X-Forwarded-Host": {"a.example", "b.example"}}, trusted: trusted, wantErr: ErrAmbiguous},
		{name: "two forwarded host lines from untrusted peer are ignored", remote: "203.0.113.9:5000", host: "shop.localhost",
			headers: map[string][]string{"X-Forwarded-Host": {"a.example", "b.example"}}, trusted: trusted, want: "shop.localhost"},
		{name: "malformed forwarded host", remote: "10.1.2.3:5000", host: "shop.localhost",
			headers: map[string][]string{"X-Forwarded-Host": {"evil.example/x"}}, trusted: trusted, wantErr: ErrInvalid},
		{name: "empty first element", remote: "10.1.2.3:5000", host: "shop.localhost",
			headers: map[string][]string{"X-Forwarded-Host": {", shop.example"}}, trusted: trusted, wantErr: ErrInvalid},
		{name: "IP forwarded host", remote: "10.1.2.3:5000", host: "shop.localhost",
			headers: map[string][]string{"X-Forwarded-Host": {"10.0.0.1"}}, trusted: trusted, wantErr: ErrIPLiteral},
		{name: "two Host values in Header", remote: "203.0.113.9:5000", host: "a.example",
			headers: map[string][]string{"Host": {"a.example", "b.example"}}, wantErr: ErrAmbiguous},
		{name: "IP host", remote: "203.0.113.9:5000", host: "127.0.0.1:8080", wantErr: ErrIPLiteral},
		{name: "empty host", remote: "203.0.113.9:5000", host: "", wantErr: ErrInvalid},
		{name: "unparseable peer is untrusted", remote: "@", host: "shop.localhost",
			headers: map[string][]string{"X-Forwarded-Host": {"other.example"}}, trusted: mustPrefixes(t, "0.0.0.0/0", "::/0"), want: "shop.localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			r.Host = tt.host
			for k, vs := range tt.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			got, err := FromRequest(r, tt.trusted)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("FromRequest = %q, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("FromRequest = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// rawRequest sends bytes to a server over plain TCP and returns the status
// line of the response.
func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
}

// TestServerAgainstRawRequests checks, against a real net/http server, the
// header handling that FromRequest relies on.
func TestServerAgainstRawRequests(t *testing.T) {
	type seen struct {
		host string
		err  error
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := FromRequest(r, mustPrefixes(t, "127.0.0.0/8", "::1/128"))
		got <- seen{h, err}
		if err != nil {
			http.Error(w, "bad host", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, h)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	handlerSaw := func() *seen {
		select {
		case s := <-got:
			return &s
		default:
			return nil
		}
	}

	t.Run("two Host headers are refused by net/http with 400", func(t *testing.T) {
		status := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: a.localhost\r\nHost: b.localhost\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(status, "400 ") {
			t.Fatalf("response %q, want 400", status)
		}
		if s := handlerSaw(); s != nil {
			t.Fatalf("the handler ran (%+v) for a request with two Host headers", *s)
		}
	})
	t.Run("two Host headers differing only in case are refused too", func(t *testing.T) {
		status := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: a.localhost\r\nhost: a.localhost\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(status, "400 ") {
			t.Fatalf("response %q, want 400", status)
		}
		if s := handlerSaw(); s != nil {
			t.Fatalf("the handler ran (%+v)", *s)
		}
	})
	t.Run("missing Host header on HTTP/1.1 is refused by net/http", func(t *testing.T) {
		status := rawRequest(t, addr, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(status, "400 ") {
			t.Fatalf("response %q, want 400", status)
		}
		if s := handlerSaw(); s != nil {
			t.Fatalf("the handler ran (%+v)", *s)
		}
	})
	t.Run("one Host header", func(t *testing.T) {
		status := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: Shop.LocalHost:8080\r\nConnection: close\r\n\r\n")
		if status != "200 shop.localhost" {
			t.Fatalf("response %q", status)
		}
		<-got
	})
	t.Run("absolute request URI wins over Host", func(t *testing.T) {
		status := rawRequest(t, addr, "GET http://shop.localhost/ HTTP/1.1\r\nHost: other.localhost\r\nConnection: close\r\n\r\n")
		if status != "200 shop.localhost" {
			t.Fatalf("response %q", status)
		}
		<-got
	})
	t.Run("HTTP/1.0 without Host reaches the handler and is refused", func(t *testing.T) {
		status := rawRequest(t, addr, "GET / HTTP/1.0\r\n\r\n")
		if !strings.HasPrefix(status, "400 ") {
			t.Fatalf("response %q, want 400", status)
		}
		s := handlerSaw()
		if s == nil || !errors.Is(s.err, ErrInvalid) {
			t.Fatalf("handler saw %+v, want ErrInvalid", s)
		}
	})
	t.Run("two X-Forwarded-Host lines from a trusted peer", func(t *testing.T) {
		status := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: tenantapp.internal\r\nX-Forwarded-Host: a.localhost\r\n"+
			"X-Forwarded-Host: b.localhost\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(status, "400 ") {
			t.Fatalf("response %q, want 400", status)
		}
		s := handlerSaw()
		if s == nil || !errors.Is(s.err, ErrAmbiguous) {
			t.Fatalf("handler saw %+v, want ErrAmbiguous", s)
		}
	})
	t.Run("one X-Forwarded-Host line from a trusted peer", func(t *testing.T) {
		status := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: tenantapp.internal\r\nX-Forwarded-Host: Shop.Localhost, tenantapp.internal\r\n"+
			"Connection: close\r\n\r\n")
		if status != "200 shop.localhost" {
			t.Fatalf("response %q", status)
		}
		<-got
	})
	t.Run("malformed Host refused by net/http", func(t *testing.T) {
		status := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n")
		if !strings.HasPrefix(status, "400 ") {
			t.Fatalf("response %q, want 400", status)
		}
		if s := handlerSaw(); s != nil {
			t.Fatalf("the handler ran (%+v)", *s)
		}
	})
	t.Run("Hosts that net/http lets through but Canonical refuses", func(t *testing.T) {
		for _, h := range []string{"shop_1.localhost", "127.0.0.1:8080", "[::1]:8080", "%73hop.localhost", "shop.localhost:http", "-shop.localhost"} {
			status := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: "+h+"\r\nConnection: close\r\n\r\n")
			if !strings.HasPrefix(status, "400 ") {
				t.Fatalf("Host %q: response %q, want 400", h, status)
			}
			s := handlerSaw()
			if s == nil || !errors.Is(s.err, ErrInvalid) {
				t.Fatalf("Host %q: handler saw %+v, want ErrInvalid", h, s)
			}
		}
	})
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		"shop.localhost", "Shop.LocalHost:8080", "example.com.", "EXAMPLE.COM.:443", "[::1]:80", "::1",
		"127.0.0.1", "0x7f.1", "a..b", "-a.b", "a_b.c", "user@host", "host/path", "%41.example", "a.b:",
		"xn--bcher-kva.example", "a.b.:1", ":", ".", "[", "\u212A.example", strings.Repeat("a", 64) + ".b",
		strings.Repeat("a.", 126) + "a", "a.b..", "a.b:65536", "1.example.2", "0x.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Canonical(in)
		if err != nil {
			if out != "" {
				t.Fatalf("Canonical(%q) returned %q with error %v", in, out, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Canonical(%q) error %v does not wrap ErrInvalid", in, err)
			}
			// IP literals in any spelling netip reads are refused as such.
			bracketed := strings.HasPrefix(in, "[") && strings.HasSuffix(in, "]") && isAddr(in[1:len(in)-1])
			if ap, perr := netip.ParseAddrPort(in); perr == nil && ap.Addr().Zone() == "" || bracketed || isAddr(in) {
				if !errors.Is(err, ErrIPLiteral) {
					t.Fatalf("Canonical(%q) = %v, want ErrIPLiteral", in, err)
				}
			}
			return
		}
		// Only a port and one trailing dot are dropped, and ASCII letters
		// lower-cased: nothing else of the input is changed or left out.
		rest, ok := strings.CutPrefix(strings.ToLower(in), out)
		if !ok {
			t.Fatalf("Canonical(%q) = %q is not the input lower-cased", in, out)
		}
		rest = strings.TrimPrefix(rest, ".")
		if port, ok := strings.CutPrefix(rest, ":"); rest != "" && (!ok || strings.Trim(port, "0123456789") != "") {
			t.Fatalf("Canonical(%q) = %q dropped %q", in, out, rest)
		}
		for _, label := range strings.Split(out, ".") {
			if len(label) > maxLabelLen || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
				t.Fatalf("Canonical(%q) = %q has label %q", in, out, label)
			}
		}
		again, err := Canonical(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: Canonical(%q) = %q, then Canonical(%q) = %q, %v", in, out, out, again, err)
		}
		if out == "" || len(out) > maxNameLen {
			t.Fatalf("Canonical(%q) = %q: bad length %d", in, out, len(out))
		}
		if out != strings.ToLower(out) {
			t.Fatalf("Canonical(%q) = %q has upper case", in, out)
		}
		if strings.Contains(out, ":") {
			t.Fatalf("Canonical(%q) = %q has a port or colon", in, out)
		}
		if strings.HasSuffix(out, ".") || strings.HasPrefix(out, ".") || strings.Contains(out, "..") {
			t.Fatalf("Canonical(%q) = %q has an empty label", in, out)
		}
		for i := 0; i < len(out); i++ {
			c := out[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				t.Fatalf("Canonical(%q) = %q contains %q", in, out, c)
			}
		}
		if _, err := netip.ParseAddr(out); err == nil {
			t.Fatalf("Canonical(%q) = %q is an IP address", in, out)
		}
		// Case never matters for the result.
		if up, err := Canonical(strings.ToUpper(out)); err != nil || up != out {
			t.Fatalf("Canonical(upper(%q)) = %q, %v", out, up, err)
		}
	})
}

// isAddr reports whether s is an IP address without a zone.
func isAddr(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}
