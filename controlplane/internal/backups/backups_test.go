package backups

import (
	"testing"
	"time"
)

func TestHumanBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {812, "812 B"}, {1024, "1.0 KiB"}, {7168, "7.0 KiB"}, {1536 * 1024, "1.5 MiB"},
		{5 << 30, "5.0 GiB"}, {3 << 40, "3.0 TiB"},
	} {
		if got := HumanBytes(tc.n); got != tc.want {
			t.Errorf("HumanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0 ms"}, {340 * time.Millisecond, "340 ms"}, {3200 * time.Millisecond, "3.2 s"},
		{4*time.Minute + 5*time.Second, "4 min 05 s"}, {2*time.Hour + 3*time.Minute, "2 h 03 min"},
	} {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
