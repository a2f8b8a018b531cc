package backoffice

import "github.com/gorilla/mux"

// catalogRoutes declares the back office's catalog routes on the signed-in
// subrouter. Products, categories, bulk edits, CSV export, inventory (issue 5, items 3-4).
func (h *Handler) catalogRoutes(in *mux.Router) {}
