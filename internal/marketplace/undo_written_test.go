package marketplace_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/staff"
)

// A vendor's edit of a product made while a publish that had written it
// was still running (stalled, then resumed) is kept by undo: each item's
// write time counts, not the publish's end.
func TestUndoKeepsEditsMadeWhileThePublishRan(t *testing.T) {
	t.Parallel()
	s := newShop(t, "midedit")
	ctx := context.Background()
	s.r = marketplace.NewRunner(marketplace.Config{AllowPrivateURLs: true, PublishChunk: 1})
	var rows []staged
	for i := 1; i <= 3; i++ {
		rows = append(rows, staged{id: fmt.Sprintf("E-%d", i), title: fmt.Sprintf("Edit %d", i), price: ptr(int64(100 * i))})
	}
	s.insertStaged(t, rows...)
	// Products exist already, so the publish updates them.
	for i := 1; i <= 3; i++ {
		if _, err := s.v.Pool.Exec(ctx, `INSERT INTO products (sku, title, price_minor, handle, updated_at)
			VALUES ($1, 'Old', 1, lower($1), now() - interval '1 hour')`, fmt.Sprintf("E-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := marketplace.CreatePublish(ctx, s.v.Pool, all, marketplace.PublishOptions{}, staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// The publish writes E-1 and stalls; the vendor changes E-1's price;
	// the publish resumes and finishes.
	stopCtx, cancel := context.WithCancel(ctx)
	marketplace.SetAfterChunk(s.r, func(int64) { cancel() })
	_, _ = s.r.Drain(stopCtx, marketplace.WorkPublishes, s.v)
	marketplace.SetAfterChunk(s.r, nil)
	time.Sleep(10 * time.Millisecond)
	if _, err := s.v.Pool.Exec(ctx, `UPDATE products SET price_minor = 4242, updated_at = now() WHERE sku = 'E-1'`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := s.r.Drain(ctx, marketplace.WorkPublishes, s.v); err != nil {
		t.Fatal(err)
	}
	if p, _ = marketplace.GetPublish(ctx, s.v.Pool, p.ID); p.State != marketplace.StateFinished || p.Updated != 3 {
		t.Fatalf("publish: %+v", p)
	}
	res, err := marketplace.UndoPublish(ctx, s.v.Pool, p.ID, staff.Entry{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].SKU != "E-1" || len(res.Restored) != 2 {
		t.Errorf("undo: skipped %+v, restored %v", res.Skipped, res.Restored)
	}
	var price int64
	if err := s.v.Pool.QueryRow(ctx, `SELECT price_minor FROM products WHERE sku = 'E-1'`).Scan(&price); err != nil || price != 4242 {
		t.Errorf("E-1's price after undo: %d %v, want the vendor's 4242", price, err)
	}
}
