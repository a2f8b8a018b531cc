package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ResetTTL is how long a password reset link works.
const ResetTTL = time.Hour

// errTokenInvalid means a reset link is unknown, used or expired.
var errTokenInvalid = errors.New("this link does not work any more: it was used already, a newer one was sent, or it has expired")

func tokenHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// newResetToken makes a reset token for a customer inside tx, voiding the
// customer's earlier unused ones, and returns its secret (only its
// SHA-256 is stored).
func newResetToken(ctx context.Context, tx pgx.Tx, customerID int64) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make reset token: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	if _, err := tx.Exec(ctx, `DELETE FROM customer_tokens WHERE customer_id = $1 AND purpose = 'reset' AND used_at IS NULL`, customerID); err != nil {
		return "", fmt.Errorf("void earlier reset tokens of customer %d: %w", customerID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO customer_tokens (customer_id, purpose, token_hash, expires_at)
		VALUES ($1, 'reset', $2, now() + $3::interval)`, customerID, tokenHash(secret), fmt.Sprintf("%d seconds", int(ResetTTL.Seconds()))); err != nil {
		return "", fmt.Errorf("save reset token of customer %d: %w", customerID, err)
	}
	return secret, nil
}

// peekResetToken returns the customer of a valid reset token without
// using it.
func peekResetToken(ctx context.Context, db Querier, secret string) (*Customer, error) {
	if secret == "" || len(secret) > 100 {
		return nil, errTokenInvalid
	}
	c, err := scanCustomer(db.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = (
		SELECT customer_id FROM customer_tokens WHERE token_hash = $1 AND purpose = 'reset' AND used_at IS NULL AND expires_at > now())`,
		tokenHash(secret)))
	if errors.Is(err, errNotFound) {
		return nil, errTokenInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("check reset token: %w", err)
	}
	return c, nil
}

// useResetToken marks a valid reset token used, once, and returns its
// customer's id.
func useResetToken(ctx context.Context, tx pgx.Tx, secret string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `UPDATE customer_tokens SET used_at = now()
		WHERE token_hash = $1 AND purpose = 'reset' AND used_at IS NULL AND expires_at > now() RETURNING customer_id`,
		tokenHash(secret)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, errTokenInvalid
	}
	if err != nil {
		return 0, fmt.Errorf("use reset token: %w", err)
	}
	return id, nil
}
