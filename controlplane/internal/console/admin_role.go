package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/admins/{id}/role
func (h *Handler) adminRole(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "admin")
	if err != nil {
		return err
	}
	a, err := h.admins.SetRole(r.Context(), actor(r), id, r.PostForm.Get("role"))
	if err := h.adminChangeError(r, err); err != nil {
		return err
	}
	if a != nil {
		h.flashOK(r.Context(), "%s is now %s.", a.Email, platform.RoleLabel(a.Role))
	}
	return redirect(w, r, "/admin/admins")
}

// adminChangeError flashes the refusals of an admin change (and returns
// nil for them), and returns other errors.
func (h *Handler) adminChangeError(r *http.Request, err error) error {
	var fe *admins.FieldError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, admins.ErrSelf), errors.Is(err, admins.ErrLastSuperAdmin):
		h.flashError(r.Context(), "%s", sentence(err.Error()))
	case errors.As(err, &fe):
		h.flashError(r.Context(), "%s", sentence(fe.Message))
	default:
		return err
	}
	return nil
}

// sentence makes a message a sentence: a capital first, a stop last.
func sentence(s string) string {
	return strings.TrimSuffix(httperr.Sentence(s), ".") + "."
}
