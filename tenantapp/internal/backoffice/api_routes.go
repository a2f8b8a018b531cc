package backoffice

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// APIRoutes registers the vendor JSON API under /api/v1/vendor/ on the
// shop's router: products with their images, stock movements, the media
// library, the shop's settings, marketplace imports, staging and
// publishes (apiMarketplaceRoutes), and orders and customers
// (apiOrderRoutes), for programs holding a staff API token
// (Authorization: Bearer sfstaff_...). A token acts with its member's
// permissions; sessions and cookies play no part, so there is no CSRF to
// guard against. The OpenAPI document is at openapi.json.
func (h *Handler) APIRoutes(r *mux.Router) {
	api := r.PathPrefix("/api/v1/vendor").Subrouter()
	api.Handle("/openapi.json", h.rs.Wrap(h.apiOpenAPI)).Methods(http.MethodGet)

	authed := api.NewRoute().Subrouter()
	authed.Use(h.needSchema, h.requireToken, h.limitBody)
	authed.Handle("/products", h.can("catalog.read", h.apiProductList)).Methods(http.MethodGet)
	authed.Handle("/products", h.can("catalog.write", h.apiProductCreate)).Methods(http.MethodPost)
	authed.Handle("/products/{id:[0-9]+}", h.can("catalog.read", h.apiProductGet)).Methods(http.MethodGet)
	authed.Handle("/products/{id:[0-9]+}", h.can("catalog.write", h.apiProductUpdate)).Methods(http.MethodPatch)
	authed.Handle("/products/{id:[0-9]+}", h.can("catalog.write", h.apiProductDelete)).Methods(http.MethodDelete)
	authed.Handle("/products/{id:[0-9]+}/movements", h.can("inventory.read", h.apiMovementList)).Methods(http.MethodGet)
	authed.Handle("/products/{id:[0-9]+}/movements", h.can("inventory.write", h.apiMovementCreate)).Methods(http.MethodPost)
	authed.Handle("/low-stock", h.can("inventory.read", h.apiLowStock)).Methods(http.MethodGet)
	authed.Handle("/products/{id:[0-9]+}/images", h.can("catalog.write", h.apiProductImages)).Methods(http.MethodPut)

	authed.Handle("/media", h.can("media.read", h.apiMediaList)).Methods(http.MethodGet)
	authed.Handle("/media", h.can("media.write", h.apiMediaUpload)).Methods(http.MethodPost)
	authed.Handle("/media/{id:[0-9]+}", h.can("media.read", h.apiMediaGet)).Methods(http.MethodGet)
	authed.Handle("/media/{id:[0-9]+}", h.can("media.write", h.apiMediaUpdate)).Methods(http.MethodPatch)
	authed.Handle("/media/{id:[0-9]+}", h.can("media.write", h.apiMediaDelete)).Methods(http.MethodDelete)

	authed.Handle("/settings", h.can("settings.write", h.apiSettingsGet)).Methods(http.MethodGet)
	authed.Handle("/settings", h.can("settings.write", h.apiSettingsUpdate)).Methods(http.MethodPatch)

	h.apiMarketplaceRoutes(authed)
	h.apiOrderRoutes(authed)
}

type apiTokenKey struct{}

// requireToken lets through requests with a valid, unexpired API token of
// this shop whose member is active, as that member.
func (h *Handler) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vendor API"`)
			h.rs.Error(w, r, errBadToken)
			return
		}
		m, tok, err := tokenMember(ctx, tenant.FromContext(ctx).Pool, strings.TrimSpace(secret))
		if err == errBadToken {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vendor API", error="invalid_token"`)
		}
		if err != nil {
			h.rs.Error(w, r, err)
			return
		}
		ctx = context.WithValue(context.WithValue(ctx, ctxKey{}, m), apiTokenKey{}, tok)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// apiActor is the audit entry's actor for a request made with a token.
func apiActor(r *http.Request) staff.Entry {
	e := actor(r, Current(r.Context()))
	if tok, ok := r.Context().Value(apiTokenKey{}).(apiToken); ok {
		e.Actor += fmt.Sprintf(" (API token %d)", tok.ID)
	}
	return e
}

// apiNames are the JSON names of the catalog's field error keys.
var apiNames = map[string]string{"price": "price_minor", "sale_price": "sale_price_minor", "categories": "category_ids", "threshold": "low_stock_threshold"}

// apiFieldErrors is a 422 naming every field at fault (fields), the
// first of them in field.
func apiFieldErrors(fe catalog.FieldErrors) error {
	fields := map[string]string{}
	var keys []string
	for k, v := range fe {
		if n, ok := apiNames[k]; ok {
			k = n
		}
		fields[k] = v
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msg, first := "The request has invalid fields.", ""
	if len(keys) > 0 {
		first = keys[0]
		msg = first + ": " + fields[first]
	}
	return &web.Error{Status: http.StatusUnprocessableEntity, Message: msg, Field: first, Extra: map[string]any{"fields": fields}}
}

// optional is a JSON property that may be absent, null, or a value.
type jsonOptional[T any] struct {
	Set   bool
	Value *T
}

func (o *jsonOptional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}
