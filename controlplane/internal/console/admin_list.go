package console

import (
	"net/http"

	"github.com/storefleet/storefleet/internal/platform"
)

// GET /admin/admins
//
// Every admin may look; only super admins see (and may use) the forms.
func (h *Handler) adminList(w http.ResponseWriter, r *http.Request) error {
	return h.renderAdmins(w, r, http.StatusOK, nil)
}

// renderAdmins shows the admins and open invitations; extra adds to the
// page's data (form values and errors).
func (h *Handler) renderAdmins(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	ctx := r.Context()
	list, err := h.admins.List(ctx)
	if err != nil {
		return err
	}
	invites, err := h.admins.PendingInvites(ctx)
	if err != nil {
		return err
	}
	data := map[string]any{"Title": "Admins", "Nav": "admins", "Admins": list, "Invites": invites,
		"Roles": roleChoices(), "Errors": map[string]string{}, "InviteRole": platform.RoleSupport,
		"CanManage": adminFrom(ctx).CanChange()}
	for k, v := range extra {
		data[k] = v
	}
	return h.render(w, r, status, "admin_list", data)
}

type roleChoice struct{ Value, Label string }

func roleChoices() []roleChoice {
	out := make([]roleChoice, len(platform.Roles))
	for i, r := range platform.Roles {
		out[i] = roleChoice{r, platform.RoleLabel(r)}
	}
	return out
}
