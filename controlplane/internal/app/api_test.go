package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/platform"
)

// apiClient calls the admin API with a token.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func (c *cp) api(token string) *apiClient { return &apiClient{t: c.t, base: c.URL, token: token} }

// newToken makes an API token for the test admin.
func (c *cp) newToken() string {
	c.t.Helper()
	secret, _, err := c.Store.CreateAPIToken(context.Background(), platform.Actor{Kind: "system", Name: "test"}, c.Admin.ID, "test")
	if err != nil {
		c.t.Fatal(err)
	}
	return secret
}

func (a *apiClient) do(method, path string, body any) page {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Body: string(b), Header: res.Header, Location: res.Header.Get("Location")}
}

// decode parses a JSON answer.
func decode[T any](t *testing.T, p page) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(p.Body), &v); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, p.Body)
	}
	return v
}

type apiError struct {
	Error struct {
		Status    int    `json:"status"`
		Message   string `json:"message"`
		Field     string `json:"field"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

type apiVendor struct {
	platform.Vendor
	URL    string           `json:"url"`
	Events []platform.Event `json:"events"`
}

func wantAPIError(t *testing.T, what string, p page, status int, field string) apiError {
	t.Helper()
	wantStatus(t, what, p, status)
	e := decode[apiError](t, p)
	if e.Error.Status != status || e.Error.Field != field || e.Error.Message == "" || e.Error.RequestID == "" {
		t.Errorf("%s: error %+v, want status %d, field %q, a message and a request id", what, e.Error, status, field)
	}
	return e
}

func TestAPIAuth(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()

	p := c.api("").do(http.MethodGet, "/api/v1/vendors", nil)
	wantAPIError(t, "no token", p, http.StatusUnauthorized, "")
	if !strings.HasPrefix(p.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: WWW-Authenticate %q", p.Header.Get("WWW-Authenticate"))
	}
	wantAPIError(t, "bad token", c.api("sfadm_not-a-real-token").do(http.MethodGet, "/api/v1/vendors", nil), http.StatusUnauthorized, "")
	wantAPIError(t, "not a token", c.api("hunter2").do(http.MethodGet, "/api/v1/vendors", nil), http.StatusUnauthorized, "")

	secret, tok, err := c.Store.CreateAPIToken(ctx, platform.Actor{Kind: "system"}, c.Admin.ID, "soon revoked")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "good token", c.api(secret).do(http.MethodGet, "/api/v1/vendors", nil), http.StatusOK)
	if err := c.Store.RevokeAPIToken(ctx, platform.Actor{Kind: "system"}, c.Admin.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, "revoked token", c.api(secret).do(http.MethodGet, "/api/v1/vendors", nil), http.StatusUnauthorized, "")

	// A disabled admin's tokens stop working.
	secret = c.newToken()
	if _, err := c.CP.Exec(ctx, `UPDATE admins SET disabled_at = now() WHERE id = $1`, c.Admin.ID); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, "disabled admin's token", c.api(secret).do(http.MethodGet, "/api/v1/vendors", nil), http.StatusUnauthorized, "")

	// The document needs no token.
	doc := c.api("").do(http.MethodGet, "/api/v1/openapi.json", nil)
	wantStatus(t, "openapi.json", doc, http.StatusOK)
	if d := decode[map[string]any](t, doc); d["openapi"] != "3.1.0" {
		t.Errorf("openapi.json: openapi = %v", d["openapi"])
	}
	wantAPIError(t, "unknown API path", c.api("").do(http.MethodGet, "/api/v1/nope", nil), http.StatusNotFound, "")
}

func TestAPIVendors(t *testing.T) {
	t.Parallel()
	c := start(t)
	api := c.api(c.newToken())

	body := map[string]string{"slug": "bolt", "name": "Bolt & Nut", "owner_email": "o@bolt.example"}
	p := api.do(http.MethodPost, "/api/v1/vendors", body)
	wantStatus(t, "create", p, http.StatusCreated)
	v := decode[apiVendor](t, p)
	if v.Slug != "bolt" || v.State != platform.StateActive || v.URL != "http://bolt.localhost:8080/" || v.DBName == "" || p.Location != "/api/v1/vendors/bolt" {
		t.Fatalf("created %+v (Location %q)", v, p.Location)
	}
	if strings.Contains(p.Body, "password") {
		t.Error("the vendor JSON mentions a password")
	}
	rows := c.audit("vendor.create")
	if len(rows) != 1 || rows[0].Actor != "admin:"+adminEmail || rows[0].ClientAddr != "127.0.0.1" {
		t.Errorf("vendor.create audit rows = %+v", rows)
	}

	wantAPIError(t, "duplicate", api.do(http.MethodPost, "/api/v1/vendors", body), http.StatusConflict, "slug")
	for _, tc := range []struct {
		name  string
		body  map[string]string
		field string
	}{
		{"bad slug", map[string]string{"slug": "Bad Slug", "name": "x", "owner_email": "o@x.example"}, "slug"},
		{"no name", map[string]string{"slug": "noname", "owner_email": "o@x.example"}, "name"},
		{"bad e-mail", map[string]string{"slug": "bademail", "name": "x", "owner_email": "x"}, "owner_email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantAPIError(t, "create", api.do(http.MethodPost, "/api/v1/vendors", tc.body), http.StatusUnprocessableEntity, tc.field)
		})
	}
	wantAPIError(t, "unknown field", api.do(http.MethodPost, "/api/v1/vendors", map[string]string{"slug": "x", "color": "red"}), http.StatusBadRequest, "")

	list := decode[struct{ Vendors []apiVendor }](t, api.do(http.MethodGet, "/api/v1/vendors", nil))
	if len(list.Vendors) != 1 || list.Vendors[0].Slug != "bolt" {
		t.Fatalf("list = %+v", list)
	}
	if l := decode[struct{ Vendors []apiVendor }](t, api.do(http.MethodGet, "/api/v1/vendors?state=suspended", nil)); len(l.Vendors) != 0 {
		t.Errorf("suspended vendors = %+v", l.Vendors)
	}
	wantAPIError(t, "bad state filter", api.do(http.MethodGet, "/api/v1/vendors?state=sleepy", nil), http.StatusUnprocessableEntity, "state")

	show := decode[apiVendor](t, api.do(http.MethodGet, "/api/v1/vendors/bolt", nil))
	if show.ID != v.ID || len(show.Events) < 5 || show.Events[0].State != platform.StateActive {
		t.Fatalf("show = %+v", show)
	}
	wantAPIError(t, "unknown vendor", api.do(http.MethodGet, "/api/v1/vendors/nope", nil), http.StatusNotFound, "")

	wantAPIError(t, "resume an active vendor", api.do(http.MethodPost, "/api/v1/vendors/bolt/resume", nil), http.StatusConflict, "")
	wantAPIError(t, "suspend without a reason", api.do(http.MethodPost, "/api/v1/vendors/bolt/suspend", map[string]string{}), http.StatusUnprocessableEntity, "reason")
	p = api.do(http.MethodPost, "/api/v1/vendors/bolt/suspend", map[string]string{"reason": "chargebacks"})
	wantStatus(t, "suspend", p, http.StatusOK)
	if s := decode[apiVendor](t, p); s.State != platform.StateSuspended || s.SuspendReason != "chargebacks" {
		t.Fatalf("suspended = %+v", s)
	}
	wantAPIError(t, "suspend twice", api.do(http.MethodPost, "/api/v1/vendors/bolt/suspend", map[string]string{"reason": "x"}), http.StatusConflict, "")
	p = api.do(http.MethodPost, "/api/v1/vendors/bolt/resume", nil)
	wantStatus(t, "resume", p, http.StatusOK)
	if s := decode[apiVendor](t, p); s.State != platform.StateActive {
		t.Fatalf("resumed = %+v", s)
	}

	audit := decode[struct {
		Entries []struct {
			Actor  string          `json:"actor"`
			Action string          `json:"action"`
			After  json.RawMessage `json:"after"`
		}
	}](t, api.do(http.MethodGet, "/api/v1/audit?target_type=vendor&limit=10", nil))
	if len(audit.Entries) != 3 || audit.Entries[0].Action != "vendor.resume" || audit.Entries[1].Action != "vendor.suspend" ||
		!strings.Contains(string(audit.Entries[1].After), "chargebacks") {
		t.Errorf("audit = %+v", audit.Entries)
	}

	wantAPIError(t, "delete without confirm", api.do(http.MethodDelete, "/api/v1/vendors/bolt?now=true", nil), http.StatusUnprocessableEntity, "confirm")
	wantAPIError(t, "delete with a wrong confirm", api.do(http.MethodDelete, "/api/v1/vendors/bolt?confirm=bol", nil), http.StatusUnprocessableEntity, "confirm")
	p = api.do(http.MethodDelete, "/api/v1/vendors/bolt?confirm=bolt", nil)
	wantStatus(t, "delete", p, http.StatusOK)
	if d := decode[apiVendor](t, p); d.State != platform.StateDeleting || d.DeleteAfter == nil {
		t.Fatalf("deleting = %+v", d)
	}
	wantAPIError(t, "resume a deleting vendor", api.do(http.MethodPost, "/api/v1/vendors/bolt/resume", nil), http.StatusConflict, "")
	p = api.do(http.MethodDelete, "/api/v1/vendors/bolt?now=true&confirm=bolt", nil)
	wantStatus(t, "delete now", p, http.StatusOK)
	if d := decode[apiVendor](t, p); d.State != platform.StateDeleted || d.URL != "" {
		t.Fatalf("deleted = %+v", d)
	}
	wantAPIError(t, "show a deleted vendor", api.do(http.MethodGet, "/api/v1/vendors/bolt", nil), http.StatusNotFound, "")

	// The slug is free again.
	wantStatus(t, "reuse the slug", api.do(http.MethodPost, "/api/v1/vendors", body), http.StatusCreated)
}
