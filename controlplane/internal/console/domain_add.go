package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/storefleet/storefleet/internal/web"
)

// POST /admin/vendors/{slug}/domains {host, www}
func (h *Handler) domainAdd(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	form := domainForm{Host: strings.TrimSpace(r.PostForm.Get("host")), WWW: r.PostForm.Get("www") == "1"}
	if h.domains == nil {
		return web.Errorf(http.StatusServiceUnavailable, "Domains are not available in this console.")
	}
	added, err := h.domains.Add(r.Context(), actor(r), v, form.Host, form.WWW)
	var we *web.Error
	if errors.As(err, &we) && we.Field == "host" {
		return h.renderDomains(w, r, http.StatusUnprocessableEntity, v, form, map[string]string{"host": we.Message})
	}
	if err != nil {
		return err
	}
	msg := "Added " + strings.Join(added, " and ") + " to " + v.Name + "."
	if len(added) == 2 {
		msg += " " + added[1] + " redirects to " + added[0] + "."
	}
	h.flashOK(r.Context(), "%s It routes once the TXT record below is published and verified.", msg)
	return redirect(w, r, domainsPage(v))
}
