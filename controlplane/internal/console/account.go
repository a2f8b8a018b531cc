package console

import (
	"html/template"
	"net/http"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/internal/platform"
)

// GET /admin/account
//
// The signed-in admin's own account: password, two-factor sign-in and
// the sessions they are signed in with.
func (h *Handler) account(w http.ResponseWriter, r *http.Request) error {
	return h.renderAccount(w, r, http.StatusOK, nil)
}

// renderAccount shows My account; extra adds to the page's data (form
// errors, an enrolment in progress, new recovery codes).
func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	ctx := r.Context()
	a := adminFrom(ctx)
	sessions, err := h.admins.Sessions(ctx, a.ID)
	if err != nil {
		return err
	}
	left, err := h.admins.RecoveryCodesLeft(ctx, a.ID)
	if err != nil {
		return err
	}
	data := map[string]any{"Title": "My account", "Nav": "account", "Sessions": sessions, "RecoveryLeft": left,
		"CurrentSession": admins.SessionKey(h.sessions.Token(ctx)), "RoleLabel": platform.RoleLabel(a.Role),
		"Errors": map[string]string{}}
	if _, ok := extra["Enrolment"]; !ok && a.TOTPEnabledAt == nil {
		en, err := h.admins.PendingTOTP(ctx, a)
		if err != nil {
			return err
		}
		if en != nil {
			data["Enrolment"] = en
		}
	}
	for k, v := range extra {
		data[k] = v
	}
	if en, ok := data["Enrolment"].(*admins.Enrolment); ok {
		// A data: URL of a PNG made here, not from input.
		data["QR"] = template.URL(en.QR) //nolint:gosec
	}
	return h.render(w, r, status, "account", data)
}
