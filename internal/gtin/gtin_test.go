package gtin

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name, in string
		err      string // "" when valid
	}{
		{"EAN-13", "4006381333931", ""},
		{"EAN-13 with spaces and hyphens", "400-638 133393-1", ""},
		{"EAN-13 other", "5901234123457", ""},
		{"EAN-13 check digit 0", "9780306406157", ""},
		{"UPC-A", "036000291452", ""},
		{"EAN-8", "96385074", ""},
		{"EAN-8 other", "73513537", ""},
		{"GTIN-14", "10012345678902", ""},
		{"GTIN-14 other", "00012345600012", ""},
		{"wrong check digit", "4006381333932", "would be 1"},
		{"wrong UPC check digit", "036000291453", "would be 2"},
		{"wrong EAN-8 check digit", "96385075", "would be 4"},
		{"swapped digits", "4006381333913", "check digit"},
		{"too short", "1234567", "8, 12, 13 or 14"},
		{"11 digits", "12345678901", "8, 12, 13 or 14"},
		{"15 digits", "400638133393100", "8, 12, 13 or 14"},
		{"letters", "40063813339X1", "digits only"},
		{"unicode digits", "４００６３８１３", "8, 12, 13 or 14"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check(Normalize(c.in))
			if c.err == "" && err != nil {
				t.Fatalf("%s: %v", c.in, err)
			}
			if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("%s: %v, want an error with %q", c.in, err, c.err)
			}
		})
	}
}

// Every body gets exactly one valid check digit.
func TestCheckDigitIsUnique(t *testing.T) {
	body := "400638133393"
	valid := 0
	for d := '0'; d <= '9'; d++ {
		if Check(body+string(d)) == nil {
			valid++
		}
	}
	if valid != 1 {
		t.Fatalf("%d valid check digits", valid)
	}
}
