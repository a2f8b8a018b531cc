package web

import "net/http"

// GuardSessions wraps a session manager's load-and-save middleware (scs's
// LoadAndSave) so that a session that cannot be saved gives one response,
// not two. scs saves a changed session when the handler starts its
// response (its first WriteHeader or Write); if the store is down it calls
// its ErrorFunc, which writes an error page, and then goes on with the
// handler's own WriteHeader and body: "superfluous response.WriteHeader
// call", and the handler's page appended to the error's. An ErrorFunc
// that answers with Responder.SessionError ends the response: what the
// handler writes after it is dropped.
func GuardSessions(loadAndSave func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		inner := loadAndSave(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(&sessionGuard{ResponseWriter: w}, r)
		})
	}
}

// sessionGuard drops the handler's response once the session's error
// page has been written.
type sessionGuard struct {
	http.ResponseWriter
	ended bool
}

func (g *sessionGuard) WriteHeader(code int) {
	if !g.ended {
		g.ResponseWriter.WriteHeader(code)
	}
}

func (g *sessionGuard) Write(b []byte) (int, error) {
	if g.ended {
		return len(b), nil // the response is the error page; the handler need not know
	}
	return g.ResponseWriter.Write(b)
}

func (g *sessionGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// SessionError answers a request whose session could not be loaded or
// saved (a session manager's ErrorFunc) with err, and, behind
// GuardSessions, makes that the whole response: the redirect or page the
// handler was starting is dropped.
func (rs *Responder) SessionError(w http.ResponseWriter, r *http.Request, err error) {
	var g *sessionGuard
	for u := w; u != nil; {
		if sg, ok := u.(*sessionGuard); ok {
			g = sg
			break
		}
		uw, ok := u.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		u = uw.Unwrap()
	}
	if g != nil && g.ended {
		return
	}
	// Headers the handler set for its own response, before it started it.
	for _, h := range []string{"Location", "Content-Disposition", "Content-Type", "Content-Length"} {
		w.Header().Del(h)
	}
	rs.Error(w, r, err)
	if g != nil {
		g.ended = true
	}
}
