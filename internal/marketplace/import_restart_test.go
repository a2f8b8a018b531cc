package marketplace_test

import (
	"context"
	"testing"

	"github.com/storefleet/storefleet/internal/marketplace"
)

// An import whose worker died (its lease ran out in the middle of the
// file) is taken up by the next drain and started again from the
// beginning; what the dead worker loaded is not doubled, and its rejected
// rows are not kept twice.
func TestImportInterruptedIsTakenUpAgain(t *testing.T) {
	t.Parallel()
	s := newShop(t, "restarter")
	ctx := context.Background()
	feed := "id\ttitle\tprice\nR-1\tOne\t1.00 EUR\nR-2\tTwo\tabc\nR-3\tThree\t3.00 EUR\n"
	imp := s.upload(t, "f.tsv", []byte(feed), "")
	// What a worker that died after the first batch leaves behind: the
	// import running under a lease that has run out, one row staged, one
	// rejection recorded, counters part way.
	_, err := s.v.Pool.Exec(ctx, `UPDATE imports SET state = 'running', attempts = 1, started_at = now() - interval '5 minutes',
		locked_until = now() - interval '1 second', rows_read = 2, rows_imported = 1, rows_rejected = 1 WHERE id = $1`, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.v.Pool.Exec(ctx, `INSERT INTO import_rejections (import_id, line, item_id, reason) VALUES ($1, 3, 'R-2', 'bad price')`, imp.ID); err != nil {
		t.Fatal(err)
	}
	// A lease that has not run out is left alone.
	if _, err := s.v.Pool.Exec(ctx, `UPDATE imports SET locked_until = now() + interval '1 minute' WHERE id = $1`, imp.ID); err != nil {
		t.Fatal(err)
	}
	next, err := s.r.Drain(ctx, marketplace.WorkImports, s.v)
	if err != nil || next.IsZero() {
		t.Fatalf("a live lease: next %v, %v", next, err)
	}
	if got, _ := marketplace.GetImport(ctx, s.v.Pool, imp.ID); got.State != marketplace.StateRunning || got.Attempts != 1 {
		t.Fatalf("an import under a live lease was taken: %+v", got)
	}
	if _, err := s.v.Pool.Exec(ctx, `UPDATE imports SET locked_until = now() - interval '1 second' WHERE id = $1`, imp.ID); err != nil {
		t.Fatal(err)
	}
	got := s.run(t, imp.ID)
	if got.State != marketplace.StateFinished || got.Attempts != 2 || got.RowsRead != 3 || got.RowsImported != 2 || got.RowsRejected != 1 {
		t.Fatalf("after the restart: %+v", got)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM import_rejections WHERE import_id = $1`, imp.ID); n != 1 {
		t.Errorf("%d rejections kept", n)
	}
	if n := count(t, s.v.Pool, `SELECT count(*) FROM marketplace_products`); n != 2 {
		t.Errorf("%d staged rows", n)
	}

	// An import interrupted too often stops with a message.
	imp2 := s.upload(t, "g.tsv", []byte(feed), "")
	if _, err := s.v.Pool.Exec(ctx, `UPDATE imports SET state = 'running', attempts = 3, locked_until = now() - interval '1 second' WHERE id = $1`, imp2.ID); err != nil {
		t.Fatal(err)
	}
	if got := s.run(t, imp2.ID); got.State != marketplace.StateFailed || got.Error == "" {
		t.Errorf("an import interrupted 3 times: %+v", got)
	}
}

// A worker cut off from the database past its lease, whose import another
// worker has claimed since, cannot record an end over the new attempt.
func TestStaleWorkerCannotEndAnImport(t *testing.T) {
	t.Parallel()
	s := newShop(t, "fenced")
	ctx := context.Background()
	imp := s.upload(t, "f.tsv", []byte("id\ttitle\tprice\nF-1\tOne\t1.00 EUR\n"), "")
	if _, err := s.v.Pool.Exec(ctx, `UPDATE imports SET state = 'running', attempts = 2, locked_until = now() + interval '1 minute' WHERE id = $1`, imp.ID); err != nil {
		t.Fatal(err)
	}
	if err := marketplace.EndImport(ctx, s.v.Pool, imp.ID, 1, marketplace.StateFailed, "stale"); err != nil {
		t.Fatal(err)
	}
	if got, _ := marketplace.GetImport(ctx, s.v.Pool, imp.ID); got.State != marketplace.StateRunning || got.Error != "" {
		t.Errorf("attempt 1 ended attempt 2's import: %+v", got)
	}
	if err := marketplace.EndImport(ctx, s.v.Pool, imp.ID, 2, marketplace.StateFinished, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := marketplace.GetImport(ctx, s.v.Pool, imp.ID); got.State != marketplace.StateFinished {
		t.Errorf("the current attempt could not end it: %+v", got)
	}
}
