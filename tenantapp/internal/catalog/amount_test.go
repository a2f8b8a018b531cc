package catalog

import "testing"

func TestDisplay(t *testing.T) {
	if got := Display(1290, "EUR"); got != "€12.90" {
		t.Errorf("Display EUR: %q", got)
	}
	if got := Display(12345, "KWD"); got != "12.345 KWD" {
		t.Errorf("Display KWD: %q", got)
	}
}

func TestPercent(t *testing.T) {
	cases := []struct {
		in  string
		bp  int64
		bad bool
	}{
		{"10", 1000, false}, {"+12.5", 1250, false}, {"-7,25", -725, false}, {"-10%", -1000, false}, {" 1000 ", 100000, false},
		{"0", 0, true}, {"-100", 0, true}, {"1000.01", 0, true}, {"1e2", 0, true}, {"abc", 0, true}, {"", 0, true}, {"10.123", 0, true},
	}
	for _, c := range cases {
		bp, err := ParsePercent(c.in)
		if c.bad != (err != nil) || bp != c.bp {
			t.Errorf("ParsePercent(%q) = %d, %v", c.in, bp, err)
		}
	}
	apply := []struct{ minor, bp, want int64 }{
		{1000, 1000, 1100}, {999, -1000, 899}, // 899.1
		{1005, -5000, 503}, // 502.5 rounds half up
		{1, -5000, 1},      // 0.5 rounds to 1
		{0, 5000, 0}, {1290, 100000, 14190},
	}
	for _, c := range apply {
		if got := ApplyPercent(c.minor, c.bp); got != c.want {
			t.Errorf("ApplyPercent(%d, %d) = %d, want %d", c.minor, c.bp, got, c.want)
		}
	}
}
