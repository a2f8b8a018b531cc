package domains

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	ok := []struct{ name, in, want string }{
		{"plain", "shop.example.com", "shop.example.com"},
		{"upper case", "Shop.Example.COM", "shop.example.com"},
		{"trailing dot", "example.com.", "example.com"},
		{"pasted address", "https://www.example.com/", "www.example.com"},
		{"spaces", "  example.org ", "example.org"},
		{"international", "Bücher.example", "xn--bcher-kva.example"},
		{"punycode kept", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"hyphen inside", "my-shop.co.uk", "my-shop.co.uk"},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			got, err := Canonical(c.in, "storefleet.test")
			if err != nil || got != c.want {
				t.Fatalf("Canonical(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			if again, err := Canonical(got, "storefleet.test"); err != nil || again != got {
				t.Errorf("not idempotent: %q -> %q, %v", got, again, err)
			}
		})
	}
	bad := []struct{ name, in, says string }{
		{"empty", "", "Enter a domain name"},
		{"port", "example.com:8443", "port"},
		{"path", "example.com/shop", "without a path"},
		{"ipv4", "192.0.2.1", "IP address"},
		{"ipv6", "[2001:db8::1]", "IP address"},
		{"bare ipv6", "2001:db8::1", "IP address"},
		{"numeric last label", "10.0.0.0x1", "reads as an IP address"},
		{"single label", "localhost", "not a full domain name"},
		{"base domain", "storefleet.test", "belongs to the platform"},
		{"under the base domain", "acme.storefleet.test", "belongs to the platform"},
		{"base domain spelled otherwise", "ACME.Storefleet.Test.", "belongs to the platform"},
		{"public suffix", "co.uk", "public suffix"},
		{"private public suffix", "github.io", "public suffix"},
		{"underscore", "my_shop.example.com", "not a valid domain name"},
		{"leading hyphen", "-shop.example.com", "not a valid domain name"},
		{"user info", "user@example.com", "without a path"},
		{"too long", strings.Repeat("a", 64) + ".com", "not a valid domain name"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			got, err := Canonical(c.in, "storefleet.test")
			if err == nil {
				t.Fatalf("Canonical(%q) = %q, want an error", c.in, got)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("Canonical(%q): %v; want it to say %q", c.in, err, c.says)
			}
		})
	}
}

func TestPartnerAndVerifyName(t *testing.T) {
	for _, c := range []struct{ host, partner, verify string }{
		{"example.com", "www.example.com", "example.com"},
		{"www.example.com", "example.com", "example.com"},
		{"shop.example.co.uk", "", "shop.example.co.uk"},
		{"example.co.uk", "www.example.co.uk", "example.co.uk"},
		{"www.shop.example.com", "", "shop.example.com"},
	} {
		p, _ := Partner(c.host)
		if p != c.partner {
			t.Errorf("Partner(%q) = %q, want %q", c.host, p, c.partner)
		}
		if v := VerifyName(c.host); v != c.verify {
			t.Errorf("VerifyName(%q) = %q, want %q", c.host, v, c.verify)
		}
	}
	if TXTName("www.example.com") != "_storefleet-verify.example.com" || TXTValue("abc") != "storefleet-verify=abc" {
		t.Error("TXT record names are off")
	}
}
