package stripehook

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/database"
)

// vendorPools keeps a few small pools to vendor databases, each connected
// as the vendor's own role, so that a burst of events for one shop does
// not dial its database for every event. It holds at most max pools (the
// least recently used idle one is closed to make room), closes a pool idle
// for longer than idle, and replaces a pool whose database moved (another
// URL for the same vendor).
type vendorPools struct {
	max     int
	idle    time.Duration
	conns   int32
	mu      sync.Mutex
	pools   map[int64]*poolEntry
	stop    chan struct{}
	stopped chan struct{}
}

type poolEntry struct {
	url   string
	pool  *pgxpool.Pool
	err   error
	ready chan struct{} // closed once pool or err is set
	refs  int
	used  time.Time
	stale bool // replaced or evicted: closed when the last user lets go
}

func newVendorPools(max int, idle time.Duration, conns int32) *vendorPools {
	p := &vendorPools{max: max, idle: idle, conns: conns, pools: map[int64]*poolEntry{},
		stop: make(chan struct{}), stopped: make(chan struct{})}
	go p.sweep()
	return p
}

// get returns a pool to the vendor's database at url, and the function to
// call when done with it.
func (p *vendorPools) get(ctx context.Context, vendorID int64, url string) (*pgxpool.Pool, func(), error) {
	p.mu.Lock()
	e := p.pools[vendorID]
	if e != nil && e.url != url {
		p.detach(vendorID, e) // the vendor's database moved
		e = nil
	}
	opener := false
	if e == nil {
		p.makeRoom()
		e = &poolEntry{url: url, ready: make(chan struct{})}
		p.pools[vendorID] = e
		opener = true
	}
	e.refs++
	p.mu.Unlock()
	release := func() { p.release(vendorID, e) }

	if opener {
		pool, err := database.Open(context.WithoutCancel(ctx), url, func(c *pgxpool.Config) {
			c.MaxConns = p.conns
			c.MaxConnIdleTime = p.idle
		})
		p.mu.Lock()
		e.pool, e.err = pool, err
		if err != nil && p.pools[vendorID] == e {
			delete(p.pools, vendorID) // the next event tries again
		}
		p.mu.Unlock()
		close(e.ready)
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		release()
		return nil, nil, ctx.Err()
	}
	if e.err != nil {
		release()
		return nil, nil, e.err
	}
	return e.pool, release, nil
}

func (p *vendorPools) release(vendorID int64, e *poolEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.refs--
	e.used = time.Now()
	if e.refs == 0 && (e.stale || e.err != nil) {
		p.closeEntry(e)
	}
}

// detach takes an entry out of the map; it is closed now if nobody uses
// it, or by its last user. Called with mu held.
func (p *vendorPools) detach(vendorID int64, e *poolEntry) {
	delete(p.pools, vendorID)
	e.stale = true
	if e.refs == 0 {
		p.closeEntry(e)
	}
}

// closeEntry closes an entry's pool once it is open. Called with mu held.
func (p *vendorPools) closeEntry(e *poolEntry) {
	select {
	case <-e.ready:
		if e.pool != nil {
			go e.pool.Close() // Close waits for connections in use; none are
			e.pool = nil
		}
	default: // still opening: its opener holds a reference and closes it on release
	}
}

// makeRoom closes the least recently used idle pool when the cache is
// full. When every pool is in use the cache grows past max for a while.
// Called with mu held.
func (p *vendorPools) makeRoom() {
	if len(p.pools) < p.max {
		return
	}
	var oldest int64
	var oe *poolEntry
	for id, e := range p.pools {
		if e.refs == 0 && (oe == nil || e.used.Before(oe.used)) {
			oldest, oe = id, e
		}
	}
	if oe != nil {
		p.detach(oldest, oe)
	}
}

// sweep closes pools that have been idle for longer than idle.
func (p *vendorPools) sweep() {
	defer close(p.stopped)
	every := max(p.idle/4, time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.mu.Lock()
		for id, e := range p.pools {
			if e.refs == 0 && time.Since(e.used) > p.idle {
				p.detach(id, e)
			}
		}
		p.mu.Unlock()
	}
}

// open is how many pools are kept (tests).
func (p *vendorPools) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pools)
}

// close stops the sweeper and closes every pool; it waits for none of
// the events in flight, which the HTTP server has finished by then.
func (p *vendorPools) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	<-p.stopped
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, e := range p.pools {
		delete(p.pools, id)
		e.stale = true
		select {
		case <-e.ready:
			if e.pool != nil {
				e.pool.Close()
				e.pool = nil
			}
		default:
		}
	}
}
