package app

import (
	"net/http"
	"strings"
)

// longRequest reports whether a shop request streams or may run long, and
// so gets STOREFLEET_LONG_REQUEST_TIMEOUT instead of
// STOREFLEET_REQUEST_TIMEOUT (tenant.Middleware; docs/faults.md): uploads
// (media, marketplace feeds: the body is read within the request), CSV
// exports (products, audit log, rejected import rows: written row by row
// as the database returns them), bulk product edits (a statement over a
// whole filtered catalog) and images (copied from the object store as the
// client reads them). r.URL.Path is as the shop's routes see it.
func longRequest(r *http.Request) bool {
	p := r.URL.Path
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return strings.HasPrefix(p, "/media/") || // an image from the object store
			strings.HasPrefix(p, "/admin/") && strings.HasSuffix(p, ".csv") // products, audit, rejected rows
	case http.MethodPost:
		switch p {
		case "/admin/media", "/api/v1/vendor/media", // uploads
			"/admin/imports", "/api/v1/vendor/imports", // feed uploads
			"/admin/products/bulk/preview", "/admin/products/bulk/apply":
			return true
		}
	}
	return false
}
