package backoffice

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
)

// orderRoutes declares the back office's orders and customers on the
// signed-in subrouter (issue 7, part 5): the order list and page, status
// changes, shipping, refunds and notes (orders.write), and the customers,
// read-only. Every action is a plain form that works without JavaScript.
func (h *Handler) orderRoutes(in *mux.Router) {
	get, post := http.MethodGet, http.MethodPost
	in.Handle("/orders", h.can("orders.read", h.orderList)).Methods(get)
	in.Handle("/orders/{id:[0-9]{1,18}}", h.can("orders.read", h.orderShow)).Methods(get)
	in.Handle("/orders/{id:[0-9]{1,18}}/status", h.can("orders.write", h.orderStatus)).Methods(post)
	in.Handle("/orders/{id:[0-9]{1,18}}/ship", h.can("orders.write", h.orderShip)).Methods(post)
	in.Handle("/orders/{id:[0-9]{1,18}}/refunds", h.can("orders.write", h.orderRefund)).Methods(post)
	in.Handle("/orders/{id:[0-9]{1,18}}/refunds/{refund:[0-9]{1,18}}/retry", h.can("orders.write", h.orderRefundRetry)).Methods(post)
	in.Handle("/orders/{id:[0-9]{1,18}}/notes", h.can("orders.write", h.orderNote)).Methods(post)

	in.Handle("/customers", h.can("customers.read", h.customerList)).Methods(get)
	in.Handle("/customers/{id:[0-9]{1,18}}", h.can("customers.read", h.customerShow)).Methods(get)
}

// pathID is the route's {name} as a number (the route's pattern has
// checked its digits).
func pathID(r *http.Request, name string) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)[name], 10, 64)
	return id
}
