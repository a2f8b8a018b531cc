package backoffice

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// POST /admin/team/{id}/disable: the member can no longer sign in; their
// sessions end at once.
func (h *Handler) teamDisable(w http.ResponseWriter, r *http.Request) error {
	return h.teamSetDisabled(w, r, true)
}

// POST /admin/team/{id}/enable: undo a disable.
func (h *Handler) teamEnable(w http.ResponseWriter, r *http.Request) error {
	return h.teamSetDisabled(w, r, false)
}

func (h *Handler) teamSetDisabled(w http.ResponseWriter, r *http.Request, disabled bool) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	if err := staff.SetDisabled(ctx, t.Pool, me, memberID(r), disabled, actor(r, me)); err != nil {
		return h.teamError(w, r, err)
	}
	m, err := staff.ByID(ctx, t.Pool, memberID(r))
	if err != nil {
		return err
	}
	if disabled {
		return h.backToTeam(w, r, m.Email+" is disabled and signed out.")
	}
	return h.backToTeam(w, r, m.Email+" can sign in again.")
}
