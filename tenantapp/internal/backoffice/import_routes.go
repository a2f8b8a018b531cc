package backoffice

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// maxFeedBody bounds the body of a feed upload: the largest feed plus
// room for the form.
const maxFeedBody = marketplace.MaxUploadBytes + 1<<20

// WorkRequester asks the control plane's job system to run a vendor's
// queued work of one kind ("imports", "publishes", "images").
type WorkRequester interface {
	RequestWork(ctx context.Context, vendorID int64, kind string) error
}

// SetWork gives the back office the way to start marketplace jobs. It
// returns h, for chaining. Without it, imports wait until another
// process asks.
func (h *Handler) SetWork(w WorkRequester) *Handler {
	h.work = w
	return h
}

// requestWork asks for a vendor's work to be run; a failure is logged,
// not shown: the work stays queued, and the next visit to its page asks
// again.
func (h *Handler) requestWork(ctx context.Context, t *tenant.Tenant, kind string) {
	if h.work == nil {
		h.log.Warn("no job system to run marketplace work", "vendor", t.Entry.Slug, "kind", kind)
		return
	}
	if err := h.work.RequestWork(ctx, t.Entry.VendorID, kind); err != nil {
		h.log.Warn("cannot ask for marketplace work to be run; it stays queued", "vendor", t.Entry.Slug, "kind", kind, "err", err)
	}
}

// stallable is queued work described in the vendor's database (an
// import, a publish) that can tell whether it has lost its worker.
type stallable interface{ Stalled(now time.Time) bool }

// wakeStalled asks the job system again for kind's work if any of items
// has lost its worker: a request whose job went missing (a control plane
// that stopped) is taken up the next time someone looks at its page.
func wakeStalled[T stallable](ctx context.Context, h *Handler, t *tenant.Tenant, kind string, items ...T) {
	now := time.Now()
	for _, it := range items {
		if it.Stalled(now) {
			h.requestWork(ctx, t, kind)
			return
		}
	}
}

// isFeedUpload reports whether a request is a feed upload, whose body may
// be as large as a feed: the imports page's form, or the vendor API's
// POST /api/v1/vendor/imports.
func isFeedUpload(r *http.Request) bool {
	return r.Method == http.MethodPost &&
		(strings.HasSuffix(r.URL.Path, "/admin/imports") || strings.HasSuffix(r.URL.Path, "/api/v1/vendor/imports"))
}

// mayUploadFeed reports whether a feed upload comes from someone signed
// in here, so that only they, never an anonymous client, may send a body
// as large as a feed: an API request has its member already (its token is
// checked before bodies are limited); a back-office one has a session
// that names a member of this shop (who is checked in full later).
func (h *Handler) mayUploadFeed(r *http.Request) bool {
	ctx := r.Context()
	if Current(ctx) != nil {
		return true
	}
	t := tenant.FromContext(ctx)
	return strings.HasSuffix(r.URL.Path, "/admin/imports") && t != nil &&
		h.sessions.GetInt64(ctx, keyStaff) != 0 && h.sessions.GetInt64(ctx, keyVendor) == t.Entry.VendorID
}

// importRoutes declares the marketplace import pages (issue 6): imports,
// their rejected rows, the staging area and publishes.
func (h *Handler) importRoutes(in *mux.Router) {
	get, post := http.MethodGet, http.MethodPost
	mp := in.NewRoute().Subrouter()
	mp.Use(h.needMarketplace)
	mp.Handle("/imports", h.can("catalog.read", h.importList)).Methods(get)
	mp.Handle("/imports", h.can("catalog.write", h.importCreate)).Methods(post)
	mp.Handle("/imports/{id:[0-9]{1,18}}", h.can("catalog.read", h.importShow)).Methods(get)
	mp.Handle("/imports/{id:[0-9]{1,18}}/progress", h.can("catalog.read", h.importProgress)).Methods(get)
	mp.Handle("/imports/{id:[0-9]{1,18}}/rejections.csv", h.can("catalog.read", h.importRejectionsCSV)).Methods(get)
	mp.Handle("/imports/{id:[0-9]{1,18}}/cancel", h.can("catalog.write", h.importCancel)).Methods(post)

	mp.Handle("/staging", h.can("catalog.read", h.stagingList)).Methods(get)
	mp.Handle("/staging/preview", h.can("catalog.write", h.stagingPreview)).Methods(post)
	mp.Handle("/staging/{id:[0-9]{1,18}}", h.can("catalog.read", h.stagedShow)).Methods(get)
	mp.Handle("/publishes", h.can("catalog.read", h.publishList)).Methods(get)
	mp.Handle("/publishes", h.can("catalog.write", h.publishCreate)).Methods(post)
	mp.Handle("/publishes/{id:[0-9]{1,18}}", h.can("catalog.read", h.publishShow)).Methods(get)
	mp.Handle("/publishes/{id:[0-9]{1,18}}/progress", h.can("catalog.read", h.publishProgress)).Methods(get)
	mp.Handle("/publishes/{id:[0-9]{1,18}}/undo", h.can("catalog.write", h.publishUndo)).Methods(post)
}

// needMarketplace answers 503 for a vendor whose schema has no
// marketplace tables yet (a rollout has not reached it).
func (h *Handler) needMarketplace(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := tenant.FromContext(r.Context()); t != nil && t.Entry.SchemaVersion < marketplace.MinSchema {
			h.rs.Error(w, r, &web.Error{Status: http.StatusServiceUnavailable, RetryAfter: 60,
				Message: "Marketplace imports are being set up for " + t.Entry.Name + ". Please come back in a few minutes."})
			return
		}
		next.ServeHTTP(w, r)
	})
}
