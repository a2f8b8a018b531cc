package stripehook

import (
	"context"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/testenv"
)

// TestVendorPoolsAreBoundedAndClosedWhenIdle checks the cache of vendor
// pools: at most max open, the least recently used idle one closed to make
// room, one in use never closed, a moved database reconnected, and idle
// pools closed by the sweeper.
func TestVendorPoolsAreBoundedAndClosedWhenIdle(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	ctx := context.Background()
	var urls []string
	for range 3 {
		v, _ := e.TenantDB(t)
		u, err := e.Prov.VendorDatabaseURL(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, u)
	}
	p := newVendorPools(2, time.Second, 2)
	defer p.close()

	pa, releaseA, err := p.get(ctx, 1, urls[0])
	if err != nil {
		t.Fatal(err)
	}
	pa2, releaseA2, err := p.get(ctx, 1, urls[0])
	if err != nil || pa2 != pa {
		t.Fatalf("a second user of vendor 1 got another pool (%v)", err)
	}
	releaseA2()
	_, releaseB, err := p.get(ctx, 2, urls[1])
	if err != nil {
		t.Fatal(err)
	}
	releaseB() // vendor 2 idle, vendor 1 in use
	_, releaseC, err := p.get(ctx, 3, urls[2])
	if err != nil {
		t.Fatal(err)
	}
	if n := p.open(); n != 2 {
		t.Errorf("%d pools open, want 2", n)
	}
	if err := pa.Ping(ctx); err != nil {
		t.Errorf("the pool in use was closed: %v", err)
	}
	releaseA()
	releaseC()

	// Vendor 1's database moved: another URL, another pool.
	pm, releaseM, err := p.get(ctx, 1, urls[2])
	if err != nil || pm == pa {
		t.Fatalf("moved database: same pool %v (%v)", pm == pa, err)
	}
	releaseM()

	deadline := time.Now().Add(10 * time.Second)
	for p.open() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := p.open(); n != 0 {
		t.Errorf("%d idle pools still open after the idle time", n)
	}
	if _, _, err := p.get(ctx, 4, "postgres://nobody:wrong@127.0.0.1:1/none?connect_timeout=1"); err == nil {
		t.Error("an unreachable database gave a pool")
	}
	if n := p.open(); n != 0 {
		t.Errorf("a failed connection stays in the cache (%d open)", n)
	}
}
