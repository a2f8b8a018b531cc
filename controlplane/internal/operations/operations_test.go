package operations

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
)

var admin = platform.Actor{Kind: "admin", Name: "ada@example.com"}

// wait waits for operation id to end.
func wait(t *testing.T, s *Service, id int64) Operation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	op, ok, err := s.Wait(ctx, id)
	if !ok || err != nil {
		t.Fatalf("wait for operation %d: known %v, %v", id, ok, err)
	}
	return op
}

func TestStartAndFinish(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	op, err := s.Start(context.Background(), Request{Kind: "backup", VendorID: 7, Vendor: "acme", Title: "backup", Actor: admin,
		Run: func(context.Context) (Outcome, error) { return Outcome{Message: "Backed up acme.", Result: 42}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if op.ID == 0 || op.State != StateRunning || op.Actor != "admin:ada@example.com" || op.Vendor != "acme" {
		t.Fatalf("started: %+v", op)
	}
	done := wait(t, s, op.ID)
	if done.State != StateDone || done.Message != "Backed up acme." || done.Result != 42 || done.FinishedAt == nil || done.Err != nil {
		t.Fatalf("done: %+v", done)
	}
	if got, ok := s.ForVendor(7); !ok || got.ID != op.ID {
		t.Errorf("ForVendor(7) = %+v, %v", got, ok)
	}
	if _, ok := s.ForVendor(8); ok {
		t.Error("ForVendor(8) found an operation")
	}
	if _, ok := s.Get(op.ID + 1); ok {
		t.Error("Get of an unknown id found an operation")
	}
	if len(s.Running()) != 0 {
		t.Errorf("running: %+v", s.Running())
	}
}

func TestOneOperationPerVendor(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	release := make(chan struct{})
	blocked := func(context.Context) (Outcome, error) { <-release; return Outcome{}, nil }
	first, err := s.Start(context.Background(), Request{Kind: "restore", VendorID: 1, Vendor: "acme", Title: "restore of backup 3", Actor: admin, Run: blocked})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Start(context.Background(), Request{Kind: "backup", VendorID: 1, Vendor: "acme", Title: "backup", Actor: admin, Run: blocked})
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Running.ID != first.ID || !strings.Contains(err.Error(), "restore of backup 3 is running") {
		t.Fatalf("second operation on the same vendor: %v", err)
	}
	other, err := s.Start(context.Background(), Request{Kind: "backup", VendorID: 2, Vendor: "bravo", Title: "backup", Actor: admin, Run: blocked})
	if err != nil {
		t.Fatalf("an operation on another vendor: %v", err)
	}
	if r := s.Running(); len(r) != 2 || r[0].ID != first.ID || r[1].ID != other.ID {
		t.Errorf("running: %+v", r)
	}
	close(release)
	wait(t, s, first.ID)
	if _, err := s.Start(context.Background(), Request{Kind: "backup", VendorID: 1, Vendor: "acme", Title: "backup", Actor: admin,
		Run: func(context.Context) (Outcome, error) { return Outcome{}, nil }}); err != nil {
		t.Fatalf("an operation after the first ended: %v", err)
	}
}

func TestFailures(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	boom := errors.New("disk on fire")
	op, _ := s.Start(context.Background(), Request{Kind: "backup", VendorID: 1, Vendor: "acme", Title: "backup", Actor: admin,
		Run: func(context.Context) (Outcome, error) { return Outcome{}, boom }})
	got := wait(t, s, op.ID)
	if got.State != StateFailed || !errors.Is(got.Err, boom) || got.Error != "disk on fire" ||
		got.Message != "The backup of acme failed: disk on fire" {
		t.Errorf("failed operation: %+v", got)
	}
	op, _ = s.Start(context.Background(), Request{Kind: "move", VendorID: 2, Vendor: "bravo", Title: "move to server b", Actor: admin,
		Run: func(context.Context) (Outcome, error) { panic("nil map") }})
	got = wait(t, s, op.ID)
	if got.State != StateFailed || !strings.Contains(got.Error, "crashed: nil map") {
		t.Errorf("panicking operation: %+v", got)
	}
}

func TestCloseCancelsAndWaits(t *testing.T) {
	s := New(Options{StopWait: 5 * time.Second})
	cleaned := make(chan struct{})
	op, err := s.Start(context.Background(), Request{Kind: "restore", VendorID: 1, Vendor: "acme", Title: "restore", Actor: admin,
		Run: func(ctx context.Context) (Outcome, error) {
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond) // drop the half-made copy
			close(cleaned)
			return Outcome{}, ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	select {
	case <-cleaned:
	default:
		t.Fatal("Close returned before the operation cleaned up")
	}
	got, _ := s.Get(op.ID)
	if got.State != StateFailed || !strings.Contains(got.Error, "control plane shut down") || !errors.Is(got.Err, context.Canceled) {
		t.Errorf("cancelled operation: %+v", got)
	}
	if _, err := s.Start(context.Background(), Request{Kind: "backup", VendorID: 2, Run: func(context.Context) (Outcome, error) { return Outcome{}, nil }}); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("Start after Close: %v", err)
	}
	s.Close() // twice is fine
}

func TestRequestValuesAreKeptButNotItsCancellation(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "req-1"))
	release := make(chan struct{})
	op, _ := s.Start(ctx, Request{Kind: "backup", VendorID: 1, Run: func(ctx context.Context) (Outcome, error) {
		<-release
		if ctx.Err() != nil {
			return Outcome{}, ctx.Err()
		}
		return Outcome{Result: ctx.Value(key{})}, nil
	}})
	cancel() // the request ends; the operation goes on
	close(release)
	if got := wait(t, s, op.ID); got.State != StateDone || got.Result != "req-1" {
		t.Errorf("operation after its request ended: %+v", got)
	}
}

func TestFinishedOperationsAreForgotten(t *testing.T) {
	s := New(Options{MaxKept: 2})
	defer s.Close()
	var ids []int64
	for v := range int64(4) {
		op, err := s.Start(context.Background(), Request{Kind: "backup", VendorID: v + 1, Run: func(context.Context) (Outcome, error) { return Outcome{}, nil }})
		if err != nil {
			t.Fatal(err)
		}
		wait(t, s, op.ID)
		ids = append(ids, op.ID)
	}
	for i, id := range ids {
		_, ok := s.Get(id)
		if want := i >= 2; ok != want {
			t.Errorf("operation %d kept: %v, want %v", id, ok, want)
		}
	}
	if _, ok := s.ForVendor(1); ok {
		t.Error("a forgotten operation is still the vendor's newest")
	}
}
