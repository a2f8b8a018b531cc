package backoffice

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/staff"
)

// teamRoutes declares the back office's team routes on the signed-in
// subrouter. Staff, roles and permissions, invitations and password resets (tenantapp issue 5, items 1-2).
// Every one needs staff.manage; the password reset pages, for people who
// cannot sign in, are declared by passwordRoutes.
func (h *Handler) teamRoutes(in *mux.Router) {
	const manage = staff.PermStaffManage
	in.Handle("/team", h.can(manage, h.teamList)).Methods(http.MethodGet)
	in.Handle("/team/invite", h.can(manage, h.teamInvite)).Methods(http.MethodPost)
	in.Handle("/team/{id:[0-9]+}/role", h.can(manage, h.teamChangeRole)).Methods(http.MethodPost)
	in.Handle("/team/{id:[0-9]+}/disable", h.can(manage, h.teamDisable)).Methods(http.MethodPost)
	in.Handle("/team/{id:[0-9]+}/enable", h.can(manage, h.teamEnable)).Methods(http.MethodPost)
	in.Handle("/team/{id:[0-9]+}/remove", h.can(manage, h.teamRemove)).Methods(http.MethodPost)
	in.Handle("/team/{id:[0-9]+}/resend", h.can(manage, h.teamResend)).Methods(http.MethodPost)

	in.Handle("/roles", h.can(manage, h.roleList)).Methods(http.MethodGet)
	in.Handle("/roles", h.can(manage, h.roleCreate)).Methods(http.MethodPost)
	in.Handle("/roles/new", h.can(manage, h.roleNew)).Methods(http.MethodGet)
	in.Handle("/roles/{id:[0-9]+}", h.can(manage, h.roleEdit)).Methods(http.MethodGet)
	in.Handle("/roles/{id:[0-9]+}", h.can(manage, h.roleUpdate)).Methods(http.MethodPost)
	in.Handle("/roles/{id:[0-9]+}/delete", h.can(manage, h.roleDelete)).Methods(http.MethodPost)
}
