package admins

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/storefleet/storefleet/internal/platform"
)

// TOTP parameters: the ones every authenticator app understands.
const (
	totpPeriod = 30
	totpIssuer = "Storefleet"
	// RecoveryCodes is how many one-time recovery codes an admin gets.
	RecoveryCodes = 10
)

// Errors of two-factor sign-in.
var (
	ErrCodeWrong  = errors.New("that code is not right; enter the current 6-digit code from your authenticator app")
	ErrCodeReused = errors.New("that code was used already; wait for the next one")
	ErrNoTOTP     = errors.New("two-factor sign-in is not set up")
)

func totpContext(adminID int64) string { return "admin-totp:" + strconv.FormatInt(adminID, 10) }

// Enrolment is a TOTP secret waiting to be confirmed with a code.
type Enrolment struct {
	Secret string // base32, for typing into an app
	URL    string // otpauth:// URL, what the QR code holds
	// QR is the QR code as a data: URL of a PNG image.
	QR string
}

// BeginTOTP makes a new secret for an admin and keeps it sealed until it
// is confirmed; two-factor sign-in is not on until then. An admin who has
// it on already must turn it off first.
func (s *Service) BeginTOTP(ctx context.Context, actor platform.Actor, a *platform.Admin) (*Enrolment, error) {
	if a.TOTPEnabledAt != nil {
		return nil, errors.New("two-factor sign-in is on already; turn it off first to set up a new authenticator")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: a.Email, Period: totpPeriod})
	if err != nil {
		return nil, fmt.Errorf("make TOTP secret: %w", err)
	}
	sealed := s.o.Box.Seal([]byte(key.Secret()), totpContext(a.ID))
	err = s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE admins SET totp_secret_enc = $2 WHERE id = $1 AND totp_enabled_at IS NULL`, a.ID, sealed); err != nil {
			return fmt.Errorf("save TOTP secret: %w", err)
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "admin.totp_setup", TargetType: "admin", TargetID: strconv.FormatInt(a.ID, 10)})
	})
	if err != nil {
		return nil, err
	}
	return enrolment(key)
}

// PendingTOTP returns the enrolment started and not confirmed yet, or nil.
func (s *Service) PendingTOTP(ctx context.Context, a *platform.Admin) (*Enrolment, error) {
	if a.TOTPEnabledAt != nil {
		return nil, nil
	}
	secret, err := s.secret(ctx, a.ID, false)
	if errors.Is(err, ErrNoTOTP) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	key, err := otp.NewKeyFromURL(keyURL(a.Email, secret))
	if err != nil {
		return nil, fmt.Errorf("TOTP key: %w", err)
	}
	return enrolment(key)
}

// keyURL is the otpauth:// URL of a secret, as totp.Generate makes it.
func keyURL(email, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", totpIssuer)
	v.Set("period", strconv.Itoa(totpPeriod))
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + email, RawQuery: v.Encode()}
	return u.String()
}

func enrolment(key *otp.Key) (*Enrolment, error) {
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, fmt.Errorf("draw QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("draw QR code: %w", err)
	}
	return &Enrolment{Secret: key.Secret(), URL: key.URL(), QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// secret opens an admin's TOTP secret; enabled asks for one in force.
func (s *Service) secret(ctx context.Context, adminID int64, enabled bool) (string, error) {
	var sealed []byte
	var on bool
	err := s.o.Store.Pool().QueryRow(ctx, `SELECT totp_secret_enc, totp_enabled_at IS NOT NULL FROM admins WHERE id = $1`, adminID).Scan(&sealed, &on)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("admin %d: %w", adminID, platform.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read TOTP secret: %w", err)
	}
	if sealed == nil || on != enabled {
		return "", ErrNoTOTP
	}
	b, err := s.o.Box.Open(sealed, totpContext(adminID))
	if err != nil {
		return "", fmt.Errorf("open TOTP secret of admin %d: %w", adminID, err)
	}
	return string(b), nil
}

// matchStep returns the time step (now, or one either side for clock
// drift) whose code is code, or 0.
func matchStep(secret, code string, now time.Time) (int64, error) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != 6 {
		return 0, nil
	}
	cur := now.Unix() / totpPeriod
	for _, step := range []int64{cur, cur - 1, cur + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, fmt.Errorf("TOTP code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, nil
		}
	}
	return 0, nil
}

// useStep records step as the newest used; false if it (or a later one)
// was used already.
func useStep(ctx context.Context, q platform.Querier, adminID, step int64) (bool, error) {
	rows, err := q.Query(ctx, `UPDATE admins SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2 RETURNING id`, adminID, step)
	if err != nil {
		return false, fmt.Errorf("record TOTP step: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return false, fmt.Errorf("record TOTP step: %w", err)
	}
	return len(ids) == 1, nil
}

// ConfirmTOTP turns two-factor sign-in on once the admin proves their app
// has the secret, and returns a fresh set of recovery codes (shown once).
func (s *Service) ConfirmTOTP(ctx context.Context, actor platform.Actor, adminID int64, code string) ([]string, error) {
	secret, err := s.secret(ctx, adminID, false)
	if err != nil {
		return nil, err
	}
	step, err := matchStep(secret, code, time.Now())
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, fieldErr("code", ErrCodeWrong.Error())
	}
	codes := newRecoveryCodes()
	err = s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		ok, err := useStep(ctx, tx, adminID, step)
		if err != nil {
			return err
		}
		if !ok {
			return fieldErr("code", ErrCodeReused.Error())
		}
		tag, err := tx.Exec(ctx, `UPDATE admins SET totp_enabled_at = now() WHERE id = $1 AND totp_enabled_at IS NULL AND totp_secret_enc IS NOT NULL`, adminID)
		if err != nil {
			return fmt.Errorf("turn on TOTP: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrNoTOTP
		}
		if err := saveRecoveryCodes(ctx, tx, adminID, codes); err != nil {
			return err
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "admin.totp_enable", TargetType: "admin", TargetID: strconv.FormatInt(adminID, 10)})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns two-factor sign-in off (or abandons a set-up) and
// forgets the secret and the recovery codes: the admin themselves (after
// their password) or a super admin for someone who lost their device.
// ErrNoTOTP if there was nothing to turn off.
func (s *Service) DisableTOTP(ctx context.Context, actor platform.Actor, adminID int64) error {
	return s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		if _, err := lockAdmin(ctx, tx, adminID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE admins SET totp_secret_enc = NULL, totp_enabled_at = NULL WHERE id = $1 AND totp_secret_enc IS NOT NULL`, adminID)
		if err != nil {
			return fmt.Errorf("turn off TOTP: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM admin_recovery_codes WHERE admin_id = $1`, adminID); err != nil {
			return fmt.Errorf("delete recovery codes: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return ErrNoTOTP
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "admin.totp_disable", TargetType: "admin", TargetID: strconv.FormatInt(adminID, 10)})
	})
}

// VerifyTOTP checks a sign-in code: right for now (give or take 30
// seconds) and not used before. Errors: ErrCodeWrong, ErrCodeReused.
func (s *Service) VerifyTOTP(ctx context.Context, adminID int64, code string) error {
	secret, err := s.secret(ctx, adminID, true)
	if err != nil {
		return err
	}
	step, err := matchStep(secret, code, time.Now())
	if err != nil {
		return err
	}
	if step == 0 {
		return ErrCodeWrong
	}
	ok, err := useStep(ctx, s.o.Store.Pool(), adminID, step)
	if err != nil {
		return err
	}
	if !ok {
		return ErrCodeReused
	}
	return nil
}

// UseRecoveryCode spends one of an admin's recovery codes; ErrCodeWrong
// if it is not one of theirs or was spent.
func (s *Service) UseRecoveryCode(ctx context.Context, adminID int64, code string) error {
	tag, err := s.o.Store.Pool().Exec(ctx, `UPDATE admin_recovery_codes SET used_at = now()
		WHERE admin_id = $1 AND code_hash = $2 AND used_at IS NULL`, adminID, sha(normalizeRecovery(code)))
	if err != nil {
		return fmt.Errorf("use recovery code: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrCodeWrong
	}
	return nil
}

// RecoveryCodesLeft counts an admin's unspent recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, adminID int64) (int, error) {
	var n int
	err := s.o.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM admin_recovery_codes WHERE admin_id = $1 AND used_at IS NULL`, adminID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// NewRecoveryCodes replaces an admin's recovery codes with a fresh set.
func (s *Service) NewRecoveryCodes(ctx context.Context, actor platform.Actor, adminID int64) ([]string, error) {
	codes := newRecoveryCodes()
	err := s.o.Store.Transact(ctx, func(tx pgx.Tx) error {
		var on bool
		if err := tx.QueryRow(ctx, `SELECT totp_enabled_at IS NOT NULL FROM admins WHERE id = $1 FOR UPDATE`, adminID).Scan(&on); err != nil {
			return fmt.Errorf("find admin %d: %w", adminID, err)
		}
		if !on {
			return ErrNoTOTP
		}
		if err := saveRecoveryCodes(ctx, tx, adminID, codes); err != nil {
			return err
		}
		return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: "admin.recovery_codes", TargetType: "admin", TargetID: strconv.FormatInt(adminID, 10)})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

func saveRecoveryCodes(ctx context.Context, tx pgx.Tx, adminID int64, codes []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM admin_recovery_codes WHERE admin_id = $1`, adminID); err != nil {
		return fmt.Errorf("replace recovery codes: %w", err)
	}
	for _, c := range codes {
		if _, err := tx.Exec(ctx, `INSERT INTO admin_recovery_codes (admin_id, code_hash) VALUES ($1, $2)`, adminID, sha(normalizeRecovery(c))); err != nil {
			return fmt.Errorf("save recovery code: %w", err)
		}
	}
	return nil
}

// recoveryAlphabet has no letters that look alike (no 0/o, 1/l/i).
const recoveryAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"

// newRecoveryCodes makes RecoveryCodes codes like "k7m2q-x9r4t" (50 bits each).
func newRecoveryCodes() []string {
	out := make([]string, RecoveryCodes)
	limit := byte(256 - 256%len(recoveryAlphabet)) // no modulo bias
	buf := make([]byte, 1)
	for i := range out {
		var sb strings.Builder
		for sb.Len() < 11 {
			if sb.Len() == 5 {
				sb.WriteByte('-')
				continue
			}
			if _, err := rand.Read(buf); err != nil {
				panic("admins: no randomness: " + err.Error())
			}
			if buf[0] < limit {
				sb.WriteByte(recoveryAlphabet[int(buf[0])%len(recoveryAlphabet)])
			}
		}
		out[i] = sb.String()
	}
	return out
}

// normalizeRecovery forgives case, spaces and dashes.
func normalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
}

// IsRecoveryCode reports whether input looks like a recovery code rather
// than a 6-digit TOTP code.
func IsRecoveryCode(input string) bool { return len(normalizeRecovery(input)) == 10 }
