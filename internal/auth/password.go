// Package auth hashes and checks passwords with argon2id at OWASP's
// recommended parameters (19 MiB of memory, 2 iterations, 1 thread).
package auth

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// Params are OWASP's argon2id recommendation.
var Params = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// ErrWeakPassword means a new password is too short or too long.
var ErrWeakPassword = fmt.Errorf("passwords must be %d to 256 characters long", MinPasswordLength)

// Hash returns the argon2id hash of a new password.
func Hash(password string) (string, error) {
	if n := utf8.RuneCountInString(password); n < MinPasswordLength || n > 256 {
		return "", ErrWeakPassword
	}
	h, err := argon2id.CreateHash(password, Params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// dummy is checked against when there is no account, so a wrong e-mail
// costs as much time as a wrong password.
var dummy, _ = argon2id.CreateHash("storefleet-no-such-account", Params)

// Verify reports whether password matches hash. An empty hash (no such
// account) still spends the time of a real check and fails.
func Verify(password, hash string) (bool, error) {
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(password, dummy)
		return false, nil
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil && !errors.Is(err, argon2id.ErrIncompatibleVariant) {
		return false, fmt.Errorf("check password: %w", err)
	}
	return ok, err
}
