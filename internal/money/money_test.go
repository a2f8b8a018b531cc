package money

import "testing"

func TestFormat(t *testing.T) {
	cases := []struct {
		minor int64
		cur   string
		want  string
	}{
		{2490, "EUR", "€24.90"}, {5, "EUR", "€0.05"}, {0, "USD", "$0.00"}, {123456789, "GBP", "£1,234,567.89"},
		{-1050, "EUR", "-€10.50"}, {1500, "JPY", "¥1,500"}, {999, "SEK", "9.99 SEK"}, {100000, "eur", "€1,000.00"},
	}
	for _, c := range cases {
		if got := Format(c.minor, c.cur); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.minor, c.cur, got, c.want)
		}
	}
}
