package console

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxReason is the longest suspension reason accepted.
const maxReason = 500

// POST /admin/vendors/{slug}/suspend
func (h *Handler) vendorSuspend(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	switch {
	case reason == "":
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
			map[string]string{"reason": "Say why the shop is suspended; it goes into the audit log."})
	case utf8.RuneCountInString(reason) > maxReason:
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
			map[string]string{"reason": "Keep the reason under 500 characters."}, vendorAction{Reason: reason})
	}
	if _, err := h.prov.Suspend(r.Context(), actor(r), v.Slug, reason); err != nil {
		return h.afterStateError(w, r, v.Slug, err)
	}
	h.flashOK(r.Context(), "Vendor %s is suspended: its storefront answers 503 until you resume it.", v.Slug)
	return redirect(w, r, "/admin/vendors/"+url.PathEscape(v.Slug))
}
