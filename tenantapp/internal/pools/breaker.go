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
// Only timeouts trip it, not other errors; not a request that went away
// (context.Canceled); and not requests marked Patient (uploads, exports:
// long by nature, they get a longer deadline and their running out of it
// says little about the database).

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

// admit lets a request use a vendor's pool unless its breaker is open;
// once the cooldown is over it lets one request through (and keeps the
// others out for another cooldown) to try the database.
func (m *Manager) admit(vp *vendorPool) error {
	until := vp.openUntil.Load()
	if until == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	if now < until || !vp.openUntil.CompareAndSwap(until, now+int64(m.o.Cooldown)) {
		return &UnreachableError{VendorID: vp.vendorID, RetryAfter: time.Duration(max(until-now, int64(time.Second)))}
	}
	m.log.Info("trying a vendor database that stopped answering", "vendor", vp.vendorID)
	return nil
}

// outcome notes how a statement (or batch, connection, acquire) of a
// vendor's pool ended: a timeout opens the breaker, an answer closes it.
func (m *Manager) outcome(ctx context.Context, vp *vendorPool, err error) {
	switch {
	case err == nil || !timedOut(err):
		if err == nil && vp.openUntil.Load() != 0 && vp.openUntil.Swap(0) != 0 { // a load first: most queries find it closed
			m.log.Info("a vendor database answers again", "vendor", vp.vendorID)
		}
	case ctx.Value(patientKey{}) != nil:
	default:
		if vp.openUntil.Swap(time.Now().Add(m.o.Cooldown).UnixNano()) == 0 {
			m.breakerTrips.Add(1)
			m.log.Warn("a vendor database stopped answering: its requests are refused for a while", "vendor", vp.vendorID,
				"cooldown", m.o.Cooldown, "err", err)
		}
	}
}

// timedOut reports whether err is a statement or connection that ran out
// of time, rather than a request that went away or a wrong statement.
func timedOut(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)
}
