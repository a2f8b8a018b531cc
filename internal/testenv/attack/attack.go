// Package attack is the ledger of the isolation attack suites (docs/security.md):
// each suite records every attempt one vendor, shopper or webhook makes to
// reach another vendor's data, whether it was refused, and whether it wrote
// anything where it must not (the databases, tables and buckets the suite
// watches, compared before and after). At the end of the test it logs
//
//	isolation: N attempts in M categories, L leaks
//
// and, when STOREFLEET_ATTACK_OUT names a file, appends one JSON line per
// suite to it, so that a script can total the suites. A leak (an attempt
// that was not refused, or a write it made) fails the test with what
// leaked.
package attack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
)

// OutEnv names the file the suites append their totals to.
const OutEnv = "STOREFLEET_ATTACK_OUT"

// TB is what the ledger needs of a test; testing.TB is one.
type TB interface {
	Helper()
	Name() string
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
}

// Attempt is one try at another vendor's data.
type Attempt struct {
	Category string `json:"category"`
	Name     string `json:"name"`
	Refused  bool   `json:"refused"`
	// Leak says what got through: the answer that was not a refusal, or
	// what the attempt wrote. Empty for a refused attempt.
	Leak string `json:"leak,omitempty"`
	// batch marks the record of a write found after a batch of attempts
	// (Quietly): a leak, but not an attempt of its own.
	batch bool
}

// Summary is the JSON line a suite appends to STOREFLEET_ATTACK_OUT.
type Summary struct {
	Suite      string         `json:"suite"`
	Attempts   int            `json:"attempts"`
	Categories map[string]int `json:"categories"`
	Leaks      int            `json:"leaks"`
	LeakNames  []string       `json:"leak_names,omitempty"`
	At         time.Time      `json:"at"`
}

// Watcher is a store an attempt must leave unchanged.
type Watcher interface {
	// Name says what is watched ("database of vendor bravo").
	Name() string
	// Snapshot fingerprints the store: one entry per table or object.
	Snapshot(ctx context.Context) (map[string]string, error)
}

// Ledger records a suite's attempts. It is used by one goroutine: the
// attempts of a suite run one after the other, so that a write can be
// traced to the attempt (or batch) that made it.
type Ledger struct {
	t     TB
	suite string

	mu       sync.Mutex
	attempts []Attempt
	watchers []Watcher
	batch    *batch // the snapshot attempts share inside Quietly
	min      int
	reported bool
}

type batch struct {
	what   string
	before []map[string]string
	names  []string // the attempts made in the batch
}

// New starts a suite's ledger; its summary is logged (and written) when
// the test ends.
func New(t TB, suite string) *Ledger {
	l := &Ledger{t: t, suite: suite}
	t.Cleanup(l.Report)
	return l
}

// Watch adds stores that no attempt may write.
func (l *Ledger) Watch(ws ...Watcher) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watchers = append(l.watchers, ws...)
}

// AtLeast makes the suite fail when it made fewer than n attempts (a suite
// whose route walk found nothing to walk must not pass quietly).
func (l *Ledger) AtLeast(n int) { l.min = n }

// Try makes one attempt: try does it and returns nil when it was refused
// as it must be, or an error saying what got through. Unless the attempt
// runs inside Quietly, every watched store is compared before and after
// it, and a change is a leak too.
func (l *Ledger) Try(category, name string, try func() error) {
	l.t.Helper()
	ctx := context.Background()
	var before []map[string]string
	inBatch := l.batch != nil
	if !inBatch {
		before = l.snapshot(ctx)
	}
	err := try()
	a := Attempt{Category: category, Name: name, Refused: err == nil}
	if err != nil {
		a.Leak = err.Error()
	}
	if inBatch {
		l.batch.names = append(l.batch.names, name)
	} else if wrote := l.diff(ctx, before); wrote != "" {
		a.Leak = strings.TrimPrefix(a.Leak+"; wrote "+wrote, "; ")
	}
	l.record(a)
}

// TryWith is Try comparing only the given stores, for an attempt that
// must write in the others (asking for an e-mail queues it in the shop
// that sends it). It never runs inside a batch.
func (l *Ledger) TryWith(ws []Watcher, category, name string, try func() error) {
	l.t.Helper()
	l.mu.Lock()
	saved := l.watchers
	l.watchers = ws
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.watchers = saved
		l.mu.Unlock()
	}()
	outer := l.batch
	l.batch = nil
	defer func() { l.batch = outer }()
	l.Try(category, name, try)
}

// Check records an attempt whose outcome is already known: nil when it
// was refused, or what got through. Nothing is compared.
func (l *Ledger) Check(category, name string, err error) {
	l.t.Helper()
	a := Attempt{Category: category, Name: name, Refused: err == nil}
	if err != nil {
		a.Leak = err.Error()
	}
	l.record(a)
}

// Quietly runs fn, whose attempts share one comparison of the watched
// stores, before and after all of them: cheaper than one per attempt, for
// a walk over many routes. A change fails every attempt of the batch.
func (l *Ledger) Quietly(what string, fn func()) {
	l.t.Helper()
	if l.batch != nil {
		fn() // already inside a batch
		return
	}
	ctx := context.Background()
	l.batch = &batch{what: what, before: l.snapshot(ctx)}
	defer func() {
		b := l.batch
		l.batch = nil
		if wrote := l.diff(ctx, b.before); wrote != "" {
			l.record(Attempt{Category: "writes", Name: what, batch: true, Leak: fmt.Sprintf("one of %d attempts wrote %s (attempts: %s)",
				len(b.names), wrote, strings.Join(firstN(b.names, 20), ", "))})
		}
	}()
	fn()
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
}

func (l *Ledger) record(a Attempt) {
	l.t.Helper()
	l.mu.Lock()
	l.attempts = append(l.attempts, a)
	l.mu.Unlock()
	if a.Leak != "" {
		l.t.Errorf("isolation leak: [%s] %s: %s", a.Category, a.Name, a.Leak)
	}
}

func (l *Ledger) snapshot(ctx context.Context) []map[string]string {
	l.t.Helper()
	out := make([]map[string]string, len(l.watchers))
	for i, w := range l.watchers {
		s, err := w.Snapshot(ctx)
		if err != nil {
			l.t.Errorf("isolation: snapshot %s: %v", w.Name(), err)
		}
		out[i] = s
	}
	return out
}

// diff says what changed in the watched stores since before ("" if
// nothing).
func (l *Ledger) diff(ctx context.Context, before []map[string]string) string {
	l.t.Helper()
	after := l.snapshot(ctx)
	var changes []string
	for i, w := range l.watchers {
		if i >= len(before) || before[i] == nil || after[i] == nil {
			continue
		}
		if d := Diff(before[i], after[i]); len(d) > 0 {
			changes = append(changes, w.Name()+": "+strings.Join(d, ", "))
		}
	}
	return strings.Join(changes, "; ")
}

// Diff lists what differs between two snapshots of one store.
func Diff(before, after map[string]string) []string {
	var out []string
	for k, a := range after {
		b, ok := before[k]
		switch {
		case !ok:
			out = append(out, k+" added ("+a+")")
		case a != b:
			out = append(out, k+" "+b+" → "+a)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k+" removed")
		}
	}
	sort.Strings(out)
	return out
}

// Attempts returns a copy of what was recorded so far.
func (l *Ledger) Attempts() []Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Attempt(nil), l.attempts...)
}

// Summary totals the attempts so far.
func (l *Ledger) Summary() Summary {
	s := Summary{Suite: l.suite, Categories: map[string]int{}, At: time.Now().UTC()}
	for _, a := range l.Attempts() {
		if a.Leak != "" {
			s.Leaks++
			s.LeakNames = append(s.LeakNames, a.Category+": "+a.Name)
		}
		if a.batch {
			continue // a batch's write is a leak, not an attempt of its own
		}
		s.Attempts++
		s.Categories[a.Category]++
	}
	return s
}

// Report logs the suite's totals and appends them to STOREFLEET_ATTACK_OUT;
// New registers it to run when the test ends. It runs once.
func (l *Ledger) Report() {
	l.mu.Lock()
	if l.reported {
		l.mu.Unlock()
		return
	}
	l.reported = true
	l.mu.Unlock()
	s := l.Summary()
	l.t.Logf("isolation: %d attempts in %d categories, %d leaks (%s)", s.Attempts, len(s.Categories), s.Leaks, l.suite)
	cats := make([]string, 0, len(s.Categories))
	for c, n := range s.Categories {
		cats = append(cats, fmt.Sprintf("%s=%d", c, n))
	}
	sort.Strings(cats)
	l.t.Logf("isolation: by category: %s", strings.Join(cats, " "))
	if s.Attempts < l.min {
		l.t.Errorf("isolation: only %d attempts, the suite must make at least %d: did a route walk find nothing?", s.Attempts, l.min)
	}
	if path := os.Getenv(OutEnv); path != "" {
		if err := appendLine(path, s); err != nil {
			l.t.Errorf("isolation: write %s: %v", OutEnv, err)
		}
	}
}

func appendLine(path string, s Summary) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	// One write of one line: concurrent suites (test packages run in
	// parallel) do not interleave.
	_, werr := f.Write(append(b, '\n'))
	cerr := f.Close()
	return errors.Join(werr, cerr)
}

// Querier is a database connection (a *pgxpool.Pool).
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type database struct {
	name   string
	db     Querier
	only   []string
	skip   map[string]bool
	mu     sync.Mutex
	query  string
	tables []string
}

// Database watches every table of a database's public schema but those
// skipped: each table's row count and a checksum of its rows.
func Database(name string, db Querier, skip ...string) Watcher {
	d := &database{name: name, db: db, skip: map[string]bool{}}
	for _, s := range skip {
		d.skip[s] = true
	}
	return d
}

// Tables watches the named tables of a database only.
func Tables(name string, db Querier, tables ...string) Watcher {
	return &database{name: name, db: db, only: tables, skip: map[string]bool{}}
}

func (d *database) Name() string { return d.name }

func (d *database) build(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.query != "" {
		return d.query, nil
	}
	tables := d.only
	if len(tables) == 0 {
		rows, err := d.db.Query(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`)
		if err != nil {
			return "", err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return "", err
		}
		for _, n := range names {
			if !d.skip[n] {
				tables = append(tables, n)
			}
		}
	}
	if len(tables) == 0 {
		return "", fmt.Errorf("%s: no tables to watch", d.name)
	}
	parts := make([]string, len(tables))
	for i, tb := range tables {
		id := pgx.Identifier{tb}.Sanitize()
		parts[i] = fmt.Sprintf(`SELECT %s::text, count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM %s x`,
			quoteLiteral(tb), id)
	}
	d.tables = tables
	d.query = strings.Join(parts, " UNION ALL ")
	return d.query, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (d *database) Snapshot(ctx context.Context) (map[string]string, error) {
	q, err := d.build(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := d.db.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var table, sum string
		var n int64
		if err := rows.Scan(&table, &n, &sum); err != nil {
			return nil, err
		}
		out["table "+table] = fmt.Sprintf("%d rows %s", n, sum[:8])
	}
	return out, rows.Err()
}

type bucket struct {
	name   string
	client *minio.Client
	bucket string
}

// Bucket watches every object (and its ETag and size) of a bucket.
func Bucket(name string, client *minio.Client, bucketName string) Watcher {
	return &bucket{name: name, client: client, bucket: bucketName}
}

func (b *bucket) Name() string { return b.name }

func (b *bucket) Snapshot(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for o := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list bucket %s: %w", b.bucket, o.Err)
		}
		out["object "+o.Key] = fmt.Sprintf("%d bytes %s", o.Size, strings.Trim(o.ETag, `"`))
	}
	return out, nil
}

// Func watches whatever fn fingerprints.
func Func(name string, fn func(ctx context.Context) (map[string]string, error)) Watcher {
	return funcWatcher{name: name, fn: fn}
}

type funcWatcher struct {
	name string
	fn   func(ctx context.Context) (map[string]string, error)
}

func (f funcWatcher) Name() string { return f.name }
func (f funcWatcher) Snapshot(ctx context.Context) (map[string]string, error) {
	return f.fn(ctx)
}
