package auth

import (
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry the OWASP parameters", h)
	}
	for _, tc := range []struct {
		name, pw string
		want     bool
	}{
		{"right", "correct horse battery staple", true},
		{"wrong", "correct horse battery stapler", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := Verify(tc.pw, h)
			if err != nil || ok != tc.want {
				t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
			}
		})
	}
	if _, err := Verify("x", "not a hash"); err == nil {
		t.Error("Verify with a malformed hash: no error")
	}
	if _, err := Hash(""); err == nil {
		t.Error("Hash(\"\"): no error")
	}
	VerifyDummy("anything") // must not panic
}
