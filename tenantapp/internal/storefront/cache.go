package storefront

// The storefront's cache (issue 8, item 10): the shop's settings and
// theme (read by every page), and its category and brand lists (read by
// every catalog page), kept in Redis under keys that carry the vendor's
// id and schema version (sf:<prefix>:c:<vendor id>:s<schema>:settings),
// with short lives, and for a couple of seconds in the process in front
// of Redis. Every write through the back office or the vendor API drops
// the vendor's entries (Cache.Middleware); writes that do not pass there
// (the control plane's marketplace publishes, migrations) show within the
// entries' lives. Without Redis, or with Redis down, pages read the
// database as before: every Redis call is bounded by the guard's timeout
// and skipped for a moment after a failure (internal/redisguard).

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/redisguard"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Cache keeps the storefront's hot reads. A nil *Cache caches nothing.
type Cache struct {
	guard    *redisguard.Guard
	prefix   string
	ttl      time.Duration // settings, in Redis
	listTTL  time.Duration // categories and brands, in Redis
	localTTL time.Duration // every entry, in the process

	mu    sync.Mutex
	local map[string]localEntry
	// searches are what texts found, in the process, by vendor (the key of
	// its search hash; search_cache.go).
	searches  map[string]*localSearches
	nSearches int // entries in all of searches
}

type localEntry struct {
	val     any
	expires time.Time
}

// CacheOptions tune NewCache; zero values take the defaults.
type CacheOptions struct {
	Guard *redisguard.Guard
	// Prefix starts every key: "sf:<platform prefix>:c:".
	Prefix string
	// TTL is the life of the settings in Redis (default 5 min), ListTTL
	// of the category and brand lists (default 1 min), LocalTTL of any
	// entry in the process (default 2 s; negative: no in-process layer).
	TTL, ListTTL, LocalTTL time.Duration
}

// maxLocal bounds the in-process entries (three per vendor seen lately).
const maxLocal = 30000

// NewCache returns a storefront cache.
func NewCache(o CacheOptions) *Cache {
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.ListTTL <= 0 {
		o.ListTTL = time.Minute
	}
	if o.LocalTTL == 0 {
		o.LocalTTL = 2 * time.Second
	}
	return &Cache{guard: o.Guard, prefix: o.Prefix, ttl: o.TTL, listTTL: o.ListTTL, localTTL: o.LocalTTL,
		local: map[string]localEntry{}, searches: map[string]*localSearches{}}
}

type cacheCtxKey struct{}

// Middleware gives handlers the cache (through the request's context),
// and drops a vendor's entries after every write through its back office
// or vendor API that was not refused (whatever it changed: such writes
// are rare next to page views).
func (c *Cache) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), cacheCtxKey{}, c))
		if safeMethod(r.Method) || !(strings.HasPrefix(r.URL.Path, "/admin/") || strings.HasPrefix(r.URL.Path, "/api/v1/vendor/")) {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status >= 400 { // refused (not signed in, not allowed, invalid): nothing changed
			return
		}
		if t := tenant.FromContext(r.Context()); t != nil {
			ctx := context.WithoutCancel(r.Context())
			c.Invalidate(ctx, t)
			// Once more a moment later: a page that read the old data just
			// before the write may have stored it since.
			time.AfterFunc(time.Second, func() { c.Invalidate(ctx, t) })
		}
	})
}

// statusWriter notes a response's status.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func cacheFrom(ctx context.Context) *Cache {
	c, _ := ctx.Value(cacheCtxKey{}).(*Cache)
	return c
}

// Key is the Redis key of one of a vendor's entries ("settings",
// "categories", "brands"; "search", a hash of what texts found, by text,
// and "searchgen", the generation its entries must carry).
func (c *Cache) Key(t *tenant.Tenant, what string) string {
	return c.prefix + strconv.FormatInt(t.Entry.VendorID, 10) + ":s" + strconv.FormatInt(t.Entry.SchemaVersion, 10) + ":" + what
}

// Invalidate drops a vendor's entries, here and in Redis (other replicas'
// in-process copies live LocalTTL at most), and moves its search
// generation on, so that a search that read the catalog before the write
// and stores its results after it is not believed (search_cache.go).
func (c *Cache) Invalidate(ctx context.Context, t *tenant.Tenant) {
	if c == nil {
		return
	}
	keys := []string{c.Key(t, "settings"), c.Key(t, "categories"), c.Key(t, "brands"), c.Key(t, "search")}
	c.mu.Lock()
	for _, k := range keys[:3] {
		delete(c.local, k)
	}
	c.forgetSearchesLocked(keys[3])
	c.mu.Unlock()
	gen := c.Key(t, "searchgen")
	_ = c.guard.Do(ctx, func(ctx context.Context, rc redis.UniversalClient) error {
		_, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, keys...)
			p.Incr(ctx, gen)
			p.Expire(ctx, gen, searchGenLife)
			return nil
		})
		return err
	})
}

// cacheGet finds an entry, in the process first, then in Redis (kept
// there as JSON); it reports whether it was found. Values are shared:
// callers copy before changing them.
func cacheGet[T any](ctx context.Context, c *Cache, key string) (T, bool) {
	var v T
	if c == nil {
		return v, false
	}
	now := time.Now()
	if c.localTTL > 0 {
		c.mu.Lock()
		e, ok := c.local[key]
		c.mu.Unlock()
		if ok && now.Before(e.expires) {
			v, ok = e.val.(T)
			return v, ok
		}
	}
	var b []byte
	err := c.guard.Do(ctx, func(ctx context.Context, rc redis.UniversalClient) error {
		var err error
		b, err = rc.Get(ctx, key).Bytes()
		return err
	})
	if err != nil || json.Unmarshal(b, &v) != nil {
		return v, false
	}
	c.keepLocal(key, v, now)
	return v, true
}

// put stores an entry here at once and in Redis in the background (the
// page does not wait for it).
func (c *Cache) put(ctx context.Context, key string, v any, ttl time.Duration) {
	if c == nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	c.keepLocal(key, v, time.Now())
	go func() {
		_ = c.guard.Do(context.WithoutCancel(ctx), func(ctx context.Context, rc redis.UniversalClient) error {
			return rc.Set(ctx, key, b, ttl).Err()
		})
	}()
}

func (c *Cache) keepLocal(key string, v any, now time.Time) {
	if c.localTTL <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.local) >= maxLocal {
		for k, e := range c.local {
			if now.After(e.expires) {
				delete(c.local, k)
			}
		}
		if len(c.local) >= maxLocal {
			clear(c.local)
		}
	}
	c.local[key] = localEntry{val: v, expires: now.Add(c.localTTL)}
}

// loadSettings reads the shop's settings through the cache.
func loadSettings(ctx context.Context, t *tenant.Tenant) (Settings, error) {
	c := cacheFrom(ctx)
	if s, ok := cacheGet[Settings](ctx, c, c.key(t, "settings")); ok {
		return s, nil
	}
	s, err := LoadSettings(ctx, t.Pool)
	if err == nil {
		c.put(ctx, c.key(t, "settings"), s, c.ttlOf("settings"))
	}
	return s, err
}

// key is Key for a possibly nil cache.
func (c *Cache) key(t *tenant.Tenant, what string) string {
	if c == nil {
		return ""
	}
	return c.Key(t, what)
}

func (c *Cache) ttlOf(what string) time.Duration {
	if c == nil {
		return 0
	}
	if what == "settings" {
		return c.ttl
	}
	return c.listTTL
}

// afterQueued runs then after the batch's last queued query has been read
// successfully (to store what it read).
func afterQueued(b *pgx.Batch, then func()) {
	qq := b.QueuedQueries[len(b.QueuedQueries)-1]
	inner := qq.Fn
	qq.Fn = func(br pgx.BatchResults) error {
		if inner != nil {
			if err := inner(br); err != nil {
				return err
			}
		}
		then()
		return nil
	}
}

// queueSettingsCached is queueSettings through the cache: a cached copy
// queues nothing.
func queueSettingsCached(ctx context.Context, t *tenant.Tenant, b *pgx.Batch, s *Settings) {
	c := cacheFrom(ctx)
	if cached, ok := cacheGet[Settings](ctx, c, c.key(t, "settings")); ok {
		*s = cached
		return
	}
	queueSettings(b, s)
	if c != nil {
		afterQueued(b, func() { c.put(ctx, c.key(t, "settings"), *s, c.ttl) })
	}
}

// cachedCategory is a category as cached: its URL depends on the host the
// shop is seen on.
type cachedCategory struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// queueCategoriesCached is queueCategories through the cache. The cache
// holds the list without a selected category; a selected category not in
// it (one with no active product) is read from the database.
func queueCategoriesCached(ctx context.Context, t *tenant.Tenant, b *pgx.Batch, selected int64, out *[]Category) {
	c := cacheFrom(ctx)
	if cached, ok := cacheGet[[]cachedCategory](ctx, c, c.key(t, "categories")); ok {
		found := selected == 0
		list := make([]Category, 0, len(cached))
		for _, cc := range cached {
			found = found || cc.ID == selected
			list = append(list, Category{ID: cc.ID, Name: cc.Name, URL: t.Base + "/categories/" + strconv.FormatInt(cc.ID, 10)})
		}
		if found {
			*out = list
			return
		}
	}
	queueCategories(b, t, selected, out)
	if c != nil && selected == 0 {
		afterQueued(b, func() {
			list := make([]cachedCategory, 0, len(*out))
			for _, cat := range *out {
				list = append(list, cachedCategory{ID: cat.ID, Name: cat.Name})
			}
			c.put(ctx, c.key(t, "categories"), list, c.listTTL)
		})
	}
}

// queueBrandsCached is queueBrands through the cache.
func queueBrandsCached(ctx context.Context, t *tenant.Tenant, b *pgx.Batch, out *[]Brand) {
	c := cacheFrom(ctx)
	if names, ok := cacheGet[[]string](ctx, c, c.key(t, "brands")); ok {
		for _, n := range names {
			*out = append(*out, Brand{Name: n})
		}
		return
	}
	queueBrands(b, out)
	if c != nil {
		afterQueued(b, func() {
			names := make([]string, 0, len(*out))
			for _, br := range *out {
				names = append(names, br.Name)
			}
			c.put(ctx, c.key(t, "brands"), names, c.listTTL)
		})
	}
}

// sendBatchIfAny is sendBatch that skips an empty batch (everything came
// from the cache).
func sendBatchIfAny(ctx context.Context, t *tenant.Tenant, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return sendBatch(ctx, t, b)
}
