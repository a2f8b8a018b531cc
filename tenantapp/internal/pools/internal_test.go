package pools

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func TestDSNValueRoundTrip(t *testing.T) {
	for _, pw := range []string{"plain", "with space", `back\slash`, "quo'te", `'\'`, "a=b c='d'", "", "ünïcode"} {
		cfg, err := pgxpool.ParseConfig("host=" + dsnValue("/var/run/postgresql") + " port=5432 user=" + dsnValue("r") +
			" password=" + dsnValue(pw) + " dbname=" + dsnValue("d b"))
		if err != nil {
			t.Fatalf("password %q: %v", pw, err)
		}
		if cfg.ConnConfig.Password != pw || cfg.ConnConfig.Database != "d b" || cfg.ConnConfig.Host != "/var/run/postgresql" {
			t.Fatalf("password %q came back as %q (db %q, host %q)", pw, cfg.ConnConfig.Password, cfg.ConnConfig.Database, cfg.ConnConfig.Host)
		}
	}
}

// The slot of a connection is given back once, however often it is
// closed, and only after the server has closed its end.
func TestSlotConnReleasesOnceAfterServerCloses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const serverLinger = 150 * time.Millisecond
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c) // until the client half-closes
		time.Sleep(serverLinger)      // a backend taking its time to exit
		_ = c.Close()
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var releases atomic.Int32
	var releasedAt atomic.Int64
	conn := &slotConn{Conn: raw, release: func() {
		releases.Add(1)
		releasedAt.Store(time.Now().UnixNano())
	}}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = conn.Close()
		}()
	}
	wg.Wait()
	_ = conn.Close()
	if n := releases.Load(); n != 1 {
		t.Fatalf("slot released %d times", n)
	}
	if held := time.Duration(releasedAt.Load() - start.UnixNano()); held < serverLinger {
		t.Fatalf("slot released after %s, before the server closed its end (%s)", held, serverLinger)
	}
}

func TestSlotConnWithoutHalfClose(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	var releases atomic.Int32
	conn := &slotConn{Conn: a, release: func() { releases.Add(1) }}
	_ = conn.Close()
	_ = conn.Close()
	if n := releases.Load(); n != 1 {
		t.Fatalf("slot released %d times", n)
	}
}

func TestSignalWakesEveryWaiter(t *testing.T) {
	var s signal
	w1, w2 := s.wait(), s.wait()
	s.broadcast()
	for _, w := range []<-chan struct{}{w1, w2} {
		select {
		case <-w:
		case <-time.After(time.Second):
			t.Fatal("waiter not woken")
		}
	}
	w3 := s.wait()
	select {
	case <-w3:
		t.Fatal("a new waiter was woken by an old broadcast")
	default:
	}
}
