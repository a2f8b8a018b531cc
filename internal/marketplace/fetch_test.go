package marketplace_test

import (
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
