// Package operations runs the long actions an admin starts on one vendor
// from the console or the API (a backup, a verification, a restore, a
// move) in the background, one at a time per vendor, and keeps their state
// in memory so that pages and scripts can follow them: running, done or
// failed, with a message for people and a result for scripts.
//
// Operations are tied to the program's lifetime like rollouts: Close
// cancels the ones still running and waits for them to clean up. Their
// lasting effects (the backups catalogue, the vendor's database, the audit
// log) are recorded by the libraries they call; what this package holds is
// only the progress, and it is gone after a restart.
package operations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/storefleet/storefleet/internal/platform"
)

// State is where an operation is.
type State string

// The states of an operation: running, then done or failed.
const (
	StateRunning State = "running"
	StateDone    State = "done"
	StateFailed  State = "failed"
)

// Operation is a snapshot of one background action on a vendor.
type Operation struct {
	ID int64 `json:"id"`
	// Kind is what it does: "backup", "verify", "restore" or "move".
	Kind     string `json:"kind"`
	VendorID int64  `json:"vendor_id"`
	Vendor   string `json:"vendor"`
	// Title names it for people: "restore of backup 12".
	Title      string     `json:"title"`
	Actor      string     `json:"actor"`
	State      State      `json:"state"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Message says how it ended, for people (empty while it runs).
	Message string `json:"message,omitempty"`
	// Error is why it failed.
	Error string `json:"error,omitempty"`
	// Result is what the action returned, for scripts.
	Result any `json:"result,omitempty"`
	// Err is the error itself, so callers can map it to a status.
	Err error `json:"-"`
}

// Running reports whether the operation is still in progress.
func (o *Operation) Running() bool { return o.State == StateRunning }

// Failed reports whether the operation ended with an error.
func (o *Operation) Failed() bool { return o.State == StateFailed }

// Elapsed is how long the operation took, or has been running.
func (o *Operation) Elapsed() time.Duration {
	end := time.Now()
	if o.FinishedAt != nil {
		end = *o.FinishedAt
	}
	return end.Sub(o.StartedAt)
}

// Outcome is what an action reports when it ends: a message for people
// and a result for scripts. A failed action may set Message to explain
// the failure better than its error does.
type Outcome struct {
	Message string
	Result  any
}

// Func is the work of an operation. ctx ends when the service closes.
type Func func(ctx context.Context) (Outcome, error)

// Request describes an operation to start.
type Request struct {
	Kind     string
	VendorID int64
	Vendor   string
	Title    string
	Actor    platform.Actor
	Run      Func
}

// BusyError means the vendor already has an operation running.
type BusyError struct {
	Running Operation
}

func (e *BusyError) Error() string {
	o := e.Running
	return fmt.Sprintf("vendor %s is busy: %s is running (started %s by %s); wait for it to end, then try again",
		o.Vendor, o.Title, o.StartedAt.UTC().Format("15:04:05 UTC"), o.Actor)
}

// ErrShuttingDown means the control plane is stopping and starts nothing new.
var ErrShuttingDown = errors.New("the control plane is shutting down; start the operation again once it is back")

// Options tune the service.
type Options struct {
	Logger *slog.Logger
	// StopWait is how long Close waits for cancelled operations to clean
	// up (default 30 s).
	StopWait time.Duration
	// Keep is how long a finished operation is remembered (default 24 h);
	// at most MaxKept (default 1000) are.
	Keep    time.Duration
	MaxKept int
}

// Service runs operations in the background. Its zero value is not
// usable; make one with New and Close it when the program stops.
type Service struct {
	log      *slog.Logger
	stopWait time.Duration
	keep     time.Duration
	maxKept  int

	base   context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // guards everything below and wg.Add
	closed   bool
	nextID   int64
	ops      map[int64]*entry
	byVendor map[int64]int64 // vendor id → its newest operation
}

type entry struct {
	op   Operation
	done chan struct{}
}

// New returns a service; operations it starts live until Close.
func New(o Options) *Service {
	s := &Service{log: o.Logger, stopWait: o.StopWait, keep: o.Keep, maxKept: o.MaxKept,
		ops: map[int64]*entry{}, byVendor: map[int64]int64{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.stopWait <= 0 {
		s.stopWait = 30 * time.Second
	}
	if s.keep <= 0 {
		s.keep = 24 * time.Hour
	}
	if s.maxKept <= 0 {
		s.maxKept = 1000
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s
}

// Start runs req in the background, detached from ctx (whose values, such
// as the request id, are kept) and cancelled by Close, and returns its
// snapshot at once. It refuses with *BusyError while another operation on
// the same vendor runs, and with ErrShuttingDown after Close.
func (s *Service) Start(ctx context.Context, req Request) (Operation, error) {
	if req.Run == nil {
		return Operation{}, errors.New("operations: nothing to run")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Operation{}, ErrShuttingDown
	}
	if id, ok := s.byVendor[req.VendorID]; ok {
		if e := s.ops[id]; e != nil && e.op.Running() {
			busy := &BusyError{Running: e.op}
			s.mu.Unlock()
			return Operation{}, busy
		}
	}
	s.prune()
	s.nextID++
	e := &entry{done: make(chan struct{}), op: Operation{
		ID: s.nextID, Kind: req.Kind, VendorID: req.VendorID, Vendor: req.Vendor, Title: req.Title,
		Actor: req.Actor.String(), State: StateRunning, StartedAt: time.Now(),
	}}
	s.ops[e.op.ID] = e
	s.byVendor[req.VendorID] = e.op.ID
	s.wg.Add(1)
	snapshot := e.op
	s.mu.Unlock()

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(s.base, cancel)
	log := s.log.With("operation", snapshot.ID, "kind", req.Kind, "vendor", req.Vendor, "actor", snapshot.Actor)
	log.Info("operation started", "title", req.Title)
	go func() {
		defer s.wg.Done()
		defer cancel()
		defer stop()
		out, err := run(runCtx, req.Run)
		if err != nil && s.base.Err() != nil && runCtx.Err() != nil {
			err = fmt.Errorf("cancelled because the control plane shut down: %w", err)
		}
		s.finish(e, out, err)
		if err != nil {
			log.Error("operation failed", "duration", time.Since(snapshot.StartedAt), "err", err)
		} else {
			log.Info("operation done", "duration", time.Since(snapshot.StartedAt), "message", out.Message)
		}
	}()
	return snapshot, nil
}

// run calls fn, turning a panic into an error so one broken operation
// does not take the control plane down.
func run(ctx context.Context, fn Func) (out Outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the operation crashed: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(ctx)
}

// finish records how an operation ended.
func (s *Service) finish(e *entry, out Outcome, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	e.op.FinishedAt = &now
	e.op.Result = out.Result
	e.op.Message = out.Message
	if err != nil {
		e.op.State, e.op.Error, e.op.Err = StateFailed, err.Error(), err
		if e.op.Message == "" {
			e.op.Message = fmt.Sprintf("The %s of %s failed: %v", e.op.Title, e.op.Vendor, err)
		}
	} else {
		e.op.State = StateDone
		if e.op.Message == "" {
			e.op.Message = fmt.Sprintf("The %s of %s is done.", e.op.Title, e.op.Vendor)
		}
	}
	close(e.done)
}

// prune forgets finished operations older than Keep, and the oldest
// finished ones beyond MaxKept. s.mu is held.
func (s *Service) prune() {
	cutoff := time.Now().Add(-s.keep)
	var finished []int64
	for id, e := range s.ops {
		if e.op.Running() {
			continue
		}
		if e.op.FinishedAt.Before(cutoff) {
			s.forget(id)
			continue
		}
		finished = append(finished, id)
	}
	if extra := len(finished) - s.maxKept + 1; extra > 0 {
		sort.Slice(finished, func(i, j int) bool { return finished[i] < finished[j] })
		for _, id := range finished[:extra] {
			s.forget(id)
		}
	}
}

// forget removes one finished operation. s.mu is held.
func (s *Service) forget(id int64) {
	e := s.ops[id]
	delete(s.ops, id)
	if e != nil && s.byVendor[e.op.VendorID] == id {
		delete(s.byVendor, e.op.VendorID)
	}
}

// Get returns an operation by id; false if it is unknown (never started,
// forgotten, or started before the control plane restarted).
func (s *Service) Get(id int64) (Operation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ops[id]
	if !ok {
		return Operation{}, false
	}
	return e.op, true
}

// ForVendor returns a vendor's newest operation, running or finished.
func (s *Service) ForVendor(vendorID int64) (Operation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byVendor[vendorID]
	if !ok {
		return Operation{}, false
	}
	return s.ops[id].op, true
}

// Running lists the operations in progress, oldest first.
func (s *Service) Running() []Operation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Operation
	for _, e := range s.ops {
		if e.op.Running() {
			out = append(out, e.op)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Wait blocks until operation id ends or ctx is done, and returns its
// snapshot; false if the operation is unknown.
func (s *Service) Wait(ctx context.Context, id int64) (Operation, bool, error) {
	s.mu.Lock()
	e, ok := s.ops[id]
	s.mu.Unlock()
	if !ok {
		return Operation{}, false, nil
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		op, _ := s.Get(id)
		return op, true, ctx.Err()
	}
	op, _ := s.Get(id)
	return op, true, nil
}

// Close cancels the operations still running and waits (up to StopWait)
// for them to clean up: a cancelled restore or move drops its half-made
// copy and leaves the vendor on its current database. Start refuses new
// operations once Close has been called. It is safe to call more than
// once.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.stopWait):
		s.log.Error("background operations did not stop in time", "waited", s.stopWait)
	}
}
