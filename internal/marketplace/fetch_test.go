package marketplace_test

import (
	"net/netip"
	"testing"

	"github.com/storefleet/storefleet/internal/marketplace"
)

// Links in errors, logs and the console keep host and path, never the
// query (where feed links carry tokens) or a user and password.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://feeds.example.com/f.tsv?token=SECRET": "https://feeds.example.com/f.tsv?…",
		"https://u:pw@example.com/a/b.csv":             "https://example.com/a/b.csv",
		"http://example.com/plain.tsv":                 "http://example.com/plain.tsv",
	} {
		if got := marketplace.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1:248:1893:25c8:1946": true,
		"127.0.0.1": false, "10.1.2.3": false, "169.254.169.254": false, "100.64.0.1": false, "0.1.2.3": false,
		"198.18.0.5": false, "255.255.255.255": false, "::1": false, "fe80::1": false, "fd00::1": false,
		"::ffff:127.0.0.1": false, "64:ff9b::a9fe:a9fe": false, "64:ff9b::5db8:d822": true,
		"2002:7f00:1::": false, "2002:5db8:d822::": true, "::7f00:1": false,
	} {
		if got := marketplace.PublicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: %v, want %v", addr, got, want)
		}
	}
}
