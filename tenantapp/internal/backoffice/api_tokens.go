package backoffice

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Staff API tokens are rows of staff_tokens with purpose 'api': only the
// SHA-256 of the secret is kept, the secret is shown once. A token acts
// with the permissions its member has at the time of each request, so a
// member disabled or removed, or given a smaller role, takes their tokens
// down with them. Every member manages their own tokens; members holding
// staff.manage also see and revoke everyone's (they cannot make tokens
// for others). Revoking deletes the row; the audit log keeps the record.

const (
	apiTokenPrefix    = "sfstaff_"
	apiTokenPurpose   = "api"
	maxTokensPerStaff = 20
)

type apiToken struct {
	ID         int64
	StaffID    int64
	StaffEmail string
	Name       string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
}

// Expired reports whether the token no longer works.
func (t apiToken) Expired() bool { return t.ExpiresAt != nil && !t.ExpiresAt.After(time.Now()) }

func hashAPIToken(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// createAPIToken makes a token for m and returns its secret.
func createAPIToken(ctx context.Context, db *pgxpool.Pool, m *staff.Member, name string, ttl time.Duration, audit staff.Entry) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make API token: %w", err)
	}
	secret := apiTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	var expires *time.Time
	if ttl > 0 {
		e := time.Now().Add(ttl)
		expires = &e
	}
	err := database.Transact(ctx, db, func(tx pgx.Tx) error {
		// One member's token-making is serialised, so the limit holds.
		if _, err := tx.Exec(ctx, `SELECT FROM staff WHERE id = $1 FOR UPDATE`, m.ID); err != nil {
			return fmt.Errorf("lock member %d: %w", m.ID, err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM staff_tokens WHERE staff_id = $1 AND purpose = 'api'
			AND (expires_at IS NULL OR expires_at > now())`, m.ID).Scan(&n); err != nil {
			return fmt.Errorf("count API tokens: %w", err)
		}
		if n >= maxTokensPerStaff {
			return web.FieldError("name", fmt.Sprintf("You have %d tokens already; revoke one you no longer use first.", n))
		}
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO staff_tokens (staff_id, purpose, name, token_hash, expires_at)
			VALUES ($1, 'api', $2, $3, $4) RETURNING id`, m.ID, name, hashAPIToken(secret), expires).Scan(&id)
		if err != nil {
			return fmt.Errorf("save API token: %w", err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "api_token.created", "staff_token", fmt.Sprint(id)
		audit.After = map[string]any{"name": name, "staff_id": m.ID, "expires_at": expires}
		return staff.Audit(ctx, tx, audit)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// listAPITokens lists one member's tokens, or everyone's for staffID 0.
func listAPITokens(ctx context.Context, db *pgxpool.Pool, staffID int64) ([]apiToken, error) {
	rows, err := db.Query(ctx, `SELECT t.id, t.staff_id, s.email, t.name, t.created_at, t.expires_at, t.last_used_at
		FROM staff_tokens t JOIN staff s ON s.id = t.staff_id
		WHERE t.purpose = 'api' AND ($1 = 0 OR t.staff_id = $1) ORDER BY t.created_at DESC, t.id DESC`, staffID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[apiToken])
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return out, nil
}

var errNoToken = &web.Error{Status: http.StatusNotFound, Message: "There is no such API token; it may have been revoked already."}

// revokeAPIToken deletes a token of by's own, or anyone's if by may manage
// staff.
func revokeAPIToken(ctx context.Context, db *pgxpool.Pool, id int64, by *staff.Member, audit staff.Entry) error {
	return database.Transact(ctx, db, func(tx pgx.Tx) error {
		var owner int64
		var name string
		err := tx.QueryRow(ctx, `DELETE FROM staff_tokens WHERE id = $1 AND purpose = 'api' AND (staff_id = $2 OR $3)
			RETURNING staff_id, name`, id, by.ID, by.Can(staff.PermStaffManage)).Scan(&owner, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoToken
		}
		if err != nil {
			return fmt.Errorf("revoke API token %d: %w", id, err)
		}
		audit.Action, audit.TargetType, audit.TargetID = "api_token.revoked", "staff_token", fmt.Sprint(id)
		audit.Before = map[string]any{"name": name, "staff_id": owner}
		return staff.Audit(ctx, tx, audit)
	})
}

// errBadToken is every refusal of an API token: unknown, revoked,
// expired, of another shop, or of a member who is no longer active.
var errBadToken = &web.Error{Status: http.StatusUnauthorized,
	Message: "Send a valid staff API token of this shop: Authorization: Bearer sfstaff_... (make one in the back office under API tokens)."}

// tokenMember returns the active member a token belongs to, and the
// token's id and name.
func tokenMember(ctx context.Context, db *pgxpool.Pool, secret string) (*staff.Member, apiToken, error) {
	var t apiToken
	if !strings.HasPrefix(secret, apiTokenPrefix) || len(secret) > 200 {
		return nil, t, errBadToken
	}
	err := db.QueryRow(ctx, `SELECT id, staff_id, name, last_used_at FROM staff_tokens
		WHERE token_hash = $1 AND purpose = 'api' AND (expires_at IS NULL OR expires_at > now())`,
		hashAPIToken(secret)).Scan(&t.ID, &t.StaffID, &t.Name, &t.LastUsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, t, errBadToken
	}
	if err != nil {
		return nil, t, fmt.Errorf("check API token: %w", err)
	}
	m, err := staff.ByID(ctx, db, t.StaffID)
	if errors.Is(err, staff.ErrNotFound) {
		return nil, t, errBadToken
	}
	if err != nil {
		return nil, t, err
	}
	if m.Status != "active" {
		return nil, t, errBadToken
	}
	if t.LastUsedAt == nil || time.Since(*t.LastUsedAt) > time.Minute {
		// At most one write a minute per token; a read-only shop (being
		// moved) keeps answering.
		_, _ = db.Exec(ctx, `UPDATE staff_tokens SET last_used_at = now() WHERE id = $1`, t.ID)
	}
	return m, t, nil
}

type apiTokensPage struct {
	page
	Tokens    []apiToken
	All       bool   // the list shows every member's tokens
	Secret    string // a token just made, shown this once
	Name      string
	Expiry    string
	Expiries  []catalogOption
	Errors    map[string]string
	APIPrefix string
}

var tokenExpiries = []catalogOption{{"30", "30 days"}, {"90", "90 days"}, {"365", "1 year"}, {"never", "Never"}}

func (h *Handler) renderAPITokens(w http.ResponseWriter, r *http.Request, status int, d apiTokensPage) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	m := Current(ctx)
	var err error
	d.All = m.Can(staff.PermStaffManage)
	owner := m.ID
	if d.All {
		owner = 0
	}
	if d.Tokens, err = listAPITokens(ctx, t.Pool, owner); err != nil {
		return err
	}
	d.page, d.Expiries, d.APIPrefix = h.page(r, "API tokens"), tokenExpiries, t.Base+"/api/v1/vendor/"
	if d.Expiry == "" {
		d.Expiry = "90"
	}
	return h.templates.Render(w, status, "admin_product_api_tokens", d)
}

// GET /admin/api-tokens: the member's API tokens (everyone's for members
// who manage staff).
func (h *Handler) apiTokenList(w http.ResponseWriter, r *http.Request) error {
	return h.renderAPITokens(w, r, http.StatusOK, apiTokensPage{})
}

// POST /admin/api-tokens: makes a token for the signed-in member and shows
// its secret once.
func (h *Handler) apiTokenCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	name := strings.Join(strings.Fields(r.PostFormValue("name")), " ")
	expiry := r.PostFormValue("expiry")
	d := apiTokensPage{Name: name, Expiry: expiry, Errors: map[string]string{}}
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		d.Errors["name"] = "Name the token after what uses it, such as \"ERP sync\"."
	case n > 60:
		d.Errors["name"] = "Use at most 60 characters."
	}
	ttl := time.Duration(0)
	switch expiry {
	case "30", "90", "365":
		days := map[string]int{"30": 30, "90": 90, "365": 365}[expiry]
		ttl = time.Duration(days) * 24 * time.Hour
	case "never":
	default:
		d.Errors["expiry"] = "Choose when the token stops working."
	}
	if len(d.Errors) > 0 {
		return h.renderAPITokens(w, r, http.StatusUnprocessableEntity, d)
	}
	secret, err := createAPIToken(ctx, t.Pool, Current(ctx), name, ttl, actor(r, Current(ctx)))
	var we *web.Error
	if errors.As(err, &we) && we.Field != "" {
		d.Errors[we.Field] = we.Message
		return h.renderAPITokens(w, r, http.StatusUnprocessableEntity, d)
	}
	if err != nil {
		return err
	}
	return h.renderAPITokens(w, r, http.StatusOK, apiTokensPage{Secret: secret, Name: name})
}

// POST /admin/api-tokens/{id}/revoke
func (h *Handler) apiTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := catalogID(r)
	if err != nil {
		return errNoToken
	}
	if err := revokeAPIToken(ctx, t.Pool, id, Current(ctx), actor(r, Current(ctx))); err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, "The token is revoked: programs using it are refused from now on.")
	http.Redirect(w, r, t.Base+"/admin/api-tokens", http.StatusSeeOther)
	return nil
}
