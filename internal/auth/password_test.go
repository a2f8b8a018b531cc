package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash does not use OWASP parameters: %s", h)
	}
	if ok, err := Verify("correct horse battery", h); !ok || err != nil {
		t.Errorf("right password refused: %v", err)
	}
	if ok, _ := Verify("wrong horse battery", h); ok {
		t.Error("wrong password accepted")
	}
	if ok, err := Verify("anything at all", ""); ok || err != nil {
		t.Errorf("no account: ok=%v err=%v", ok, err)
	}
	for _, weak := range []string{"", "short", strings.Repeat("x", 257)} {
		if _, err := Hash(weak); !errors.Is(err, ErrWeakPassword) {
			t.Errorf("Hash(%d chars) = %v, want ErrWeakPassword", len(weak), err)
		}
	}
}
