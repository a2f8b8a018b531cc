package console

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"
)

// mustSlug is the slug in the URL.
func mustSlug(r *http.Request) string { return mux.Vars(r)["slug"] }

// POST /admin/vendors/{slug}/resume
func (h *Handler) vendorResume(w http.ResponseWriter, r *http.Request) error {
	v, err := h.prov.Resume(r.Context(), actor(r), mustSlug(r))
	if err != nil {
		return h.afterStateError(w, r, mustSlug(r), err)
	}
	h.flashOK(r.Context(), "Vendor %s is active again.", v.Slug)
	return redirect(w, r, "/admin/vendors/"+url.PathEscape(v.Slug))
}
