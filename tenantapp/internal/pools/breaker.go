package pools

// The breaker: a vendor database that hangs (accepts connections, never
// answers) costs each request the request's whole deadline (the tenant
// middleware's Timeout) before its 503. Once a statement, a batch, a
// connection attempt or a wait for a connection of a vendor's pool has
// run out of time, the vendor's requests are refused at once for the
// cooldown (Get returns an UnreachableError: a 503 with Retry-After);
// then one request at a time tries the database again, one per cooldown,
// the others still refused; the first statement that gets an answer
// closes the breaker. A database that refuses connections outright fails
// fast by itself and does not need it.
//
// Only a wait on the database itself trips it: a statement, batch or
// connection attempt that had time left when it started and then spent at
// least minHang of it without an answer. Not a request whose time was
// used up elsewhere (a slow payment provider before its last statement),
// not a wait for a free connection (busy with answered statements, or the
// global cap taken by other vendors), not a request that went away
// (context.Canceled), and not requests marked Patient (uploads, exports:
// long by nature, they get a longer deadline and their running out of it
// says little about the database). Any answer from the server, an error
// included, closes it.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// UnreachableError is Get's answer for a vendor whose database stopped
// answering moments ago.
type UnreachableError struct {
	VendorID   int64
	RetryAfter time.Duration
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("pools: the database of vendor %d stopped answering; not tried again for %s", e.VendorID, e.RetryAfter.Round(time.Second))
}

type patientKey struct{}

// Patient marks a request's context as one whose statements may run long:
// their timeouts do not trip the vendor's breaker.
func Patient(ctx context.Context) context.Context { return context.WithValue(ctx, patientKey{}, true) }

// minHang is the least time a statement or dial must have waited for
// the database to count as the database not answering.
const minHang = 500 * time.Millisecond

// errNoSlot marks a dial that gave up waiting for a free connection slot
// (acquireSlot): other vendors' connections, not this database.
var errNoSlot = errors.New("no free connection slot")

type waitKey struct{}

// startWait notes when a statement or dial started, if it had time left.
func startWait(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx
	}
	return context.WithValue(ctx, waitKey{}, time.Now())
}

// admit lets a request use a vendor's pool unless its breaker is open;
// once the cooldown is over it lets one request through (and keeps the
// others out for another cooldown) to try the database.
func (m *Manager) admit(vp *vendorPool) error {
	until := vp.openUntil.Load()
	if until == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	if now >= until && vp.openUntil.CompareAndSwap(until, now+int64(m.o.Cooldown)) {
		m.log.Info("trying a vendor database that stopped answering", "vendor", vp.vendorID)
		return nil
	}
	left := time.Duration(vp.openUntil.Load() - now) // another request may be trying it now
	return &UnreachableError{VendorID: vp.vendorID, RetryAfter: max(left, time.Second)}
}

// outcome notes how a statement, batch or connection attempt of a
// vendor's pool ended: a wait on the database that ran out of time opens
// the breaker, an answer closes it.
func (m *Manager) outcome(ctx context.Context, vp *vendorPool, err error) {
	switch {
	case err == nil || answered(err):
		if vp.openUntil.Load() != 0 && vp.openUntil.Swap(0) != 0 { // a load first: most find it closed
			m.log.Info("a vendor database answers again", "vendor", vp.vendorID)
		}
	case !hung(ctx, err):
	default:
		if vp.openUntil.Swap(time.Now().Add(m.o.Cooldown).UnixNano()) == 0 {
			m.breakerTrips.Add(1)
			m.log.Warn("a vendor database stopped answering: its requests are refused for a while", "vendor", vp.vendorID,
				"cooldown", m.o.Cooldown, "err", err)
		}
	}
}

// answered reports whether err is the server's own answer (a refused
// statement is an answer: the database is there).
func answered(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}

// hung reports whether err is a wait on the database that ran out of
// time: one that started with time left and waited at least minHang,
// rather than a request that went away, a wait for a connection slot, or
// a request whose time was spent elsewhere, or a patient request.
func hung(ctx context.Context, err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, errNoSlot) || ctx.Value(patientKey{}) != nil {
		return false
	}
	if !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
		return false
	}
	start, ok := ctx.Value(waitKey{}).(time.Time)
	return ok && time.Since(start) >= minHang
}
