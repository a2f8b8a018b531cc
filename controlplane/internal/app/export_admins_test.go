package app

import (
	"net/http"

	"github.com/gorilla/mux"
)

// Route is one route of the console or the API: a method and a path
// template as gorilla/mux holds it ("/admin/vendors/{slug}/suspend").
type Route struct{ Method, Path string }

// RouteTable lists every route of the console (/admin) and the API
// (/api/v1), read from the routers the program builds, so tests that walk
// the routes see routes added later without being told.
func (m *Main) RouteTable() ([]Route, error) {
	cons, a, _, err := m.consoleAndAPI()
	if err != nil {
		return nil, err
	}
	r := mux.NewRouter()
	cons.Routes(r.PathPrefix("/admin").Subrouter())
	a.Routes(r.PathPrefix("/api/v1").Subrouter())
	var out []Route
	err = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return nil // a subrouter without a path of its own
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a subrouter
		}
		for _, meth := range methods {
			if meth == http.MethodHead {
				continue
			}
			out = append(out, Route{meth, path})
		}
		return nil
	})
	return out, err
}
