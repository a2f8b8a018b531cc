package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/staff"
)

// POST /admin/vendors/{slug}/invite-owner
func (h *Handler) vendorInviteOwner(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	email := r.PostForm.Get("owner_email")
	inv, err := h.prov.InviteOwner(r.Context(), actor(r), v.Slug, email)
	var fe *staff.FieldError
	switch {
	case errors.As(err, &fe):
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v,
			map[string]string{"owner_email": httperr.Sentence(fe.Message)}, vendorAction{OwnerEmail: email})
	case errors.Is(err, provision.ErrMailNotConfigured):
		// The link is a password for the shop: it is not shown in a page.
		h.flashError(r.Context(), "The invitation was made but e-mail is not configured (STOREFLEET_SMTP_URL), so nothing was sent. Run `provisioner invite-owner --slug %s` to get the link.", v.Slug)
	case errors.Is(err, staff.ErrOwnerActive):
		h.flashError(r.Context(), "The owner of %s has set a password already; they can reset it from the back office's sign-in page.", v.Slug)
	case err != nil:
		return h.afterStateError(w, r, v.Slug, err)
	default:
		h.flashOK(r.Context(), "Invitation e-mailed to %s. The link works once and expires in %s.", inv.Email, mail.Lifetime(staff.InviteTTL))
	}
	return redirect(w, r, "/admin/vendors/"+url.PathEscape(v.Slug))
}
