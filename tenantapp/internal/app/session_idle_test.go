package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/redisstore"
)

// A session is stored hashed (Redis holds no usable token), and one left
// idle for two hours is anonymous, although its absolute lifetime is 12.
func TestIdleSessionEnds(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	v, b := signedInOwner(t, s, "idle", "Idle Shop")
	if code, _, _ := b.do("GET", "/admin/", nil); code != 200 {
		t.Fatalf("signed in: %d", code)
	}
	opt, err := redis.ParseURL(s.e.Cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	sum := sha256.Sum256([]byte(b.cookie))
	key := fmt.Sprintf("sf:%s:t:%d:%s", s.e.Cfg.Prefix, v.ID, base64.RawURLEncoding.EncodeToString(sum[:]))
	if n, _ := rdb.Exists(ctx, "sf:"+s.e.Cfg.Prefix+":t:"+fmt.Sprint(v.ID)+":"+b.cookie).Result(); n != 0 {
		t.Fatal("the session is stored under its token")
	}
	raw, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatalf("the session is not under its hashed token: %v", err)
	}
	if strings.Contains(string(raw), "password") {
		t.Error("the session holds a password")
	}
	deadline, values, err := redisstore.Codec{}.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(deadline) < 11*time.Hour {
		t.Errorf("the session ends at %s", deadline)
	}
	// Last seen two hours and a minute ago.
	values["seen"] = time.Now().Add(-2*time.Hour - time.Minute).UnixNano()
	enc, err := redisstore.Codec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, key, enc, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if code, _, h := b.do("GET", "/admin/", nil); code != 303 || !strings.HasSuffix(h.Get("Location"), "/admin/login") {
		t.Fatalf("an idle session: %d %s", code, h.Get("Location"))
	}
	if n, _ := rdb.Exists(ctx, key).Result(); n != 0 {
		t.Error("the idle session was not removed")
	}
}
