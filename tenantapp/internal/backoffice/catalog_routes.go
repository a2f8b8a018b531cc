package backoffice

import (
	"net/http"

	"github.com/gorilla/mux"
)

// catalogRoutes declares the back office's catalog routes on the signed-in
// subrouter: products, categories, bulk edits, CSV export, inventory and
// staff API tokens (issue 5, items 3, 4 and 9), and a product's images
// from the media library. Every route names the
// permission it needs; API tokens are each member's own (members holding
// staff.manage also see and revoke everyone's).
func (h *Handler) catalogRoutes(in *mux.Router) {
	get, post := http.MethodGet, http.MethodPost
	in.Handle("/products", h.can("catalog.read", h.productList)).Methods(get)
	in.Handle("/products/export.csv", h.can("catalog.read", h.productExport)).Methods(get)
	in.Handle("/products/new", h.can("catalog.write", h.productNew)).Methods(get)
	in.Handle("/products", h.can("catalog.write", h.productCreate)).Methods(post)
	in.Handle("/products/bulk/preview", h.can("catalog.write", h.productBulkPreview)).Methods(post)
	in.Handle("/products/bulk/apply", h.can("catalog.write", h.productBulkApply)).Methods(post)
	in.Handle("/products/{id:[0-9]+}", h.can("catalog.read", h.productEdit)).Methods(get)
	in.Handle("/products/{id:[0-9]+}", h.can("catalog.write", h.productUpdate)).Methods(post)
	in.Handle("/products/{id:[0-9]+}/archive", h.can("catalog.write", h.productArchive)).Methods(post)
	in.Handle("/products/{id:[0-9]+}/delete", h.can("catalog.write", h.productDelete)).Methods(post)
	in.Handle("/products/{id:[0-9]+}/images", h.can("catalog.write", h.productImagesAdd)).Methods(post)
	in.Handle("/products/{id:[0-9]+}/images/{media:[0-9]+}/remove", h.can("catalog.write", h.productImageRemove)).Methods(post)
	in.Handle("/products/{id:[0-9]+}/images/{media:[0-9]+}/move", h.can("catalog.write", h.productImageMove)).Methods(post)

	in.Handle("/categories", h.can("catalog.read", h.categoryList)).Methods(get)
	in.Handle("/categories", h.can("catalog.write", h.categoryCreate)).Methods(post)
	in.Handle("/categories/{id:[0-9]+}", h.can("catalog.write", h.categoryRename)).Methods(post)
	in.Handle("/categories/{id:[0-9]+}/delete", h.can("catalog.write", h.categoryDelete)).Methods(post)

	in.Handle("/inventory", h.can("inventory.read", h.inventoryList)).Methods(get)
	in.Handle("/inventory/{id:[0-9]+}", h.can("inventory.read", h.inventoryProduct)).Methods(get)
	in.Handle("/inventory/{id:[0-9]+}/movements", h.can("inventory.write", h.inventoryMove)).Methods(post)
	in.Handle("/inventory/{id:[0-9]+}/threshold", h.can("inventory.write", h.inventoryThreshold)).Methods(post)

	in.Handle("/api-tokens", h.rs.Wrap(h.apiTokenList)).Methods(get)
	in.Handle("/api-tokens", h.rs.Wrap(h.apiTokenCreate)).Methods(post)
	in.Handle("/api-tokens/{id:[0-9]+}/revoke", h.rs.Wrap(h.apiTokenRevoke)).Methods(post)
}
