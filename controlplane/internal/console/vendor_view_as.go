package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/viewas"
)

// vendorPageRoutes declares the routes the vendor pages gained with the
// dashboard: bulk actions, plans and "view as vendor". routes.go calls it
// before /vendors/{slug}, which would otherwise take /vendors/bulk.
func (h *Handler) vendorPageRoutes(s *mux.Router) {
	s.Handle("/vendors/bulk", h.wrap(h.vendorBulkConfirm)).Methods(http.MethodGet)
	s.Handle("/vendors/bulk", h.wrap(h.vendorBulk)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/plan", h.wrap(h.vendorPlan)).Methods(http.MethodPost)
	s.Handle("/vendors/{slug}/view-as", h.wrap(h.vendorViewAs)).Methods(http.MethodPost)
}

// POST /admin/vendors/{slug}/view-as
//
// Opens the vendor's back office read-only for the signed-in admin: a
// single-use ticket valid for viewas.TTL is recorded (with the audit row
// vendor.view_as) and the browser is sent to the vendor's host, whose
// tenant app redeems it (vendor.view_as_opened) and makes a read-only
// back-office session.
func (h *Handler) vendorViewAs(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	if len(h.viewAsKey) == 0 {
		return fmt.Errorf("view as vendor: the console has no ticket key (ViewAsKey)")
	}
	if v.State != platform.StateActive || v.Host == "" {
		h.flashError(r.Context(), "Only an active vendor's back office can be viewed; %s is %s.", v.Slug, v.State.Label())
		return redirect(w, r, "/admin/vendors/"+url.PathEscape(v.Slug))
	}
	ctx := r.Context()
	a := adminFrom(ctx)
	var ticket string
	err = h.store.Transact(ctx, func(tx pgx.Tx) error {
		var t *viewas.Ticket
		var err error
		ticket, t, err = viewas.Issue(ctx, tx, h.viewAsKey, v.ID, a.ID, a.Email, time.Now())
		if err != nil {
			return err
		}
		return platform.Audit(ctx, tx, actor(r), platform.AuditEntry{Action: "vendor.view_as", TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), After: map[string]any{"read_only": true, "expires_at": t.Expires, "host": v.Host}})
	})
	if err != nil {
		return err
	}
	return redirect(w, r, h.storeURL(v.Host)+"admin/impersonate?ticket="+url.QueryEscape(ticket))
}

// POST /admin/vendors/{slug}/plan
func (h *Handler) vendorPlan(w http.ResponseWriter, r *http.Request) error {
	v, err := h.vendorFromPath(r)
	if err != nil {
		return err
	}
	plan := r.PostForm.Get("plan")
	if !platform.ValidPlan(plan) {
		return h.renderVendor(w, r, http.StatusUnprocessableEntity, v, map[string]string{"plan": "Choose one of the plans."})
	}
	changed, err := h.store.SetVendorPlan(r.Context(), actor(r), v.ID, plan)
	if err != nil {
		h.flashError(r.Context(), "%s", unwrapPlanError(err).Error())
	} else if changed {
		h.flashOK(r.Context(), "Vendor %s is now on the %s plan.", v.Slug, platform.PlanLabel(plan))
	} else {
		h.flashOK(r.Context(), "Vendor %s is already on the %s plan.", v.Slug, platform.PlanLabel(plan))
	}
	return redirect(w, r, "/admin/vendors/"+url.PathEscape(v.Slug))
}
