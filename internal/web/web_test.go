package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestResponderJSONAndPages(t *testing.T) {
	var pageStatus int
	rs := &Responder{Logger: slog.New(slog.DiscardHandler), Page: func(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
		pageStatus = status
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<h1>"+title+"</h1>"+msg)
	}}
	h := WithRequestID(rs.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		switch r.URL.Query().Get("e") {
		case "field":
			return FieldError("slug", "is taken")
		case "busy":
			return &Error{Status: 503, Message: "later", RetryAfter: 7}
		case "extra":
			return &Error{Status: 409, Message: "in use", Extra: map[string]any{"used_by": []string{"a"}, "status": 200}}
		}
		return errors.New("database exploded: secret detail")
	}))
	cases := []struct {
		path, accept string
		status       int
		json         bool
	}{
		{"/api/v1/x?e=field", "", 422, true},
		{"/page?e=field", "text/html", 422, false},
		{"/page?e=busy", "application/json", 503, true},
		{"/page", "text/html", 500, false},
		{"/api/v1/x", "", 500, true},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", c.path, nil)
		req.Header.Set("Accept", c.accept)
		h.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("%s: status %d, want %d", c.path, rec.Code, c.status)
		}
		body := rec.Body.String()
		if strings.Contains(body, "secret detail") {
			t.Errorf("%s: internal error detail leaked: %s", c.path, body)
		}
		if c.json {
			var v struct {
				Error struct {
					Status    int    `json:"status"`
					RequestID string `json:"request_id"`
				} `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.Error.Status != c.status || v.Error.RequestID == "" {
				t.Errorf("%s: bad JSON error %q (%v)", c.path, body, err)
			}
		} else if pageStatus != c.status {
			t.Errorf("%s: page not rendered", c.path)
		}
	}
	// Extra members go into the JSON error, never over its own.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/x?e=extra", nil))
	var extra struct {
		Error struct {
			Status int      `json:"status"`
			UsedBy []string `json:"used_by"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &extra); err != nil || extra.Error.Status != 409 || len(extra.Error.UsedBy) != 1 {
		t.Errorf("extra members: %s (%v)", rec.Body, err)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/x?e=busy", nil))
	if rec.Header().Get("Retry-After") != "7" {
		t.Errorf("Retry-After = %q", rec.Header().Get("Retry-After"))
	}
}

func TestRequestIDKeepsOnlyWellFormedIDs(t *testing.T) {
	var seen string
	h := WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = RequestID(r.Context()) }))
	for in, keep := range map[string]bool{"abcdef123456": true, "bad id with spaces": false, "": false, strings.Repeat("a", 100): false} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Request-Id", in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if (seen == in) != keep || seen == "" || rec.Header().Get("X-Request-Id") != seen {
			t.Errorf("incoming %q: got %q", in, seen)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
	}
	cases := map[string]int{
		`{"name":"a"}`:            0,
		`{"name":"a","extra":1}`:  400,
		`{"name":"a"} {"name":2}`: 400,
		`not json`:                400,
		`{"name":"` + strings.Repeat("x", 2<<20) + `"}`: 413,
	}
	for in, want := range cases {
		req := httptest.NewRequest("POST", "/", strings.NewReader(in))
		req.Header.Set("Content-Type", "application/json")
		var b body
		err := DecodeJSON(httptest.NewRecorder(), req, &b)
		var we *Error
		switch {
		case want == 0 && err != nil:
			t.Errorf("%.30s: %v", in, err)
		case want != 0 && (!errors.As(err, &we) || we.Status != want):
			t.Errorf("%.30s: %v, want %d", in, err, want)
		}
	}
}

func TestReadyz(t *testing.T) {
	ok := Check{Name: "db", Ping: func(context.Context) error { return nil }}
	cacheDown := Check{Name: "cache", Optional: true, Ping: func(context.Context) error { return errors.New("down") }}
	dbDown := Check{Name: "db", Ping: func(context.Context) error { return errors.New("down") }}
	for _, c := range []struct {
		checks []Check
		want   int
	}{{[]Check{ok}, 200}, {[]Check{ok, cacheDown}, 200}, {[]Check{dbDown, cacheDown}, 503}} {
		rec := httptest.NewRecorder()
		Readyz(c.checks...)(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != c.want {
			t.Errorf("%d checks: status %d, want %d: %s", len(c.checks), rec.Code, c.want, rec.Body)
		}
	}
}
