// Package auth hashes and checks admin passwords with argon2id at OWASP's
// recommended parameters (19 MiB of memory, 2 iterations, 1 thread).
package auth

import (
	"errors"
	"fmt"

	"github.com/alexedwards/argon2id"
)

// Params are OWASP's argon2id recommendation for password storage.
var Params = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Hash returns the encoded argon2id hash of a password.
func Hash(password string) (string, error) {
	if password == "" {
		return "", errors.New("hash password: the password is empty")
	}
	h, err := argon2id.CreateHash(password, Params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// dummyHash is checked when there is no account for an e-mail, so a wrong
// e-mail costs as much time as a wrong password.
var dummyHash = func() string {
	h, err := argon2id.CreateHash("storefleet: no such admin", Params)
	if err != nil {
		panic("auth: cannot make the dummy hash: " + err.Error())
	}
	return h
}()

// Verify reports whether password matches hash. A malformed hash is an
// error; a wrong password is not.
func Verify(password, hash string) (bool, error) {
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	return ok, nil
}

// VerifyDummy spends the time of a real check and fails: use it when no
// account matches, so response times do not tell which e-mails exist.
func VerifyDummy(password string) {
	_, _ = argon2id.ComparePasswordAndHash(password, dummyHash)
}
