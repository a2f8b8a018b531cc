package app

// Issue 8, item 10: the storefront's Redis cache and the rate limits,
// both of which work around a Redis that is down (see
// internal/redisguard, storefront/cache.go and internal/ratelimit).

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/internal/redisguard"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// redisExtras are the parts of the tenant app that use Redis when it is
// there and go on without it when it is not.
type redisExtras struct {
	guard   *redisguard.Guard
	cache   *storefront.Cache
	limiter *ratelimit.Limiter
	limits  map[string]ratelimit.Limit
}

// tuneRedis gives the Redis client short timeouts: a Redis that hangs
// holds a page up for a fraction of a second, not for go-redis's default
// seconds. Sessions use the same client.
func tuneRedis(opt *redis.Options) {
	opt.DialTimeout = time.Second
	opt.ReadTimeout = 500 * time.Millisecond
	opt.WriteTimeout = 500 * time.Millisecond
	opt.PoolTimeout = time.Second
	opt.MaxRetries = 1
}

// setupRedisExtras builds the cache and the limiter from the configuration.
func (a *App) setupRedisExtras() error {
	limits, err := ratelimit.ParseLimits(a.cfg.RateLimits)
	if err != nil {
		return fmt.Errorf("STOREFLEET_RATE_LIMITS: %w", err)
	}
	g := redisguard.New(a.redisClient(), redisguard.Options{Name: "tenant app cache and rate limits", Logger: a.log})
	a.extras = &redisExtras{
		guard:   g,
		cache:   storefront.NewCache(storefront.CacheOptions{Guard: g, Prefix: "sf:" + a.cfg.Prefix + ":c:"}),
		limiter: ratelimit.New(g, "sf:"+a.cfg.Prefix+":rl:"),
		limits:  limits,
	}
	return nil
}

// middlewares are the shop router's rate limits, then the cache.
func (a *App) redisMiddlewares(rs *web.Responder) []mux.MiddlewareFunc {
	lm := &ratelimit.Middleware{Limiter: a.extras.limiter, Limits: a.extras.limits, Classify: shopClasses,
		Vendor: func(r *http.Request) (int64, bool) {
			t := tenant.FromContext(r.Context())
			if t == nil {
				return 0, false
			}
			return t.Entry.VendorID, true
		},
		TrustedProxies: a.cfg.TrustedProxies, Responder: rs}
	return []mux.MiddlewareFunc{lm.Wrap, a.extras.cache.Middleware}
}

// shopClasses puts a shop request (its path seen from the shop's root) in
// the rate-limit classes it counts against.
func shopClasses(r *http.Request) []string {
	p := r.URL.Path
	var out []string
	post := r.Method == http.MethodPost
	switch {
	case post && (p == "/admin/login" || p == "/account/login" || p == "/api/v1/shop/account/login" ||
		p == "/account/register" || p == "/api/v1/shop/account/register" ||
		strings.HasSuffix(p, "/password/forgot") || strings.Contains(p, "/password/reset/")):
		out = append(out, ratelimit.ClassLogin)
	case post && (p == "/checkout" || p == "/api/v1/shop/checkout" ||
		strings.HasPrefix(p, "/orders/") && strings.HasSuffix(p, "/pay") ||
		strings.HasPrefix(p, "/api/v1/shop/orders/") && strings.HasSuffix(p, "/pay")):
		out = append(out, ratelimit.ClassCheckout)
	case p == "/search" || p == "/search/suggest" || p == "/api/v1/shop/search" || p == "/api/v1/shop/suggest":
		out = append(out, ratelimit.ClassSearch)
	}
	if strings.HasPrefix(p, "/api/v1/shop/") || strings.HasPrefix(p, "/api/v1/vendor/") {
		out = append(out, ratelimit.ClassAPI)
	}
	return out
}
