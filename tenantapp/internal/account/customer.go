package account

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/auth"
)

// Customer is a shopper's account at one shop.
type Customer struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Phone     string    `json:"phone"`
	CreatedAt time.Time `json:"created_at"`

	passwordHash string
}

// Querier runs a query: a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	errNotFound   = errors.New("no such customer")
	errEmailTaken = errors.New("e-mail address taken")
)

// Field limits, as the schema's CHECKs have them (in characters).
const (
	maxName  = 200
	maxPhone = 40
	maxEmail = 254
)

// normalizeEmail trims and lower-cases an address and says whether it is
// one (name@example.com, nothing around it).
func normalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > maxEmail || strings.IndexByte(s, '@') < 1 {
		return s, false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return s, false
	}
	_, domain, _ := strings.Cut(s, "@")
	return s, strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".")
}

// cleanText trims a one-line text and says whether it has no control
// characters and at most max characters.
func cleanText(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max || !utf8.ValidString(s) {
		return s, false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return s, false
		}
	}
	return s, true
}

const customerColumns = `id, email, name, phone, created_at, password_hash`

func scanCustomer(row pgx.Row) (*Customer, error) {
	var c Customer
	err := row.Scan(&c.ID, &c.Email, &c.Name, &c.Phone, &c.CreatedAt, &c.passwordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// customerByEmail finds a customer by their (normalized) address.
func customerByEmail(ctx context.Context, db Querier, email string) (*Customer, error) {
	c, err := scanCustomer(db.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE email = $1`, email))
	if err != nil && !errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("find customer by e-mail: %w", err)
	}
	return c, err
}

// customerByID loads a customer.
func customerByID(ctx context.Context, db Querier, id int64) (*Customer, error) {
	c, err := scanCustomer(db.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = $1`, id))
	if err != nil && !errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("load customer %d: %w", id, err)
	}
	return c, err
}

// createCustomer adds an account; errEmailTaken if the address has one.
func createCustomer(ctx context.Context, db *pgxpool.Pool, email, name, hash string) (int64, error) {
	var id int64
	// sessions_valid_after from the app's clock, like the sign-in that
	// follows: the database's clock running ahead must not end it.
	err := db.QueryRow(ctx, `INSERT INTO customers (email, name, password_hash, sessions_valid_after, last_login_at)
		VALUES ($1, $2, $3, $4, now()) ON CONFLICT (email) DO NOTHING RETURNING id`, email, name, hash, now()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, errEmailTaken
	}
	if err != nil {
		return 0, fmt.Errorf("create customer: %w", err)
	}
	return id, nil
}

// recordLogin notes a customer's sign-in.
func recordLogin(ctx context.Context, db *pgxpool.Pool, id int64) error {
	if _, err := db.Exec(ctx, `UPDATE customers SET last_login_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("record sign-in of customer %d: %w", id, err)
	}
	return nil
}

// setPasswordTx changes a customer's password inside tx and ends every
// session made before validAfter (the caller signs its own session in
// again afterwards). validAfter comes from the app's clock, like the
// sign-in times sessions record, so clock skew between the app and the
// database cannot end the new session or spare an old one. Unused reset
// links stop working.
func setPasswordTx(ctx context.Context, tx pgx.Tx, id int64, hash string, validAfter time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE customers SET password_hash = $2, sessions_valid_after = $3, updated_at = now() WHERE id = $1`,
		id, hash, validAfter); err != nil {
		return fmt.Errorf("set password of customer %d: %w", id, err)
	}
	// A reset link asked for before the change no longer works.
	if _, err := tx.Exec(ctx, `UPDATE customer_tokens SET used_at = now() WHERE customer_id = $1 AND used_at IS NULL`, id); err != nil {
		return fmt.Errorf("void reset links of customer %d: %w", id, err)
	}
	return nil
}

// checkPassword verifies a customer's password; with c nil it spends the
// time of a real check and fails.
func checkPassword(c *Customer, password string) (bool, error) {
	hash := ""
	if c != nil {
		hash = c.passwordHash
	}
	return auth.Verify(password, hash)
}
