// Package faults puts Toxiproxy (github.com/Shopify/toxiproxy/v2, run in
// the test's own process, no daemon) between the code under test and a
// real service (PostgreSQL, Redis, MinIO of the test services), so a test
// can add latency, take the service down, black-hole it, or cut its
// connections in the middle of a conversation, and then restore it. See
// docs/faults.md.
//
//	px := faults.Start(t).Proxy(t, "vendor-db", "127.0.0.1:25432")
//	// point the code under test at px.Addr, then:
//	px.Latency(200*time.Millisecond, 0) // every packet, both ways
//	px.Down()                           // connections refused, open ones closed
//	px.Restore()                        // no toxics, accepting again
//
// Toxics apply to the connections open when they are added as well as to
// new ones. Down closes every open connection and stops listening on the
// proxy's port (a connect is refused at once); Blackhole keeps accepting
// but drops every byte, like a server that hangs or a network that lost
// its route (a connect then waits for the client's own timeout).
package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
)

// Server is an in-process Toxiproxy.
type Server struct {
	api *toxiproxy.ApiServer
}

// Start starts an in-process Toxiproxy; its proxies are closed when the
// test ends. It serves no HTTP API: tests drive it through Proxy.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{api: toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())}
	t.Cleanup(func() { _ = s.api.Collection.Clear() })
	return s
}

// Proxy is one proxy in front of one upstream address.
type Proxy struct {
	t        testing.TB
	p        *toxiproxy.Proxy
	upstream string
	// Addr is the address to give the code under test instead of the
	// upstream's, "127.0.0.1:<port>"; it stays the same across Down and Up.
	Addr string
	Host string
	Port int

	mu   sync.Mutex
	seq  int
	down bool
}

// Proxy starts a proxy named name (unique within the Server) on a free
// loopback port, in front of upstream ("host:port").
func (s *Server) Proxy(t testing.TB, name, upstream string) *Proxy {
	t.Helper()
	p := toxiproxy.NewProxy(s.api, name, "127.0.0.1:0", upstream)
	if err := s.api.Collection.Add(p, true); err != nil {
		t.Fatalf("faults: start proxy %s to %s: %v", name, upstream, err)
	}
	host, port, err := net.SplitHostPort(p.Listen)
	if err != nil {
		t.Fatalf("faults: proxy %s listens on %q: %v", name, p.Listen, err)
	}
	n, _ := strconv.Atoi(port)
	return &Proxy{t: t, p: p, upstream: upstream, Addr: p.Listen, Host: host, Port: n}
}

// Upstream is the address the proxy forwards to.
func (p *Proxy) Upstream() string { return p.upstream }

// Stream says which way a toxic acts: Downstream is what the service
// sends to the client, Upstream what the client sends to the service.
type Stream string

// The two directions of a proxied connection.
const (
	Downstream Stream = "downstream"
	Upstream   Stream = "upstream"
)

func (p *Proxy) add(typ string, dir Stream, attrs any) string {
	p.t.Helper()
	p.mu.Lock()
	p.seq++
	name := fmt.Sprintf("%s_%s_%d", typ, dir, p.seq)
	p.mu.Unlock()
	body, err := json.Marshal(map[string]any{"name": name, "type": typ, "stream": string(dir), "toxicity": 1.0, "attributes": attrs})
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.p.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
		p.t.Fatalf("faults: add %s toxic to %s: %v", typ, p.p.Name, err)
	}
	return name
}

// Latency delays every chunk of data by d (± jitter) in both directions,
// so one round trip costs about 2·d more. It returns the toxics' names.
func (p *Proxy) Latency(d, jitter time.Duration) []string {
	p.t.Helper()
	a := map[string]any{"latency": d.Milliseconds(), "jitter": jitter.Milliseconds()}
	return []string{p.add("latency", Downstream, a), p.add("latency", Upstream, a)}
}

// LatencyOneWay delays one direction only (a round trip costs d more).
func (p *Proxy) LatencyOneWay(dir Stream, d time.Duration) string {
	p.t.Helper()
	return p.add("latency", dir, map[string]any{"latency": d.Milliseconds()})
}

// ResetPeer resets every connection (TCP RST where the link started after
// the toxic, a plain close otherwise) once data arrives on it, after the
// delay, and every new one as soon as it sends.
func (p *Proxy) ResetPeer(after time.Duration) string {
	p.t.Helper()
	return p.add("reset_peer", Upstream, map[string]any{"timeout": after.Milliseconds()})
}

// LimitData closes each connection after n more bytes in one direction
// (counted per connection from the moment the toxic is added).
func (p *Proxy) LimitData(dir Stream, n int64) string {
	p.t.Helper()
	return p.add("limit_data", dir, map[string]any{"bytes": n})
}

// Timeout stops all data in both directions and closes connections after
// d; with d = 0 they are never closed (see Blackhole).
func (p *Proxy) Timeout(d time.Duration) []string {
	p.t.Helper()
	a := map[string]any{"timeout": d.Milliseconds()}
	return []string{p.add("timeout", Upstream, a), p.add("timeout", Downstream, a)}
}

// Blackhole accepts connections but lets no byte through either way and
// never closes them: a server that hangs.
func (p *Proxy) Blackhole() []string { p.t.Helper(); return p.Timeout(0) }

// CutOnMatch passes data from the client to the service until it has seen
// match (for instance a statement's text), forwards the chunk that holds
// it (when forward is true) and then closes both ends of that connection:
// the service has received the request but the client never gets the
// answer, nor sends anything after it. With PostgreSQL and match a
// statement inside a transaction, the connection dies in the middle of
// that transaction. Only connections that send match are cut. The
// returned Cut reports how many were.
func (p *Proxy) CutOnMatch(match string, forward bool) *Cut {
	p.t.Helper()
	c := &Cut{id: cutSeq.Add(1)}
	cuts.Store(c.id, c)
	p.add("sf_cut_on_match", Upstream, map[string]any{"match": match, "forward": forward, "cut": c.id})
	return c
}

// Cut counts the connections a CutOnMatch toxic closed.
type Cut struct {
	id int64
	n  atomic.Int64
}

// Count is how many connections were cut so far.
func (c *Cut) Count() int64 { return c.n.Load() }

// Remove takes one toxic off by name, leaving the others.
func (p *Proxy) Remove(name string) {
	p.t.Helper()
	if err := p.p.Toxics.RemoveToxic(context.Background(), name); err != nil {
		p.t.Fatalf("faults: remove toxic %s from %s: %v", name, p.p.Name, err)
	}
}

// Down stops the proxy: open connections are closed and new ones refused
// (the port stops listening), as when the service is stopped.
func (p *Proxy) Down() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.Stop()
	p.down = true
}

// Up starts a stopped proxy again on the same address.
func (p *Proxy) Up() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.down {
		return
	}
	// The port was ours a moment ago; another process may take it in
	// between only by chance, so a few tries are enough.
	var err error
	for i := 0; i < 50; i++ {
		p.p.Listen = p.Addr
		if err = p.p.Start(); err == nil {
			p.down = false
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("faults: start proxy %s again on %s: %v", p.p.Name, p.Addr, err)
}

// Restore removes every toxic and starts the proxy if it was down.
func (p *Proxy) Restore() {
	p.t.Helper()
	p.p.Toxics.ResetToxics(context.Background())
	p.Up()
}

// Reset closes every open connection through the proxy and keeps
// accepting new ones (a restart of the network path, not of the service).
func (p *Proxy) Reset() {
	p.t.Helper()
	p.Down()
	p.Up()
}

var (
	cutSeq atomic.Int64
	cuts   sync.Map // id -> *Cut
)

// cutOnMatch is the toxic behind CutOnMatch.
type cutOnMatch struct {
	Match   string `json:"match"`
	Forward bool   `json:"forward"`
	Cut     int64  `json:"cut"`
}

type cutState struct{ tail []byte }

func (t *cutOnMatch) NewState() any { return new(cutState) }

func (t *cutOnMatch) Pipe(stub *toxics.ToxicStub) {
	st, _ := stub.State.(*cutState)
	if st == nil {
		st = new(cutState)
	}
	m := []byte(t.Match)
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			// A match may straddle two chunks: keep the last len(m)-1 bytes.
			window := append(append([]byte(nil), st.tail...), c.Data...)
			if len(m) > 0 && bytes.Contains(window, m) {
				if t.Forward {
					stub.Output <- c
				}
				if v, ok := cuts.Load(t.Cut); ok {
					v.(*Cut).n.Add(1)
				}
				stub.Close() // after the chunk: the writer sends it, then closes
				return
			}
			if k := len(m) - 1; k > 0 {
				if len(window) > k {
					window = window[len(window)-k:]
				}
				st.tail = window
			}
			stub.Output <- &stream.StreamChunk{Data: c.Data, Timestamp: c.Timestamp}
		}
	}
}

func init() {
	toxics.Register("sf_cut_on_match", new(cutOnMatch))
}
