// Package sku holds the rules for product SKUs and for the URL handles
// made from them. The back office's catalog creates products one at a
// time and the marketplace publish creates them a thousand at a time; both
// must make the same handles and accept the same SKUs, so the rules live
// here once.
package sku

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Pattern is what a SKU looks like: letters, digits and . _ / -, starting
// with a letter or digit. It is written so that PostgreSQL's ~ operator
// reads it the same way as Go's regexp, for checks made in SQL.
const Pattern = `^[A-Za-z0-9][A-Za-z0-9._/-]*$`

// MaxLen is the longest SKU, in characters (the products table's CHECK).
const MaxLen = 64

var pattern = regexp.MustCompile(Pattern)

// Valid reports whether s can be a product's SKU.
func Valid(s string) bool {
	return s != "" && utf8.RuneCountInString(s) <= MaxLen && pattern.MatchString(s)
}

// MatchesPattern reports whether s has only the characters a SKU may have
// (its length is not checked).
func MatchesPattern(s string) bool { return pattern.MatchString(s) }

var nonHandle = regexp.MustCompile(`[^a-z0-9]+`)

// HandleBase makes a URL handle from a SKU, as tenant migration 00002
// did for the products that existed then: lower case, runs of anything
// else than letters and digits become one hyphen.
func HandleBase(s string) string {
	h := strings.Trim(nonHandle.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(h) > 100 {
		h = strings.Trim(h[:100], "-")
	}
	if h == "" {
		h = "product"
	}
	return h
}

// Querier runs a query: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// FreeHandle returns the SKU's handle, or the first of handle-2, handle-3,
// ... that no product has.
func FreeHandle(ctx context.Context, q Querier, s string) (string, error) {
	hs, err := FreeHandles(ctx, q, []string{s})
	if err != nil {
		return "", err
	}
	return hs[0], nil
}

// candidatesPerRound is how many suffixes are tried per SKU and query
// once its plain handle is taken.
const candidatesPerRound = 8

// FreeHandles returns a handle for each SKU (in order) that no product
// has and that no other SKU of the list gets: each SKU's own handle, else
// the first free of handle-2, handle-3, ... It asks the database which
// candidates are taken a round at a time, with an exact match the unique
// index answers, so a thousand SKUs usually cost one query. A product
// saved at the same moment can still take a handle: the caller's insert
// then fails on products_handle_key and it asks again.
func FreeHandles(ctx context.Context, q Querier, skus []string) ([]string, error) {
	out := make([]string, len(skus))
	bases := make([]string, len(skus))
	next := make([]int, len(skus)) // the next suffix to try; 1 means the plain handle
	used := make(map[string]bool, len(skus))
	todo := make([]int, len(skus))
	for i, s := range skus {
		bases[i], next[i], todo[i] = HandleBase(s), 1, i
	}
	for len(todo) > 0 {
		var candidates []string
		per := make([][]string, len(todo))
		for j, i := range todo {
			n := candidatesPerRound
			if next[i] == 1 {
				n = 1 // the plain handle first: it is usually free
			}
			for k := 0; k < n; k++ {
				h := bases[i]
				if next[i]+k > 1 {
					h = fmt.Sprintf("%s-%d", bases[i], next[i]+k)
				}
				per[j] = append(per[j], h)
			}
			candidates = append(candidates, per[j]...)
		}
		rows, err := q.Query(ctx, `SELECT handle FROM products WHERE handle = ANY($1)`, candidates)
		if err != nil {
			return nil, fmt.Errorf("find free handles: %w", err)
		}
		taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("find free handles: %w", err)
		}
		for _, h := range taken {
			used[h] = true
		}
		left := todo[:0]
		for j, i := range todo {
			for _, h := range per[j] {
				if !used[h] {
					out[i], used[h] = h, true
					break
				}
			}
			if out[i] == "" {
				next[i] += len(per[j])
				left = append(left, i)
			}
		}
		todo = left
	}
	return out, nil
}
