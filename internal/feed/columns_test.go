package feed_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/feed"
)

// A header of more columns than a feed has is refused, so that a file of
// thousands of one-letter columns cannot make every row thousands of
// values.
func TestTooManyColumns(t *testing.T) {
	cols := []string{"id", "title", "price"}
	for i := len(cols); i <= feed.MaxColumns; i++ {
		cols = append(cols, "x"+strings.Repeat("y", i%7)+string(rune('a'+i%26))+strings.Repeat("z", i/26))
	}
	_, err := feed.NewReader(strings.NewReader(strings.Join(cols, "\t")+"\n"), feed.Options{})
	if !errors.Is(err, feed.ErrNotAFeed) || !strings.Contains(err.Error(), "columns") {
		t.Fatalf("%d columns: %v", len(cols), err)
	}
	if _, err := feed.NewReader(strings.NewReader(strings.Join(cols[:feed.MaxColumns], "\t")+"\n"), feed.Options{}); err != nil {
		t.Fatalf("%d columns: %v", feed.MaxColumns, err)
	}
}
