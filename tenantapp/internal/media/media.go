// Package media is a vendor's media library in the tenant app: images staff
// upload, checked from their content, stored in the vendor's own bucket
// under keys the server makes, made smaller by a background worker, and
// served through the tenant app with nosniff. The checks, the storing and
// the making of sizes are the shared core in internal/media (the control
// plane keeps marketplace images with it too); this package adds what only
// the tenant app does: the Service wiring, uploads and deletions with their
// audit entries, the media_jobs worker and serving.
//
// Every bucket operation goes through a client whose STS credentials reach
// the vendor's bucket only (storage.Admin.VendorClient); every database
// operation takes the vendor's pool. Work on the bucket (thumbnails, and
// removing the objects of deleted media) is queued durably in the vendor's
// media_jobs table and done by a Worker: a bounded pool of goroutines that
// takes a vendor's jobs when told (after an upload or a deletion) and, for
// jobs left behind by a stopped process, the first time this process sees
// the vendor (Middleware).
//
// Wiring, in the tenant app:
//
//	svc := media.New(media.Options{Objects: objects, Pools: pools, Routes: routes, Logger: logger})
//	svc.Worker.Start()            // and svc.Worker.Stop() on Close, before the pools close
//	shop.Use(svc.Middleware)      // the back office finds the library in the context
//	svc.Routes(shop, responder)   // GET /media/{id}/{size}
package media

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/minio/minio-go/v7"

	core "github.com/storefleet/storefleet/internal/media"
	"github.com/storefleet/storefleet/internal/storage"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// The core's names, kept here for the back office and the storefront.
type (
	// Media is one image of the library.
	Media = core.Media
	// Querier runs queries: a pool or a transaction.
	Querier = core.Querier
)

// Upload limits: see core.MaxBytes and core.MaxPixels.
const (
	MaxBytes  = core.MaxBytes
	MaxPixels = core.MaxPixels
)

var (
	// Sizes are the thumbnail sizes made of every image.
	Sizes = core.Sizes
	// ErrNotFound means no such media in this shop.
	ErrNotFound = core.ErrNotFound
)

// Get returns one image.
func Get(ctx context.Context, db Querier, id int64) (*Media, error) { return core.Get(ctx, db, id) }

// HumanBytes writes a byte count for people ("2.4 MiB").
func HumanBytes(n int64) string { return core.HumanBytes(n) }

// Service is the media library of every vendor this process serves.
type Service struct {
	objects *objects
	log     *slog.Logger
	// Worker makes thumbnails and removes deleted media's objects.
	Worker *Worker
}

// Options wire a Service.
type Options struct {
	// Objects is the platform's object store client; the service asks it
	// for narrowed per-bucket clients only.
	Objects *storage.Admin
	// Pools hands out vendor pools to the worker (pools.Manager).
	Pools tenant.Pools
	// Routes gives the worker fresh routing entries (routing.Cache): a
	// vendor may have moved, been suspended or gone read-only since its
	// jobs were queued. Without it the queued entry is used.
	Routes tenant.Resolver
	// Workers is how many jobs run at once in this process (default 2).
	Workers int
	Logger  *slog.Logger
}

// New returns the media library. Start its Worker to make thumbnails.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	s := &Service{objects: &objects{admin: o.Objects, clients: map[string]*minio.Client{}}, log: o.Logger}
	s.Worker = newWorker(s, o.Pools, o.Routes, o.Workers)
	return s
}

type ctxKey struct{}

// FromContext returns the media library behind Middleware, or nil if the
// app has none (no object store configured).
func FromContext(ctx context.Context) *Service {
	s, _ := ctx.Value(ctxKey{}).(*Service)
	return s
}

// Middleware puts the library in each request's context and, the first
// time this process sees a vendor, has the worker look for that vendor's
// unfinished jobs (left by a process that stopped). It runs behind tenant
// resolution. A nil Service passes requests through.
func (s *Service) Middleware(next http.Handler) http.Handler {
	if s == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := tenant.FromContext(r.Context()); t != nil {
			s.Worker.noticeVendor(t)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	})
}

// Bucket returns a client of one vendor's bucket (limited to it), for
// other parts of the back office that keep files there (feed uploads).
func (s *Service) Bucket(name string) (*minio.Client, error) { return s.objects.client(name) }

// bucket returns a vendor's bucket with its client.
func (s *Service) bucket(name string) (core.Bucket, error) {
	cl, err := s.objects.client(name)
	if err != nil {
		return core.Bucket{}, err
	}
	return core.Bucket{Client: cl, Name: name}, nil
}

// objects hands out per-bucket clients, made once per bucket.
type objects struct {
	admin   *storage.Admin
	mu      sync.Mutex
	clients map[string]*minio.Client
}

// maxClients bounds the cache of per-bucket clients.
const maxClients = 1000

func (o *objects) client(bucket string) (*minio.Client, error) {
	if o.admin == nil {
		return nil, fmt.Errorf("%w: no object store is configured", core.ErrUnavailable)
	}
	if bucket == "" {
		return nil, fmt.Errorf("%w: the shop has no bucket yet", core.ErrUnavailable)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if c, ok := o.clients[bucket]; ok {
		return c, nil
	}
	c, err := o.admin.VendorClient(bucket)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", core.ErrUnavailable, err)
	}
	if len(o.clients) >= maxClients {
		clear(o.clients)
	}
	o.clients[bucket] = c
	return c, nil
}
