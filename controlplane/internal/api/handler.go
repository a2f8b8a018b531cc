// Package api is the control plane's admin JSON API under /api/v1: vendors
// and their lifecycle, schema rollouts, backups, restores and moves (run in
// the background and followed as operations), platform alerts, and the
// audit log, for scripts holding an admin API token. openapi.json, served at /api/v1/openapi.json, describes every
// route; a test keeps the two in step.
//
// One file per action; every route is declared in routes.go.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/storefleet/storefleet/controlplane/internal/backups"
	"github.com/storefleet/storefleet/controlplane/internal/monitor"
	"github.com/storefleet/storefleet/controlplane/internal/rollouts"
	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/web"
)

// Options are the API's dependencies.
type Options struct {
	Store *platform.Store
	Prov  *provision.Provisioner
	// Rollouts reads and resumes schema rollouts; app.Main shares one with
	// the console and closes it at shutdown. If nil, one over Store and
	// Prov with migrate.Tenant is made, whose background runs are never
	// cancelled.
	Rollouts *rollouts.Service
	// Backups starts backups, verifications, restores and moves in the
	// background; app.Main shares one with the console. If nil, one
	// without a backup service is made, whose endpoints then fail.
	Backups   *backups.Service
	Responder *web.Responder
	// TenantPublicURL is how shoppers reach a vendor, with {host} standing
	// for the vendor's host name.
	TenantPublicURL string
	Logger          *slog.Logger
	// Domains manages the vendors' custom domains (domain_*.go).
	Domains *domains.Service
}

// Handler serves the admin API.
type Handler struct {
	store     *platform.Store
	prov      *provision.Provisioner
	rollouts  *rollouts.Service
	backups   *backups.Service
	rs        *web.Responder
	tenantURL string
	log       *slog.Logger
	domains   *domains.Service
	monitor   *monitor.Monitor // health and jobs (issue 8): set by SetMonitor, monitoring_routes.go / job_routes.go
}

// New returns the admin API.
func New(o Options) *Handler {
	h := &Handler{store: o.Store, prov: o.Prov, rollouts: o.Rollouts, backups: o.Backups, rs: o.Responder,
		tenantURL: o.TenantPublicURL, log: o.Logger, domains: o.Domains}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.rollouts == nil {
		h.rollouts = rollouts.New(rollouts.Options{Store: o.Store, Prov: o.Prov, Logger: h.log})
	}
	if h.backups == nil {
		h.backups = backups.New(backups.Options{Store: o.Store, Logger: h.log})
	}
	return h
}

type ctxKey int

const adminKey ctxKey = 1

// adminFrom returns the admin whose token authenticated the request.
func adminFrom(ctx context.Context) *platform.Admin {
	a, _ := ctx.Value(adminKey).(*platform.Admin)
	return a
}

// actor is the token's admin as the audit log records them.
func actor(r *http.Request) platform.Actor {
	act := platform.Actor{Kind: "admin", ClientAddr: web.ClientAddr(r), RequestID: web.RequestID(r.Context())}
	if a := adminFrom(r.Context()); a != nil {
		act.AdminID, act.Name = a.ID, a.Email
	}
	return act
}

// vendorJSON is a vendor as the API shows it: the stored vendor, the
// address of its storefront and, on its own page, its history.
type vendorJSON struct {
	*platform.Vendor
	URL    string           `json:"url,omitempty"`
	Events []platform.Event `json:"events,omitempty"`
	// FinalBackupID is the backup taken before a deletion.
	FinalBackupID int64 `json:"final_backup_id,omitempty"`
}

func (h *Handler) vendorJSON(v *platform.Vendor) vendorJSON {
	out := vendorJSON{Vendor: v}
	if v.Host != "" && v.State != platform.StateDeleted {
		out.URL = strings.ReplaceAll(h.tenantURL, "{host}", v.Host)
		if !strings.HasSuffix(out.URL, "/") {
			out.URL += "/"
		}
	}
	return out
}

// auditJSON is an audit entry with its before and after values as JSON
// (not base64).
type auditJSON struct {
	platform.AuditRow
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}
