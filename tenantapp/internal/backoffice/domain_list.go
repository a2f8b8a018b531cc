package backoffice

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type domainsPage struct {
	page
	Available bool
	Domains   []domains.Domain
	Pending   bool
	Input     struct {
		Host string
		WWW  bool
	}
	Errors map[string]string
}

// GET /admin/domains
func (h *Handler) domainList(w http.ResponseWriter, r *http.Request) error {
	p := h.newDomainsPage(r)
	p.Input.WWW = true
	return h.renderDomains(w, r, http.StatusOK, p)
}

func (h *Handler) newDomainsPage(r *http.Request) *domainsPage {
	return &domainsPage{page: h.page(r, "Domains"), Available: h.domains != nil, Errors: map[string]string{}}
}

func (h *Handler) renderDomains(w http.ResponseWriter, r *http.Request, status int, p *domainsPage) error {
	if h.domains != nil {
		list, err := h.domains.List(r.Context(), tenant.FromContext(r.Context()).Entry.VendorID)
		if err != nil {
			return err
		}
		p.Domains = list
		for _, d := range list {
			if d.State == domains.StatePending {
				p.Pending = true
			}
		}
	}
	return h.templates.Render(w, status, "admin_domains", p)
}

// POST /admin/domains {host, www}
func (h *Handler) domainAdd(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	if h.domains == nil {
		return h.domainsBack(w, r, msgDomainsOff)
	}
	p := h.newDomainsPage(r)
	p.Input.Host = strings.TrimSpace(r.PostFormValue("host"))
	p.Input.WWW = r.PostFormValue("www") == "1"
	m := Current(ctx)
	added, err := h.domains.Add(ctx, t.Entry.VendorID, p.Input.Host, p.Input.WWW, m.Email)
	var we *web.Error
	if errors.As(err, &we) && we.Field == "host" {
		p.Errors["host"] = we.Message
		return h.renderDomains(w, r, http.StatusUnprocessableEntity, p)
	}
	if err != nil {
		return err
	}
	if err := h.auditDomain(ctx, r, "domain.added", map[string]any{"hosts": added}); err != nil {
		return err
	}
	msg := "Added " + strings.Join(added, " and ") + "."
	if len(added) == 2 {
		msg += " " + added[1] + " will redirect to " + added[0] + "."
	}
	h.sessions.Put(ctx, keyFlash, msg+" Publish the TXT record shown below; the domain works once it is verified.")
	return h.toDomains(w, r)
}

// POST /admin/domains/{host}/verify
func (h *Handler) domainVerify(w http.ResponseWriter, r *http.Request) error {
	return h.domainAction(w, r, "domain.verify_requested", func(ctx context.Context, vendorID int64, host, actor string) error {
		return h.domains.RequestCheck(ctx, vendorID, host, actor)
	}, "We will look up the TXT record of %s within a minute. Reload this page to see the result.")
}

// POST /admin/domains/{host}/primary
func (h *Handler) domainPrimary(w http.ResponseWriter, r *http.Request) error {
	return h.domainAction(w, r, "domain.made_primary", func(ctx context.Context, vendorID int64, host, actor string) error {
		return h.domains.MakePrimary(ctx, vendorID, host, actor)
	}, "%s is now the shop's primary address: links in its e-mails use it.")
}

// POST /admin/domains/{host}/remove
func (h *Handler) domainRemove(w http.ResponseWriter, r *http.Request) error {
	return h.domainAction(w, r, "domain.removed", func(ctx context.Context, vendorID int64, host, actor string) error {
		return h.domains.Remove(ctx, vendorID, host, actor)
	}, "Removed %s: it no longer leads to the shop.")
}

// domainAction runs one action on a domain of the shop, records it in the
// shop's audit log, and goes back to the Domains page with what happened.
func (h *Handler) domainAction(w http.ResponseWriter, r *http.Request, action string,
	do func(ctx context.Context, vendorID int64, host, actor string) error, done string) error {
	ctx := r.Context()
	if h.domains == nil {
		return h.domainsBack(w, r, msgDomainsOff)
	}
	host := mux.Vars(r)["host"]
	err := do(ctx, tenant.FromContext(ctx).Entry.VendorID, host, Current(ctx).Email)
	var we *web.Error
	if errors.As(err, &we) && we.Status < 500 {
		return h.domainsBack(w, r, we.Message)
	}
	if err != nil {
		return err
	}
	if err := h.auditDomain(ctx, r, action, map[string]any{"host": host}); err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, strings.Replace(done, "%s", host, 1))
	return h.toDomains(w, r)
}

// auditDomain records a domain change in the shop's own audit log.
func (h *Handler) auditDomain(ctx context.Context, r *http.Request, action string, after map[string]any) error {
	return database.Transact(ctx, tenant.FromContext(ctx).Pool, func(tx pgx.Tx) error {
		e := actor(r, Current(ctx))
		e.Action, e.TargetType, e.After = action, "domain", after
		if host, ok := after["host"].(string); ok {
			e.TargetID = host
		}
		return staff.Audit(ctx, tx, e)
	})
}

const msgDomainsOff = "Domains cannot be managed here right now. Ask the platform's operator."

func (h *Handler) domainsBack(w http.ResponseWriter, r *http.Request, msg string) error {
	h.sessions.Put(r.Context(), keyFlashError, msg)
	return h.toDomains(w, r)
}

func (h *Handler) toDomains(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, tenant.FromContext(r.Context()).Base+"/admin/domains", http.StatusSeeOther)
	return nil
}
