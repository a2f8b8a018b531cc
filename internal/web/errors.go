package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Error is an error with an HTTP status and a message that is safe to
// show. Handlers return it for anything that is the client's fault.
type Error struct {
	Status  int
	Message string
	// Field names the form field or JSON property at fault, if any.
	Field string
	// RetryAfter, in seconds, is sent with 503s.
	RetryAfter int
	// Extra adds members to the JSON form of the error, for clients to act
	// on (every invalid field, what blocks a deletion); pages leave it
	// out. It never replaces status, message, field or request_id.
	Extra map[string]any
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a status and a message for people.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds a 422 about one field.
func FieldError(field, message string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Field: field, Message: message}
}

// Handler is an http handler that returns an error.
type Handler func(w http.ResponseWriter, r *http.Request) error

// ErrorPage renders an error as a page; services plug in their own look.
type ErrorPage func(w http.ResponseWriter, r *http.Request, status int, title, message string)

// Responder turns handler errors into responses, in one place.
type Responder struct {
	Logger *slog.Logger
	Page   ErrorPage
	// Unavailable is what a client is told when a service the request
	// needs cannot be reached (Unavailable); default "The shop cannot be
	// reached right now. Please try again in a moment."
	Unavailable string
}

// Wrap adapts a Handler to http.Handler.
func (rs *Responder) Wrap(h Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			rs.Error(w, r, err)
		}
	})
}

// WantsJSON reports whether a request should get JSON errors: API paths
// and clients that ask for JSON.
func WantsJSON(r *http.Request) bool {
	return strings.Contains(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "application/json") &&
		!strings.Contains(r.Header.Get("Accept"), "text/html")
}

// Error writes err as a page or JSON. Only server errors are logged as
// errors, with detail; the client sees a plain message.
func (rs *Responder) Error(w http.ResponseWriter, r *http.Request, err error) {
	var we *Error
	if !errors.As(err, &we) && Unavailable(err) {
		msg := rs.Unavailable
		if msg == "" {
			msg = "The shop cannot be reached right now. Please try again in a moment."
		}
		we = &Error{Status: http.StatusServiceUnavailable, RetryAfter: UnavailableRetryAfter, Err: err, Message: msg}
		rs.Logger.Warn("a service the request needs is unavailable", "request_id", RequestID(r.Context()), "path", r.URL.Path, "err", err)
	}
	if we == nil {
		we = &Error{Status: http.StatusInternalServerError, Message: "Something went wrong on our side. Please try again; if it keeps happening, tell us the request id " + RequestID(r.Context()) + ".", Err: err}
	}
	if we.Status >= 500 && we.Status != http.StatusServiceUnavailable {
		rs.Logger.Error("request failed", "request_id", RequestID(r.Context()), "path", r.URL.Path, "err", err)
	} else {
		AddLogAttrs(r.Context(), slog.String("error", we.Error()))
	}
	if we.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(we.RetryAfter))
	}
	if WantsJSON(r) || rs.Page == nil {
		body := map[string]any{"status": we.Status, "message": we.Message, "field": we.Field, "request_id": RequestID(r.Context())}
		for k, v := range we.Extra {
			if _, taken := body[k]; !taken {
				body[k] = v
			}
		}
		WriteJSON(w, we.Status, map[string]any{"error": body})
		return
	}
	rs.Page(w, r, we.Status, http.StatusText(we.Status), we.Message)
}

// UnavailableRetryAfter is the Retry-After, in seconds, of the 503 that
// answers an error from an unreachable service.
const UnavailableRetryAfter = 5

// Unavailable reports whether err says that a service the request needed
// (a database, Redis, the object store) could not be reached or dropped
// the connection, rather than that the request or the code is wrong: a
// network error (refused, reset, timed out), a connection that ended in
// the middle of an answer or was found closed (pgx's "conn closed", as
// when COMMIT could not be sent or its answer never came: the shopper's
// retry with the same key finds out what happened), a request that ran out
// of time, or a
// PostgreSQL error of the classes "connection exception" (08), "operator
// intervention" (57P01-57P03: shutting down, cannot connect now) or "too
// many connections" (53300). Such errors are answered 503 with
// Retry-After, not 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		c := pe.Code
		return strings.HasPrefix(c, "08") || c == "57P01" || c == "57P02" || c == "57P03" || c == "53300"
	}
	return false
}

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, `{"error":{"status":500,"message":"cannot encode response"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// DecodeJSON reads a JSON request body into v, refusing unknown fields,
// trailing data and bodies over 1 MiB, with errors people can act on.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return Errorf(http.StatusUnsupportedMediaType, "send the body as application/json (got %s)", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, "the request body is larger than 1 MiB")
		}
		return &Error{Status: http.StatusBadRequest, Message: "the request body is not valid JSON for this endpoint: " + err.Error()}
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "the request body has data after the JSON object")
	}
	return nil
}
