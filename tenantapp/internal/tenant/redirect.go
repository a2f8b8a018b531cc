package tenant

import (
	"errors"
	"net/http"
	"strings"
)

// redirectError sends the request to another host of the same vendor:
// the primary name of an apex and www pair.
type redirectError struct{ to string }

func (e *redirectError) Error() string { return "redirect to " + e.to }

// redirectTo is the address of the request's path and query on host, as
// PublicURL spells addresses ("https://{host}" if unset).
func (m *Middleware) redirectTo(host string, r *http.Request) error {
	base := m.PublicURL
	if base == "" {
		base = "https://{host}"
	}
	u := strings.TrimSuffix(strings.ReplaceAll(base, "{host}", host), "/")
	return &redirectError{to: u + r.URL.RequestURI()}
}

// redirected answers err if it is a redirect: 301 for reads, 308 for
// writes (the method and body are kept).
func redirected(w http.ResponseWriter, r *http.Request, err error) bool {
	var re *redirectError
	if !errors.As(err, &re) {
		return false
	}
	status := http.StatusPermanentRedirect
	if safeMethod(r.Method) {
		status = http.StatusMovedPermanently
	}
	http.Redirect(w, r, re.to, status)
	return true
}
