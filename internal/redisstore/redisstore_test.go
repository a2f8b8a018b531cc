package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/redisstore"
	"github.com/storefleet/storefleet/internal/testenv"
)

var _ scs.CtxStore = (*redisstore.Store)(nil)

func TestStore(t *testing.T) {
	opts, err := redis.ParseURL(testenv.Vars(t)["STOREFLEET_REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v; start the test services with `make test-services`", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "sf:test:" + hex.EncodeToString(b) + ":"
	s := redisstore.New(client, prefix)

	if _, found, err := s.FindCtx(ctx, "nope"); found || err != nil {
		t.Fatalf("Find of a missing token = %v, %v; want not found, no error", found, err)
	}
	if err := s.CommitCtx(ctx, "tok", []byte("data"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.FindCtx(ctx, "tok")
	if err != nil || !found || string(got) != "data" {
		t.Fatalf("Find = %q, %v, %v; want data", got, found, err)
	}
	ttl, err := client.TTL(ctx, prefix+"tok").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("key %stok has TTL %v (%v); want up to a minute", prefix, ttl, err)
	}
	if err := s.CommitCtx(ctx, "tok", []byte("data"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.FindCtx(ctx, "tok"); found {
		t.Error("a session committed with a past expiry is still found")
	}
	if err := s.Commit("tok2", []byte("x"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("tok2"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Find("tok2"); found {
		t.Error("a deleted session is still found")
	}
	if err := s.Delete("never-there"); err != nil {
		t.Errorf("Delete of a missing token: %v", err)
	}
}

type tenantKey struct{}

func TestScopedStoreKeepsTenantsApart(t *testing.T) {
	opts, err := redis.ParseURL(testenv.Vars(t)["STOREFLEET_REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	prefix := fmt.Sprintf("sf:test:%d:", time.Now().UnixNano())
	s := redisstore.NewScoped(client, prefix, func(ctx context.Context) (string, bool) {
		v, ok := ctx.Value(tenantKey{}).(string)
		return v, ok
	})
	a := context.WithValue(context.Background(), tenantKey{}, "1")
	b := context.WithValue(context.Background(), tenantKey{}, "2")
	if err := s.CommitCtx(a, "tok", []byte("alice"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.FindCtx(a, "tok"); err != nil || !ok || string(got) != "alice" {
		t.Fatalf("own tenant: %q %v %v", got, ok, err)
	}
	if _, ok, err := s.FindCtx(b, "tok"); err != nil || ok {
		t.Fatalf("the token was found under another tenant (ok=%v, err=%v)", ok, err)
	}
	if _, _, err := s.FindCtx(context.Background(), "tok"); err != redisstore.ErrNoScope {
		t.Fatalf("without a tenant: %v", err)
	}
	if n, _ := client.Exists(context.Background(), prefix+"1:tok").Result(); n != 1 {
		t.Errorf("the key does not carry the tenant id")
	}
	client.Del(context.Background(), prefix+"1:tok")
}

func TestCodecRoundTrip(t *testing.T) {
	deadline := time.Date(2026, 11, 29, 12, 0, 0, 123, time.UTC)
	in := map[string]any{"staff_id": int64(42), "created": int64(1764417600000000000), "csrf": "tok", "flash": "", "ok": true}
	b, err := redisstore.Codec{}.Encode(deadline, in)
	if err != nil {
		t.Fatal(err)
	}
	d, out, err := redisstore.Codec{}.Decode(b)
	if err != nil || !d.Equal(deadline) || !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip: %v %v %v", d, out, err)
	}
	if _, err := (redisstore.Codec{}).Encode(deadline, map[string]any{"n": 1}); err == nil {
		t.Error("an int (not int64) was encoded")
	}
	// An old gob session (or garbage) reads as empty and expired.
	if d, v, err := (redisstore.Codec{}).Decode([]byte("\x0d\xff")); err != nil || len(v) != 0 || d.After(time.Now()) {
		t.Errorf("garbage decoded as %v %v %v", d, v, err)
	}
}
