package storefront

// The search cache: what a text found (searchHits: ids, never prices or
// stock) kept per vendor and text, in a Redis hash
// (sf:<prefix>:c:<vendor id>:s<schema>:search, one field per text) and
// for LocalTTL in the process.
//
// An entry is believed for the list life (a minute) from when its search
// read the catalog, and only while the vendor's generation is the one it
// was made under. Invalidate (every write through the back office or the
// vendor API) moves the generation on, in Redis (searchgen, INCR) and in
// the process; a search reads the generation before it reads the catalog
// and tags what it found with it, so a search that started before a write
// and finishes after it stores an entry nobody believes, however slow it
// was. Writes that do not pass through Invalidate (a marketplace publish)
// show within the list life.

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

const (
	// maxSearches bounds the texts a vendor's search hash keeps (about
	// 1.5 KB each): past it, the hash is dropped and starts again. 200
	// vendors at the bound hold about 60 MB.
	maxSearches = 200
	// maxLocalSearches bounds the texts kept in the process, for all
	// vendors together; past it they are all dropped (the settings and
	// lists, kept apart, stay).
	maxLocalSearches = 20000
	// searchGenLife is how long a vendor's generation outlives its last
	// change; an entry lives a minute, so any life longer than that will
	// do.
	searchGenLife = 24 * time.Hour
)

// localSearches are a vendor's texts in the process, and its generation
// here (moved on by Invalidate).
type localSearches struct {
	gen  uint64
	hits map[string]localHits
}

type localHits struct {
	hits    searchHits
	expires time.Time
}

// searchTicket is what a search that missed the cache must present to
// keep what it found: where, and the generations it started under.
type searchTicket struct {
	key, field string
	local      uint64    // the vendor's generation in the process
	gen        string    // and in Redis ("" if Redis did not answer: keep it here only)
	start      time.Time // when the search read the generations, before the catalog
}

// searchField is how the cache knows a search text: in lower case, with
// its spaces collapsed (websearch_to_tsquery reads both alike).
func searchField(q string) string {
	return strings.ToLower(strings.Join(strings.Fields(q), " "))
}

// searchHits finds what a text found lately, in the process first, then
// in Redis; on a miss it returns the ticket to keep what the search will
// find.
func (c *Cache) searchHits(ctx context.Context, t *tenant.Tenant, q string) (searchHits, bool, searchTicket) {
	if c == nil {
		return searchHits{}, false, searchTicket{}
	}
	tk := searchTicket{key: c.Key(t, "search"), field: searchField(q), start: time.Now()}
	c.mu.Lock()
	if ls := c.searches[tk.key]; ls != nil {
		tk.local = ls.gen
		if e, ok := ls.hits[tk.field]; ok && tk.start.Before(e.expires) {
			c.mu.Unlock()
			return e.hits, true, tk
		}
	}
	c.mu.Unlock()

	var entry, gen *redis.StringCmd
	err := c.guard.Do(ctx, func(ctx context.Context, rc redis.UniversalClient) error {
		_, err := rc.Pipelined(ctx, func(p redis.Pipeliner) error {
			entry = p.HGet(ctx, tk.key, tk.field)
			gen = p.Get(ctx, c.Key(t, "searchgen"))
			return nil
		})
		if errors.Is(err, redis.Nil) { // no entry, or no generation yet: both are answers
			err = nil
		}
		return err
	})
	if err != nil {
		return searchHits{}, false, tk
	}
	tk.gen = gen.Val()
	if tk.gen == "" {
		tk.gen = "0"
	}
	var h searchHits
	b, err := entry.Bytes()
	if err != nil || json.Unmarshal(b, &h) != nil || h.Gen != tk.gen || tk.start.Sub(time.Unix(h.At, 0)) > c.listTTL {
		return searchHits{}, false, tk
	}
	c.keepSearchLocal(tk, h)
	return h, true, tk
}

// keepSearchHits keeps what a search found, tagged with the generation and
// the time it started under: here at once, in Redis in the background.
func (c *Cache) keepSearchHits(ctx context.Context, tk searchTicket, h searchHits) {
	if c == nil {
		return
	}
	h.At, h.Gen = tk.start.Unix(), tk.gen
	c.keepSearchLocal(tk, h)
	if tk.gen == "" {
		return
	}
	b, err := json.Marshal(h)
	if err != nil {
		return
	}
	go func() {
		_ = c.guard.Do(context.WithoutCancel(ctx), func(ctx context.Context, rc redis.UniversalClient) error {
			var n *redis.IntCmd
			_, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.HSet(ctx, tk.key, tk.field, b)
				// The hash goes a list life after its last new text; an
				// entry's own age is checked on reading.
				p.Expire(ctx, tk.key, c.listTTL)
				n = p.HLen(ctx, tk.key)
				return nil
			})
			if err == nil && n.Val() > maxSearches {
				err = rc.Del(ctx, tk.key).Err()
			}
			return err
		})
	}()
}

// keepSearchLocal keeps an entry in the process, unless the vendor's
// generation here moved on since the ticket was made.
func (c *Cache) keepSearchLocal(tk searchTicket, h searchHits) {
	if c.localTTL <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ls := c.searches[tk.key]
	if ls == nil {
		if tk.local != 0 {
			return // forgotten with all the others since: its generation is unknown
		}
		ls = &localSearches{}
		c.searches[tk.key] = ls
	}
	if ls.gen != tk.local {
		return
	}
	if c.nSearches >= maxLocalSearches {
		for _, o := range c.searches {
			o.hits = nil // generations stay: in-flight searches' tickets still compare
		}
		c.nSearches = 0
	}
	if ls.hits == nil {
		ls.hits = map[string]localHits{}
	}
	if _, ok := ls.hits[tk.field]; !ok {
		c.nSearches++
	}
	// The process's copy lives LocalTTL from when its search read the
	// catalog, like the other replicas' tolerance of a write they did not
	// see.
	ls.hits[tk.field] = localHits{hits: h, expires: tk.start.Add(c.localTTL)}
}

// forgetSearchesLocked drops a vendor's texts in the process and moves
// its generation on; c.mu is held.
func (c *Cache) forgetSearchesLocked(key string) {
	ls := c.searches[key]
	if ls == nil {
		ls = &localSearches{}
		c.searches[key] = ls
	}
	ls.gen++
	c.nSearches -= len(ls.hits)
	ls.hits = nil
}
