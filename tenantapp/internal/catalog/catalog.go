// Package catalog is the store of a vendor's catalog and inventory, in the
// vendor's own database: products (SKU, GTIN, prices in integer minor
// units, state, categories), bulk edits, stock kept on each product with a
// ledger of movements, and low-stock thresholds; with the validation of
// what people type. Every write records an entry in the vendor's audit log
// in the same transaction. Every function takes the vendor's pool: there is
// no way to reach another vendor's catalog from here.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier runs queries: a pool or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// ErrNotFound means no such product or category.
var ErrNotFound = errors.New("not found")

// ErrChanged means a product changed after the form was opened.
var ErrChanged = errors.New("someone else changed this product after you opened it")

// userError is an error whose text is written for the people who typed
// the input.
type userError string

func (e userError) Error() string { return string(e) }

func problem(format string, args ...any) error { return userError(fmt.Sprintf(format, args...)) }

// FieldErrors maps input fields to what is wrong with them, in words for
// the people who typed them. It is an error when it is not empty.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e[k]
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// AsFieldErrors returns err's field errors, if it has any.
func AsFieldErrors(err error) (FieldErrors, bool) {
	var fe FieldErrors
	if errors.As(err, &fe) && len(fe) > 0 {
		return fe, true
	}
	return nil, false
}

// InUseError means a product or category cannot be deleted because other
// records still point at it.
type InUseError struct{ Message string }

func (e *InUseError) Error() string { return e.Message }
