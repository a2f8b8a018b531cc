package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/platform"
)

// acctClient is a shopper's browser (or script) on one shop for the
// account tests: it keeps the shop's session cookie itself, so a test can
// carry it to another host on purpose.
type acctClient struct {
	t      *testing.T
	s      *shopEnv
	host   string
	base   string // "" or "/vendor/<slug>"
	cookie string
}

func newAcctClient(t *testing.T, s *shopEnv, v *platform.Vendor) *acctClient {
	return &acctClient{t: t, s: s, host: v.Slug + ".localhost"}
}

// send makes a request (form or JSON body, or none) with extra headers.
func (c *acctClient) send(method, path, contentType string, body []byte, headers ...string) (int, string, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.srv.URL+c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Host = c.host
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "sf_shop", Value: c.cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "sf_shop" {
			c.cookie = ck.Value
		}
	}
	return resp.StatusCode, string(raw), resp.Header
}

func (c *acctClient) get(path string) (int, string, http.Header) {
	c.t.Helper()
	return c.send(http.MethodGet, path, "", nil)
}

func (c *acctClient) post(path string, form url.Values, headers ...string) (int, string, http.Header) {
	c.t.Helper()
	return c.send(http.MethodPost, path, "application/x-www-form-urlencoded", []byte(form.Encode()), headers...)
}

// api calls the account API with a JSON body (nil: none) and decodes the
// answer.
func (c *acctClient) api(method, path string, in any) (int, map[string]any) {
	c.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	code, raw, _ := c.send(method, "/api/v1/shop/account"+path, "application/json", body)
	out := map[string]any{}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %v\n%s", method, path, code, err, raw)
		}
	}
	return code, out
}

const acctPassword = "correct horse battery"

// register makes an account through the form and checks it signs in.
func (c *acctClient) register(email, name, password string) {
	c.t.Helper()
	code, body, h := c.post("/account/register", url.Values{"email": {email}, "name": {name}, "password": {password}, "password_again": {password}})
	if code != 303 || h.Get("Location") != c.base+"/account" {
		c.t.Fatalf("register %s: %d %s\n%s", email, code, h.Get("Location"), body)
	}
}

func (c *acctClient) login(email, password string) int {
	c.t.Helper()
	code, _, _ := c.post("/account/login", url.Values{"email": {email}, "password": {password}})
	return code
}

// signedIn reports whether the session is a customer's, by the dashboard.
func (c *acctClient) signedIn() bool {
	c.t.Helper()
	code, _, _ := c.get("/account")
	return code == 200
}

// acctErr is a JSON error's message and field.
func acctErr(out map[string]any) (string, string) {
	e, _ := out["error"].(map[string]any)
	msg, _ := e["message"].(string)
	field, _ := e["field"].(string)
	return msg, field
}

// acctCustomerID finds a customer of a vendor by e-mail.
func acctCustomerID(t *testing.T, pool *pgxpool.Pool, email string) int64 {
	t.Helper()
	var id int64
	if err := pool.QueryRow(context.Background(), `SELECT id FROM customers WHERE email = $1`, email).Scan(&id); err != nil {
		t.Fatalf("customer %s: %v", email, err)
	}
	return id
}

func acctCount(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAccountRegisterSignInAndOut(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, v)
	ada := newAcctClient(t, s, v)

	// Anonymous: the account pages send you to sign in, and back.
	if code, _, h := ada.get("/account"); code != 303 || h.Get("Location") != "/account/login?next=%2Faccount" {
		t.Fatalf("anonymous dashboard: %d %s", code, h.Get("Location"))
	}
	if code, _, h := ada.get("/account/orders?page=2"); code != 303 || h.Get("Location") != "/account/login?next=%2Faccount%2Forders%3Fpage%3D2" {
		t.Fatalf("anonymous orders: %d %s", code, h.Get("Location"))
	}
	code, body, _ := ada.get("/account/register")
	if code != 200 || !strings.Contains(body, "Create an account") || !strings.Contains(body, "/static/css/account.css") {
		t.Fatalf("register page: %d\n%s", code, body)
	}

	// Bad forms come back with the errors next to the fields.
	for _, c := range []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"bad e-mail", url.Values{"email": {"ada@"}, "name": {"Ada"}, "password": {acctPassword}, "password_again": {acctPassword}}, "email", "name@example.com"},
		{"no name", url.Values{"email": {"ada@example.com"}, "name": {" "}, "password": {acctPassword}, "password_again": {acctPassword}}, "name", "Enter your name"},
		{"short password", url.Values{"email": {"ada@example.com"}, "name": {"Ada"}, "password": {"short"}, "password_again": {"short"}}, "password", "10 to 256"},
		{"mismatch", url.Values{"email": {"ada@example.com"}, "name": {"Ada"}, "password": {acctPassword}, "password_again": {acctPassword + "!"}}, "password_again", "not the same"},
	} {
		code, body, _ := ada.post("/account/register", c.form)
		if code != 422 || !strings.Contains(body, `id="`+c.field+`-error"`) || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d\n%s", c.name, code, body)
		}
	}
	if n := acctCount(t, pool, `SELECT count(*) FROM customers`); n != 0 {
		t.Fatalf("%d customers after refused registrations", n)
	}

	// The address is trimmed and lower-cased; registering signs in.
	before := ada.cookie
	ada.register("  Ada.Lovelace@Example.COM ", "Ada Lovelace", acctPassword)
	if ada.cookie == "" || ada.cookie == before {
		t.Error("the session token was not renewed at registration")
	}
	id := acctCustomerID(t, pool, "ada.lovelace@example.com")
	var hash string
	_ = pool.QueryRow(context.Background(), `SELECT password_hash FROM customers WHERE id = $1`, id).Scan(&hash)
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("password hash %q is not argon2id with OWASP's parameters", hash)
	}
	code, body, _ = ada.get("/account")
	if code != 200 || !strings.Contains(body, "Hello, Ada Lovelace") || !strings.Contains(body, "Welcome! Your account is ready.") {
		t.Fatalf("dashboard after registering: %d\n%s", code, body)
	}

	// The same address again: a field error that offers sign-in and reset.
	bob := newAcctClient(t, s, v)
	code, body, _ = bob.post("/account/register", url.Values{"email": {"ADA.lovelace@example.com"}, "name": {"Not Ada"},
		"password": {"another password"}, "password_again": {"another password"}})
	if code != 422 || !strings.Contains(body, "already an account with this e-mail address") ||
		!strings.Contains(body, `href="/account/login"`) || !strings.Contains(body, "/account/password/forgot?email=ada.lovelace%40example.com") {
		t.Fatalf("duplicate e-mail: %d\n%s", code, body)
	}
	if bob.signedIn() {
		t.Fatal("a refused registration signed in")
	}
	if n := acctCount(t, pool, `SELECT count(*) FROM customers`); n != 1 {
		t.Fatalf("%d customers, want 1", n)
	}

	// Sign out: the session ends.
	code, _, h := ada.post("/account/logout", url.Values{})
	if code != 303 || h.Get("Location") != "/account/login" {
		t.Fatalf("logout: %d %s", code, h.Get("Location"))
	}
	if code, body, _ := ada.get("/account/login"); code != 200 || !strings.Contains(body, "You are signed out.") {
		t.Fatalf("after logout: %d\n%s", code, body)
	}
	if ada.signedIn() {
		t.Fatal("still signed in after logging out")
	}

	// Sign in: wrong passwords and unknown addresses get the same answer.
	for _, c := range [][2]string{{"ada.lovelace@example.com", "wrong password!"}, {"nobody@example.com", acctPassword}} {
		code, body, _ := ada.post("/account/login", url.Values{"email": {c[0]}, "password": {c[1]}})
		if code != 401 || !strings.Contains(body, "Wrong e-mail or password.") {
			t.Errorf("sign in as %s: %d", c[0], code)
		}
	}
	before = ada.cookie
	if code := ada.login(" ADA.LOVELACE@example.com", acctPassword); code != 303 {
		t.Fatalf("sign in: %d", code)
	}
	if ada.cookie == before {
		t.Error("the session token was not renewed at sign-in")
	}
	if !ada.signedIn() {
		t.Fatal("not signed in")
	}
	// Signed in, the sign-in page goes to the account.
	if code, _, h := ada.get("/account/login?next=/account/addresses"); code != 303 || h.Get("Location") != "/account/addresses" {
		t.Errorf("sign-in page when signed in: %d %s", code, h.Get("Location"))
	}

	// ?next= goes back only to paths of this shop.
	for next, want := range map[string]string{
		"/account/orders?page=1":     "/account/orders?page=1",
		"/checkout":                  "/checkout",
		"//evil.example/x":           "/account",
		"https://evil.example/":      "/account",
		"/\\evil.example":            "/account",
		"javascript:alert(1)":        "/account",
		"/account/login?next=/x":     "/account",
		"/%0d%0aSet-Cookie:%20x=1":   "/%0d%0aSet-Cookie:%20x=1",
		"/ok\tno":                    "/account",
		"http:/evil.example/account": "/account",
	} {
		c := newAcctClient(t, s, v)
		code, body, _ := c.get("/account/login?next=" + url.QueryEscape(next))
		if code != 200 || (want != "/account" && !strings.Contains(body, `name="next"`)) {
			t.Errorf("login page with next=%q: %d", next, code)
		}
		code, _, h := c.post("/account/login", url.Values{"email": {"ada.lovelace@example.com"}, "password": {acctPassword}, "next": {next}})
		if code != 303 || h.Get("Location") != want {
			t.Errorf("next=%q: %d, went to %q, want %q", next, code, h.Get("Location"), want)
		}
	}

	// On the shared host, paths keep the shop's prefix.
	viaPath := &acctClient{t: t, s: s, host: "localhost", base: "/vendor/acme"}
	if code, _, h := viaPath.get("/account/orders"); code != 303 || h.Get("Location") != "/vendor/acme/account/login?next=%2Faccount%2Forders" {
		t.Fatalf("shared host: %d %s", code, h.Get("Location"))
	}
	code, _, h = viaPath.post("/account/login", url.Values{"email": {"ada.lovelace@example.com"}, "password": {acctPassword}, "next": {"/account/orders"}})
	if code != 303 || h.Get("Location") != "/vendor/acme/account/orders" {
		t.Fatalf("sign in on the shared host: %d %s", code, h.Get("Location"))
	}
}

func TestAccountCrossSiteFormsAreRefused(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	ada := newAcctClient(t, s, v)
	ada.register("ada@example.com", "Ada", acctPassword)
	code, _, _ := ada.post("/account/profile", url.Values{"name": {"Mallory"}, "phone": {""}}, "Sec-Fetch-Site", "cross-site")
	if code != 403 {
		t.Fatalf("cross-site profile change: %d", code)
	}
	code, _, _ = ada.post("/account/logout", url.Values{}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if code != 403 || !ada.signedIn() {
		t.Fatalf("cross-site logout: %d", code)
	}
}

func TestAccountSignInThrottling(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a := s.e.CreateVendor(t, "acme", "Acme Tools")
	b := s.e.CreateVendor(t, "bravo", "Bravo Books")
	ada := newAcctClient(t, s, a)
	ada.register("ada@example.com", "Ada", acctPassword)
	adaAtB := newAcctClient(t, s, b)
	adaAtB.register("ada@example.com", "Ada", acctPassword)

	c := newAcctClient(t, s, a)
	for i := range 5 {
		if code := c.login("ada@example.com", "guess number "+fmt.Sprint(i)); code != 401 {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	code, body, h := c.post("/account/login", url.Values{"email": {"ADA@example.com"}, "password": {acctPassword}})
	if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-in attempts") {
		t.Fatalf("after 5 failures: %d %q", code, h.Get("Retry-After"))
	}
	// The API answers the same, in JSON.
	code, out := c.api("POST", "/login", map[string]string{"email": "ada@example.com", "password": acctPassword})
	if msg, _ := acctErr(out); code != 429 || !strings.Contains(msg, "Too many") {
		t.Fatalf("API after 5 failures: %d %v", code, out)
	}
	// The same address at another shop is not affected.
	if code := newAcctClient(t, s, b).login("ada@example.com", acctPassword); code != 303 {
		t.Fatalf("bravo's customer was throttled by acme's failures: %d", code)
	}
	// The counters are in Redis under keys that carry the vendor's id.
	opt, err := redis.ParseURL(s.e.Vars["STOREFLEET_REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), "sf:"+s.e.Cfg.Prefix+":a:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("sf:%s:a:%d:", s.e.Cfg.Prefix, a.ID)
	var acct, addr bool
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) && !strings.HasPrefix(k, fmt.Sprintf("sf:%s:a:%d:", s.e.Cfg.Prefix, b.ID)) {
			t.Errorf("throttle key %s carries no vendor id", k)
		}
		acct = acct || strings.HasPrefix(k, prefix+"signin:acct:")
		addr = addr || strings.HasPrefix(k, prefix+"signin:addr:")
		if strings.Contains(k, "ada@example.com") {
			t.Errorf("throttle key %s holds the e-mail address", k)
		}
	}
	if !acct || !addr {
		t.Errorf("no per-account or per-address counter among %v", keys)
	}

	// Per client address: 20 failures over any accounts.
	c2 := newAcctClient(t, s, a)
	for i := range 15 {
		if code := c2.login(fmt.Sprintf("someone%d@example.com", i), "guess"); code != 401 {
			t.Fatalf("address attempt %d: %d", i, code)
		}
	}
	if code := newAcctClient(t, s, a).login("brand.new@example.com", "whatever it is"); code != 429 {
		t.Fatalf("after 20 failures from one address: %d", code)
	}
}

// acctResetRow is the outbox row of a reset e-mail.
type acctResetRow struct {
	To         string
	CustomerID int64
	Data       map[string]string
}

// acctResets lists the reset e-mails in a vendor's outbox, oldest first.
func acctResets(t *testing.T, pool *pgxpool.Pool) []acctResetRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT to_email, customer_id, data FROM notifications
		WHERE kind = 'customer_password_reset' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []acctResetRow
	for rows.Next() {
		var r acctResetRow
		var raw []byte
		if err := rows.Scan(&r.To, &r.CustomerID, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &r.Data); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// acctWaitResets waits until the outbox has n reset e-mails.
func acctWaitResets(t *testing.T, pool *pgxpool.Pool, n int) []acctResetRow {
	t.Helper()
	var got []acctResetRow
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got = acctResets(t, pool); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reset e-mails in the outbox, want %d", len(got), n)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

var acctResetPath = regexp.MustCompile(`/account/password/reset/([A-Za-z0-9_-]{43})$`)

func TestAccountPasswordReset(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, v)
	ada := newAcctClient(t, s, v)
	ada.register("ada@example.com", "Ada", acctPassword)
	id := acctCustomerID(t, pool, "ada@example.com")
	other := newAcctClient(t, s, v) // a session on another device
	if other.login("ada@example.com", acctPassword) != 303 {
		t.Fatal("second session")
	}

	// Unknown and known addresses get the same answer; only a known one
	// gets an e-mail.
	anon := newAcctClient(t, s, v)
	code, unknownBody, _ := anon.post("/account/password/forgot", url.Values{"email": {"nobody@example.com"}})
	if code != 200 || !strings.Contains(unknownBody, "If there is an account with this address") {
		t.Fatalf("forgot, unknown: %d\n%s", code, unknownBody)
	}
	if code, body, _ := anon.post("/account/password/forgot", url.Values{"email": {"not an address"}}); code != 422 || !strings.Contains(body, "email-error") {
		t.Fatalf("forgot, malformed: %d", code)
	}
	// Forged hosts: the shared host's path, X-Forwarded-Host from an
	// untrusted client, an odd spelling of the host. The link always
	// points at the vendor's primary domain as the control plane knows it.
	wantPrefix := strings.ReplaceAll(s.e.Cfg.TenantPublicURL, "{host}", "acme.localhost") + "/account/password/reset/"
	requests := []*acctClient{
		{t: t, s: s, host: "localhost", base: "/vendor/acme"},
		newAcctClient(t, s, v),
		{t: t, s: s, host: "ACME.LocalHost.:8080"},
	}
	var tokens []string
	for i, c := range requests {
		headers := []string{"X-Forwarded-Host", "evil.example", "Forwarded", "host=evil.example"}
		code, body, _ := c.post("/account/password/forgot", url.Values{"email": {" ADA@example.com "}}, headers...)
		if code != 200 || !strings.Contains(body, "If there is an account with this address") {
			t.Fatalf("forgot %d: %d\n%s", i, code, body)
		}
		rows := acctWaitResets(t, pool, i+1)
		r := rows[i]
		if r.To != "ada@example.com" || r.CustomerID != id || r.Data["shop_name"] != "Acme Tools" || r.Data["expires"] != "1 hour" {
			t.Errorf("outbox row %d: %+v", i, r)
		}
		link := r.Data["link"]
		m := acctResetPath.FindStringSubmatch(link)
		if !strings.HasPrefix(link, wantPrefix) || m == nil {
			t.Fatalf("reset link %q is not on %s", link, wantPrefix)
		}
		tokens = append(tokens, m[1])
	}
	if n := len(acctResets(t, pool)); n != 3 {
		t.Errorf("%d reset e-mails; the unknown address got one?", n)
	}
	// The control plane was asked to send the vendor's mail.
	if n := acctCount(t, s.e.CP, `SELECT count(*) FROM vendor_work WHERE vendor_id = $1 AND kind = 'mail'`, v.ID); n != 1 {
		t.Errorf("mail work requested %d times", n)
	}
	// Only the token's SHA-256 is stored, for an hour; earlier tokens are void.
	last := tokens[2]
	sum := sha256.Sum256([]byte(last))
	var expires time.Time
	if err := pool.QueryRow(context.Background(), `SELECT expires_at FROM customer_tokens WHERE token_hash = $1 AND used_at IS NULL`, sum[:]).Scan(&expires); err != nil {
		t.Fatalf("token row: %v", err)
	}
	if d := time.Until(expires); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("token expires in %s", d)
	}
	if n := acctCount(t, pool, `SELECT count(*) FROM customer_tokens WHERE customer_id = $1 AND used_at IS NULL`, id); n != 1 {
		t.Errorf("%d usable tokens, want only the newest", n)
	}
	if code, body, _ := anon.get("/account/password/reset/" + tokens[0]); code != 410 || !strings.Contains(body, "This link does not work") {
		t.Errorf("an older link: %d", code)
	}

	// The newest link works, once.
	if code, body, _ := anon.get("/account/password/reset/" + last); code != 200 || !strings.Contains(body, "ada@example.com") {
		t.Fatalf("reset page: %d\n%s", code, body)
	}
	const newPassword = "a brand new password"
	if code, body, _ := anon.post("/account/password/reset/"+last, url.Values{"password": {newPassword}, "password_again": {"something else"}}); code != 422 || !strings.Contains(body, "not the same") {
		t.Fatalf("mismatched: %d", code)
	}
	if code, _, h := anon.post("/account/password/reset/"+last, url.Values{"password": {newPassword}, "password_again": {newPassword}}); code != 303 || h.Get("Location") != "/account" {
		t.Fatalf("reset: %d %s", code, h.Get("Location"))
	}
	if !anon.signedIn() {
		t.Error("the reset did not sign in")
	}
	if ada.signedIn() || other.signedIn() {
		t.Error("sessions made before the reset survived it")
	}
	if code, _, _ := anon.post("/account/password/reset/"+last, url.Values{"password": {"yet another password"}, "password_again": {"yet another password"}}); code != 410 {
		t.Errorf("a used link: %d", code)
	}
	if code := newAcctClient(t, s, v).login("ada@example.com", acctPassword); code != 401 {
		t.Errorf("the old password still works: %d", code)
	}
	if code := newAcctClient(t, s, v).login("ada@example.com", newPassword); code != 303 {
		t.Errorf("the new password does not work: %d", code)
	}

	// An expired link is refused.
	code, out := anon.api("POST", "/password/forgot", map[string]string{"email": "ada@example.com"})
	if code != 202 || !strings.Contains(fmt.Sprint(out["message"]), "If there is an account") {
		t.Fatalf("API forgot: %d %v", code, out)
	}
	rows := acctWaitResets(t, pool, 4)
	expired := acctResetPath.FindStringSubmatch(rows[3].Data["link"])[1]
	if _, err := pool.Exec(context.Background(), `UPDATE customer_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := anon.get("/account/password/reset/" + expired); code != 410 {
		t.Errorf("an expired link: %d", code)
	}
	if code, _, _ := anon.post("/account/password/reset/"+expired, url.Values{"password": {"yet another password"}, "password_again": {"yet another password"}}); code != 410 {
		t.Errorf("an expired link, posted: %d", code)
	}
	if code := newAcctClient(t, s, v).login("ada@example.com", newPassword); code != 303 {
		t.Errorf("an expired link changed the password: %d", code)
	}
	if code, _, _ := anon.get("/account/password/reset/not-a-token"); code != 410 {
		t.Errorf("a made-up link: %d", code)
	}
}

// acctAddress is a valid address form.
func acctAddress(name, city string) url.Values {
	return url.Values{"name": {name}, "line1": {"1 Rue de la Gare"}, "line2": {""}, "postal_code": {"1611"}, "city": {city},
		"region": {""}, "country": {"LU"}, "phone": {"+352 621 000 000"}}
}

// acctAddressIDs are a customer's address ids, the default first.
func acctAddressIDs(t *testing.T, pool *pgxpool.Pool, customerID int64) []int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id FROM customer_addresses WHERE customer_id = $1 ORDER BY is_default DESC, id`, customerID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		_ = rows.Scan(&id)
		out = append(out, id)
	}
	return out
}

func TestAccountAddressBook(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, v)
	ada := newAcctClient(t, s, v)
	ada.register("ada@example.com", "Ada Lovelace", acctPassword)
	id := acctCustomerID(t, pool, "ada@example.com")

	if code, body, _ := ada.get("/account/addresses"); code != 200 || !strings.Contains(body, "no saved addresses") {
		t.Fatalf("empty book: %d\n%s", code, body)
	}
	code, body, _ := ada.get("/account/addresses/new")
	if code != 200 || !strings.Contains(body, `<option value="LU">Luxembourg</option>`) || !strings.Contains(body, `value="Ada Lovelace"`) {
		t.Fatalf("new address form: %d\n%s", code, body)
	}
	// Checked like the schema: needed fields, lengths, a country of the list.
	for _, c := range []struct {
		field, value, want string
	}{
		{"line1", "", "Enter the street and number"},
		{"postal_code", strings.Repeat("9", 21), "at most 20 characters"},
		{"city", strings.Repeat("é", 101), "at most 100 characters"},
		{"country", "XX", "Choose the country from the list"},
		{"country", "", "Choose the country from the list"},
		{"name", "Ada\x00", "control characters"},
	} {
		f := acctAddress("Ada", "Luxembourg")
		f.Set(c.field, c.value)
		code, body, _ := ada.post("/account/addresses", f)
		if code != 422 || !strings.Contains(body, `id="`+c.field+`-error"`) || !strings.Contains(body, c.want) {
			t.Errorf("%s=%q: %d", c.field, c.value, code)
		}
	}
	// 100 characters of é are fine (characters, not bytes).
	f := acctAddress("Ada Lovelace", strings.Repeat("é", 100))
	f.Set("country", "lu")
	if code, _, h := ada.post("/account/addresses", f); code != 303 || h.Get("Location") != "/account/addresses" {
		t.Fatalf("add: %d %s", code, h.Get("Location"))
	}
	if code, _, _ := ada.post("/account/addresses", acctAddress("Ada at work", "Esch-sur-Alzette")); code != 303 {
		t.Fatalf("add a second: %d", code)
	}
	ids := acctAddressIDs(t, pool, id)
	if len(ids) != 2 {
		t.Fatalf("addresses: %v", ids)
	}
	first, second := ids[0], ids[1] // the first one added is the default
	code, body, _ = ada.get("/account/addresses")
	if code != 200 || !strings.Contains(body, "Ada at work") || !strings.Contains(body, "Luxembourg") || strings.Count(body, `class="acct-badge"`) != 1 {
		t.Fatalf("list: %d\n%s", code, body)
	}
	// Make the second the default; the dashboard shows it.
	if code, _, _ := ada.post(fmt.Sprintf("/account/addresses/%d/default", second), url.Values{}); code != 303 {
		t.Fatalf("make default: %d", code)
	}
	if got := acctAddressIDs(t, pool, id); got[0] != second {
		t.Fatalf("default is %d, want %d", got[0], second)
	}
	if _, body, _ := ada.get("/account"); !strings.Contains(body, "Esch-sur-Alzette") {
		t.Error("the dashboard does not show the default address")
	}
	// Edit.
	code, body, _ = ada.get(fmt.Sprintf("/account/addresses/%d", first))
	if code != 200 || !strings.Contains(body, `<option value="LU" selected>`) {
		t.Fatalf("edit form: %d\n%s", code, body)
	}
	f = acctAddress("Ada L.", "Differdange")
	f.Set("country", "BE")
	if code, _, _ := ada.post(fmt.Sprintf("/account/addresses/%d", first), f); code != 303 {
		t.Fatalf("edit: %d", code)
	}
	var city, country string
	_ = pool.QueryRow(context.Background(), `SELECT city, country FROM customer_addresses WHERE id = $1`, first).Scan(&city, &country)
	if city != "Differdange" || country != "BE" {
		t.Errorf("edited address: %s %s", city, country)
	}
	// Delete the default: the other one becomes the default.
	if code, _, _ := ada.post(fmt.Sprintf("/account/addresses/%d/delete", second), url.Values{}); code != 303 {
		t.Fatalf("delete: %d", code)
	}
	if got := acctAddressIDs(t, pool, id); len(got) != 1 || got[0] != first ||
		acctCount(t, pool, `SELECT count(*) FROM customer_addresses WHERE customer_id = $1 AND is_default`, id) != 1 {
		t.Fatalf("after deleting the default: %v", got)
	}

	// The API does the same.
	code, out := ada.api("POST", "/addresses", map[string]any{"name": "Ada", "line1": "2 Main St", "postal_code": "10001",
		"city": "New York", "region": "NY", "country": "US", "is_default": true})
	if code != 201 || out["country"] != "US" || out["is_default"] != true {
		t.Fatalf("API create: %d %v", code, out)
	}
	newID := int64(out["id"].(float64))
	code, out = ada.api("POST", "/addresses", map[string]any{"name": "Ada", "line1": "x", "postal_code": "1", "city": "y", "country": "ZZ"})
	if msg, field := acctErr(out); code != 422 || field != "country" || !strings.Contains(msg, "country") {
		t.Errorf("API bad country: %d %v", code, out)
	}
	if code, out = ada.api("POST", "/addresses", map[string]any{"name": "Ada", "id": 1}); code != 400 {
		t.Errorf("API unknown property: %d %v", code, out)
	}
	code, out = ada.api("PATCH", fmt.Sprintf("/addresses/%d", newID), map[string]any{"city": "Brooklyn"})
	if code != 200 || out["city"] != "Brooklyn" || out["line1"] != "2 Main St" || out["is_default"] != true {
		t.Fatalf("API patch: %d %v", code, out)
	}
	code, out = ada.api("GET", "/addresses", nil)
	list, _ := out["addresses"].([]any)
	if code != 200 || len(list) != 2 || list[0].(map[string]any)["city"] != "Brooklyn" {
		t.Fatalf("API list: %d %v", code, out)
	}
	code, out = ada.api("GET", "/me", nil)
	if da, _ := out["default_address"].(map[string]any); code != 200 || da["city"] != "Brooklyn" {
		t.Fatalf("API me: %d %v", code, out)
	}
	if code, _ = ada.api("DELETE", fmt.Sprintf("/addresses/%d", newID), nil); code != 204 {
		t.Fatalf("API delete: %d", code)
	}
	if code, _ = ada.api("GET", fmt.Sprintf("/addresses/%d", newID), nil); code != 404 {
		t.Fatalf("API get deleted: %d", code)
	}
}

// acctOrder writes an order of a customer (nil: a guest's) with two
// lines and a timeline that has a staff note, and returns its id.
func acctOrder(t *testing.T, pool *pgxpool.Pool, customerID *int64, status string, created time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	key := fmt.Sprintf("key-%d-%s", created.UnixNano(), strings.Repeat("k", 12))
	token := fmt.Sprintf("tok%d%s", created.UnixNano(), strings.Repeat("t", 10))
	err := pool.QueryRow(ctx, `INSERT INTO orders (checkout_key, access_token, customer_id, email, status, payment_status, reserved_until,
			currency, subtotal_minor, shipping_minor, tax_minor, total_minor, tax_rate_bp, prices_include_tax, tax_label,
			shipping_method_name, shipping_address, carrier, tracking_number, created_at, shipped_at)
		VALUES ($1, $2, $3, 'ada@example.com', $4, 'paid', now() + interval '1 hour', 'EUR', 4980, 495, 830, 5475, 2000, true, 'VAT',
			'Standard delivery', '{"name":"Ada Lovelace","line1":"1 Rue de la Gare","postal_code":"1611","city":"Luxembourg","country":"LU"}',
			'Post Luxembourg', 'LX123456789LU', $5::timestamptz, CASE WHEN $4::text = 'shipped' THEN $5::timestamptz END) RETURNING id`,
		key, token, customerID, status, created).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO order_lines (order_id, sku, title, unit_price_minor, quantity, line_total_minor) VALUES
		($1, 'HAM-1', 'Claw hammer', 1990, 2, 3980), ($1, 'NAIL-9', 'Box of nails', 1000, 1, 1000)`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO order_events (order_id, kind, message, internal) VALUES
		($1, 'order.placed', '', false), ($1, 'note', 'Customer seems fishy — check the card', true), ($1, 'order.shipped', 'Handed to Post Luxembourg', false)`, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAccountOrderHistory(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, v)
	ada := newAcctClient(t, s, v)
	ada.register("ada@example.com", "Ada", acctPassword)
	id := acctCustomerID(t, pool, "ada@example.com")

	if code, body, _ := ada.get("/account/orders"); code != 200 || !strings.Contains(body, "You have not ordered anything yet") {
		t.Fatalf("no orders: %d\n%s", code, body)
	}
	now := time.Now()
	old := acctOrder(t, pool, &id, "delivered", now.Add(-48*time.Hour))
	recent := acctOrder(t, pool, &id, "shipped", now.Add(-time.Hour))
	guest := acctOrder(t, pool, nil, "paid", now)

	code, body, _ := ada.get("/account/orders")
	if code != 200 || strings.Contains(body, fmt.Sprintf("Order %d<", guest)) {
		t.Fatalf("orders: %d\n%s", code, body)
	}
	iRecent, iOld := strings.Index(body, fmt.Sprintf("Order %d<", recent)), strings.Index(body, fmt.Sprintf("Order %d<", old))
	if iRecent < 0 || iOld < 0 || iRecent > iOld {
		t.Errorf("orders not newest first (%d, %d)", iRecent, iOld)
	}
	if !strings.Contains(body, "€54.75") || !strings.Contains(body, "Shipped") || !strings.Contains(body, "Delivered") {
		t.Errorf("orders list lacks totals or statuses:\n%s", body)
	}

	code, body, _ = ada.get(fmt.Sprintf("/account/orders/%d", recent))
	for _, want := range []string{"Claw hammer", "€19.90", "€39.80", "Box of nails", "€49.80", "€4.95", "VAT 20 % (included)", "€8.30",
		"€54.75", "Standard delivery", "LX123456789LU", "Post Luxembourg", "1 Rue de la Gare", "Order placed", "Order shipped",
		"Handed to Post Luxembourg", "Same as the shipping address"} {
		if !strings.Contains(body, want) {
			t.Errorf("order page lacks %q", want)
		}
	}
	if code != 200 || strings.Contains(body, "fishy") {
		t.Fatalf("order page: %d (a staff note must never show)\n%s", code, body)
	}
	if _, body, _ := ada.get("/account"); !strings.Contains(body, fmt.Sprintf("Order %d", recent)) {
		t.Error("the dashboard does not show recent orders")
	}

	code, out := ada.api("GET", "/orders", nil)
	orders, _ := out["orders"].([]any)
	if code != 200 || len(orders) != 2 || int64(orders[0].(map[string]any)["id"].(float64)) != recent || out["next_page"] != nil {
		t.Fatalf("API orders: %d %v", code, out)
	}
	code, out = ada.api("GET", fmt.Sprintf("/orders/%d", recent), nil)
	events, _ := out["events"].([]any)
	lines, _ := out["lines"].([]any)
	if code != 200 || len(events) != 2 || len(lines) != 2 || out["total_minor"] != float64(5475) || out["tracking_number"] != "LX123456789LU" ||
		out["shipping_address"].(map[string]any)["city"] != "Luxembourg" {
		t.Fatalf("API order: %d %v", code, out)
	}
	if raw, _ := json.Marshal(out); strings.Contains(string(raw), "fishy") {
		t.Fatal("the API shows a staff note")
	}
	// A guest order with the same e-mail address is not the customer's.
	if code, _, _ := ada.get(fmt.Sprintf("/account/orders/%d", guest)); code != 404 {
		t.Errorf("a guest order: %d", code)
	}
}

func TestAccountOtherCustomersIDsAreNotFound(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, v)
	x := newAcctClient(t, s, v)
	x.register("x@example.com", "Xavier", acctPassword)
	y := newAcctClient(t, s, v)
	y.register("y@example.com", "Yolanda", acctPassword)
	yID := acctCustomerID(t, pool, "y@example.com")
	if code, _, _ := y.post("/account/addresses", acctAddress("Yolanda", "Luxembourg")); code != 303 {
		t.Fatal("y's address")
	}
	yAddr := acctAddressIDs(t, pool, yID)[0]
	yOrder := acctOrder(t, pool, &yID, "paid", time.Now())
	snapshot := func() string {
		var s string
		if err := pool.QueryRow(context.Background(), `SELECT row_to_json(a)::text FROM customer_addresses a WHERE id = $1`, yAddr).Scan(&s); err != nil {
			t.Fatalf("y's address is gone: %v", err)
		}
		return s
	}
	before := snapshot()

	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", fmt.Sprintf("/account/addresses/%d", yAddr), nil},
		{"POST", fmt.Sprintf("/account/addresses/%d", yAddr), acctAddress("Mallory", "Nowhere")},
		{"POST", fmt.Sprintf("/account/addresses/%d", yAddr), url.Values{"name": {""}}}, // an invalid form, too
		{"POST", fmt.Sprintf("/account/addresses/%d/default", yAddr), url.Values{}},
		{"POST", fmt.Sprintf("/account/addresses/%d/delete", yAddr), url.Values{}},
		{"GET", fmt.Sprintf("/account/orders/%d", yOrder), nil},
		{"GET", "/account/orders/999999", nil},
		{"GET", "/account/addresses/99999999999999999999999", nil},
		{"POST", "/account/addresses/99999999999999999999999", acctAddress("Mallory", "Nowhere")},
	} {
		var code int
		var body string
		if c.method == "GET" {
			code, body, _ = x.get(c.path)
		} else {
			code, body, _ = x.post(c.path, c.form)
		}
		if code != 404 || strings.Contains(body, "Yolanda") || strings.Contains(body, "Forbidden") {
			t.Errorf("%s %s: %d", c.method, c.path, code)
		}
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", fmt.Sprintf("/addresses/%d", yAddr), nil},
		{"PATCH", fmt.Sprintf("/addresses/%d", yAddr), map[string]any{"city": "Nowhere", "is_default": true}},
		{"DELETE", fmt.Sprintf("/addresses/%d", yAddr), nil},
		{"GET", fmt.Sprintf("/orders/%d", yOrder), nil},
	} {
		code, out := x.api(c.method, c.path, c.body)
		if msg, _ := acctErr(out); code != 404 || msg == "" {
			t.Errorf("API %s %s: %d %v", c.method, c.path, code, out)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("y's address changed:\n%s\n%s", before, after)
	}
	if n := acctCount(t, pool, `SELECT count(*) FROM customer_addresses`); n != 1 {
		t.Errorf("%d addresses, want y's only", n)
	}
	if code, out := x.api("GET", "/orders", nil); code != 200 || len(out["orders"].([]any)) != 0 {
		t.Errorf("x sees orders: %v", out)
	}
	// y still sees them.
	if code, _, _ := y.get(fmt.Sprintf("/account/orders/%d", yOrder)); code != 200 {
		t.Errorf("y's own order: %d", code)
	}
}

func TestAccountsBelongToOneShop(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	a := s.e.CreateVendor(t, "acme", "Acme Tools")
	b := s.e.CreateVendor(t, "bravo", "Bravo Books")
	atA := newAcctClient(t, s, a)
	atA.register("ada@example.com", "Ada at Acme", acctPassword)
	atB := newAcctClient(t, s, b)
	atB.register("ada@example.com", "Ada at Bravo", "a different password")

	// Two accounts, one in each shop's database, each with its own password.
	if code := newAcctClient(t, s, a).login("ada@example.com", "a different password"); code != 401 {
		t.Errorf("bravo's password works at acme: %d", code)
	}
	if code := newAcctClient(t, s, b).login("ada@example.com", acctPassword); code != 401 {
		t.Errorf("acme's password works at bravo: %d", code)
	}
	if _, body, _ := atB.get("/account"); !strings.Contains(body, "Ada at Bravo") {
		t.Error("bravo's dashboard")
	}
	// A's session carried to B's host, or to B on the shared host: anonymous.
	stolen := &acctClient{t: t, s: s, host: "bravo.localhost", cookie: atA.cookie}
	if code, _, h := stolen.get("/account"); code != 303 || h.Get("Location") != "/account/login?next=%2Faccount" {
		t.Errorf("A's session on B's host: %d %s", code, h.Get("Location"))
	}
	stolen = &acctClient{t: t, s: s, host: "bravo.localhost", cookie: atA.cookie}
	if code, out := stolen.api("GET", "/me", nil); code != 401 {
		t.Errorf("A's session on B's API: %d %v", code, out)
	}
	viaPath := &acctClient{t: t, s: s, host: "localhost", base: "/vendor/bravo", cookie: atA.cookie}
	if code, _, _ := viaPath.get("/account"); code != 303 {
		t.Errorf("A's session on /vendor/bravo/: %d", code)
	}
	// ...and it still works on A.
	if !atA.signedIn() {
		t.Error("A's session stopped working on A")
	}
	// Deleting the account at B leaves A's alone.
	if _, err := s.e.VendorPool(t, b).Exec(context.Background(), `DELETE FROM customers`); err != nil {
		t.Fatal(err)
	}
	if !atA.signedIn() || atB.signedIn() {
		t.Error("accounts are not independent")
	}
}

func TestAccountProfileAndPasswordChange(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	pool := s.e.VendorPool(t, v)
	ada := newAcctClient(t, s, v)
	ada.register("ada@example.com", "Ada", acctPassword)
	newAcctClient(t, s, v).register("taken@example.com", "Someone", acctPassword)
	phone := newAcctClient(t, s, v) // the same customer on a phone
	if phone.login("ada@example.com", acctPassword) != 303 {
		t.Fatal("phone sign-in")
	}

	// Name and phone.
	if code, body, _ := ada.post("/account/profile", url.Values{"name": {"Ada"}, "phone": {"call me"}}); code != 422 || !strings.Contains(body, `id="phone-error"`) {
		t.Fatalf("bad phone: %d", code)
	}
	if code, _, _ := ada.post("/account/profile", url.Values{"name": {" Ada Lovelace "}, "phone": {"+352 621 123 456"}}); code != 303 {
		t.Fatalf("profile: %d", code)
	}
	var name, ph string
	_ = pool.QueryRow(context.Background(), `SELECT name, phone FROM customers WHERE email = 'ada@example.com'`).Scan(&name, &ph)
	if name != "Ada Lovelace" || ph != "+352 621 123 456" {
		t.Errorf("profile saved as %q %q", name, ph)
	}

	// The e-mail address: needs the current password, and a free address.
	if code, body, _ := ada.post("/account/profile/email", url.Values{"email": {"ada@new.example"}, "current_password": {"wrong one"}}); code != 422 || !strings.Contains(body, `id="email-current-error"`) {
		t.Fatalf("e-mail change with a wrong password: %d\n%s", code, body)
	}
	if code, body, _ := ada.post("/account/profile/email", url.Values{"email": {"Taken@example.com"}, "current_password": {acctPassword}}); code != 422 || !strings.Contains(body, "Another account uses this e-mail address") {
		t.Fatalf("e-mail change to a taken address: %d", code)
	}
	if code, _, _ := ada.post("/account/profile/email", url.Values{"email": {"Ada@New.example"}, "current_password": {acctPassword}}); code != 303 {
		t.Fatalf("e-mail change: %d", code)
	}
	if code := newAcctClient(t, s, v).login("ada@new.example", acctPassword); code != 303 {
		t.Fatalf("sign in with the new address: %d", code)
	}
	if !phone.signedIn() {
		t.Fatal("an e-mail change ended the other session")
	}

	// The password: current one needed; the change ends the other
	// sessions, not this one.
	if code, body, _ := ada.post("/account/profile/password", url.Values{"current_password": {"wrong one"}, "new_password": {"a new password here"},
		"new_password_again": {"a new password here"}}); code != 422 || !strings.Contains(body, `id="password-current-error"`) {
		t.Fatalf("password change with a wrong password: %d", code)
	}
	if code, body, _ := ada.post("/account/profile/password", url.Values{"current_password": {acctPassword}, "new_password": {"short"},
		"new_password_again": {"short"}}); code != 422 || !strings.Contains(body, "10 to 256") {
		t.Fatalf("weak new password: %d", code)
	}
	before := ada.cookie
	if code, _, _ := ada.post("/account/profile/password", url.Values{"current_password": {acctPassword}, "new_password": {"a new password here"},
		"new_password_again": {"a new password here"}}); code != 303 {
		t.Fatalf("password change: %d", code)
	}
	if ada.cookie == before {
		t.Error("the session token was not renewed at the password change")
	}
	if !ada.signedIn() {
		t.Fatal("the password change ended its own session")
	}
	if phone.signedIn() {
		t.Fatal("the password change did not end the other session")
	}
	if code := newAcctClient(t, s, v).login("ada@new.example", "a new password here"); code != 303 {
		t.Fatalf("sign in with the new password: %d", code)
	}

	// The API: PATCH /me, the same rules.
	code, out := ada.api("PATCH", "/me", map[string]any{"name": "Ada King", "new_password": "another new password"})
	if _, field := acctErr(out); code != 422 || field != "current_password" {
		t.Fatalf("API password change without the current one: %d %v", code, out)
	}
	if code, out = ada.api("PATCH", "/me", map[string]any{"name": "Ada King"}); code != 200 || out["customer"].(map[string]any)["name"] != "Ada King" {
		t.Fatalf("API profile: %d %v", code, out)
	}
}

func TestAccountAPI(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v := s.e.CreateVendor(t, "acme", "Acme Tools")
	c := newAcctClient(t, s, v)

	for _, p := range []string{"/me", "/addresses", "/orders", "/orders/1", "/addresses/1"} {
		code, out := c.api("GET", p, nil)
		if msg, _ := acctErr(out); code != 401 || !strings.Contains(msg, "Sign in") {
			t.Errorf("anonymous GET %s: %d %v", p, code, out)
		}
	}
	code, out := c.api("POST", "/register", map[string]any{"email": "Ada@Example.com", "name": "Ada", "password": "short"})
	if msg, field := acctErr(out); code != 422 || field != "password" || !strings.Contains(msg, "10 to 256") {
		t.Fatalf("API weak password: %d %v", code, out)
	}
	code, out = c.api("POST", "/register", map[string]any{"email": "Ada@Example.com", "name": "Ada", "password": acctPassword})
	if code != 201 || out["customer"].(map[string]any)["email"] != "ada@example.com" || out["default_address"] != nil {
		t.Fatalf("API register: %d %v", code, out)
	}
	if code, out = c.api("GET", "/me", nil); code != 200 || out["customer"].(map[string]any)["name"] != "Ada" {
		t.Fatalf("API me: %d %v", code, out)
	}
	code, out = newAcctClient(t, s, v).api("POST", "/register", map[string]any{"email": "ada@example.com", "name": "Eve", "password": acctPassword})
	if msg, field := acctErr(out); code != 422 || field != "email" || !strings.Contains(msg, "already an account") {
		t.Fatalf("API duplicate: %d %v", code, out)
	}
	if code, _ = c.api("POST", "/logout", nil); code != 204 {
		t.Fatalf("API logout: %d", code)
	}
	if code, _ = c.api("GET", "/me", nil); code != 401 {
		t.Fatalf("API me after logout: %d", code)
	}
	if code, out = c.api("POST", "/login", map[string]any{"email": "ada@example.com", "password": "wrong password"}); code != 401 {
		t.Fatalf("API wrong password: %d %v", code, out)
	}
	if code, out = c.api("POST", "/login", map[string]any{"email": "ADA@example.com", "password": acctPassword}); code != 200 {
		t.Fatalf("API login: %d %v", code, out)
	}
	if code, _ = c.api("GET", "/me", nil); code != 200 {
		t.Fatalf("API me after login: %d", code)
	}
	// Not JSON, or cross-site: refused.
	if code, _, _ := c.send("POST", "/api/v1/shop/account/login", "text/plain", []byte(`{}`)); code != 415 {
		t.Errorf("text/plain: %d", code)
	}
	if code, _, _ := c.send("POST", "/api/v1/shop/account/logout", "application/json", nil, "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("cross-site API logout: %d", code)
	}
}
