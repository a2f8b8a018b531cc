package backoffice

import "github.com/gorilla/mux"

// teamRoutes declares the back office's team routes on the signed-in
// subrouter. Staff, roles and permissions, invitations and password resets (tenantapp issue 5, items 1-2).
func (h *Handler) teamRoutes(in *mux.Router) {}
