package backoffice

import (
	"net/http"

	"github.com/gorilla/mux"
)

// paymentsRoutes declares the back office's checkout settings on the
// signed-in subrouter (issue 7 part 3): Stripe Connect onboarding,
// shipping methods and tax. All need settings.write.
//
//	GET  /admin/payments                      the shop's Stripe account and the platform's commission
//	POST /admin/payments/connect              create (or reuse) the account, then go to Stripe's onboarding
//	GET  /admin/payments/return               back from Stripe: read the account's state
//	GET  /admin/payments/refresh              the onboarding link ran out: a new one
//	GET  /admin/shipping                      shipping methods, and a form to add one
//	POST /admin/shipping                      add a method
//	GET  /admin/shipping/{id}                 edit a method
//	POST /admin/shipping/{id}                 save a method
//	POST /admin/shipping/{id}/active          offer it at checkout (active=1) or not (active=0)
//	POST /admin/shipping/{id}/move            up or down in the list shoppers see (direction=up|down)
//	GET  /admin/tax                           tax rate, label, prices with or without tax
//	POST /admin/tax                           save them
func (h *Handler) paymentsRoutes(in *mux.Router) {
	in.Handle("/payments", h.can("settings.write", h.paymentsShow)).Methods(http.MethodGet)
	in.Handle("/payments/connect", h.can("settings.write", h.paymentsConnect)).Methods(http.MethodPost)
	in.Handle("/payments/return", h.can("settings.write", h.paymentsReturn)).Methods(http.MethodGet)
	in.Handle("/payments/refresh", h.can("settings.write", h.paymentsRefresh)).Methods(http.MethodGet)

	in.Handle("/shipping", h.can("settings.write", h.shippingList)).Methods(http.MethodGet)
	in.Handle("/shipping", h.can("settings.write", h.shippingCreate)).Methods(http.MethodPost)
	in.Handle("/shipping/{id:[0-9]{1,18}}", h.can("settings.write", h.shippingEdit)).Methods(http.MethodGet)
	in.Handle("/shipping/{id:[0-9]{1,18}}", h.can("settings.write", h.shippingUpdate)).Methods(http.MethodPost)
	in.Handle("/shipping/{id:[0-9]{1,18}}/active", h.can("settings.write", h.shippingActive)).Methods(http.MethodPost)
	in.Handle("/shipping/{id:[0-9]{1,18}}/move", h.can("settings.write", h.shippingMove)).Methods(http.MethodPost)

	in.Handle("/tax", h.can("settings.write", h.taxForm)).Methods(http.MethodGet)
	in.Handle("/tax", h.can("settings.write", h.taxSave)).Methods(http.MethodPost)
}
