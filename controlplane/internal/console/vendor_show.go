package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/rollout"
)

// GET /admin/vendors/{slug}
func (h *Handler) vendorShow(w http.ResponseWriter, r *http.Request) error {
	v, err := h.store.VendorBySlug(r.Context(), mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	return h.renderVendor(w, r, http.StatusOK, v, nil)
}

// GET /admin/vendors/id/{id}: where the audit log links. A live vendor
// redirects to its page; a deleted one (whose slug may be reused) is shown
// here.
func (h *Handler) vendorShowByID(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return fmt.Errorf("vendor id: %w", platform.ErrNotFound)
	}
	v, err := h.store.VendorByID(r.Context(), id)
	if err != nil {
		return err
	}
	if v.State != platform.StateDeleted {
		return redirect(w, r, "/admin/vendors/"+url.PathEscape(v.Slug))
	}
	return h.renderVendor(w, r, http.StatusOK, v, nil)
}

// vendorAction is what the vendor page's forms held when one failed.
type vendorAction struct {
	Reason, Confirm string
	Now             bool
}

// vendorSchema is the vendor page's schema card.
type vendorSchema struct {
	Version, Head int64
	// Known is false for a version that is not in the migration set (a
	// newer release migrated it, or the record is wrong).
	Known, Behind bool
	// NoDatabase is true before provisioning made the database and after
	// deletion removed it.
	NoDatabase bool
	// Error is the error of the vendor database's last migration.
	Error   string
	History []rollout.Result
}

// schemaOf reads a vendor's schema version against the newest, its last
// migration error and its migration history.
func (h *Handler) schemaOf(ctx context.Context, v *platform.Vendor) (*vendorSchema, error) {
	set := h.rollouts.Set()
	sc := &vendorSchema{Version: v.SchemaVersion, Head: set.Head(), Known: set.Known(v.SchemaVersion), NoDatabase: v.DBName == ""}
	sc.Behind = !sc.NoDatabase && sc.Known && sc.Version < sc.Head
	var err error
	if sc.Error, err = h.rollouts.VendorMigrationError(ctx, v.ID); err != nil {
		return nil, err
	}
	if sc.History, err = h.rollouts.VendorHistory(ctx, v.ID, 20); err != nil {
		return nil, err
	}
	return sc, nil
}

// renderVendor shows a vendor's page: properties, actions, schema and
// migration history, lifecycle history and audit trail. errs holds form errors by field, form what
// was typed.
func (h *Handler) renderVendor(w http.ResponseWriter, r *http.Request, status int, v *platform.Vendor, errs map[string]string, form ...vendorAction) error {
	ctx := r.Context()
	events, err := h.store.VendorEvents(ctx, v.ID, 50)
	if err != nil {
		return err
	}
	trail, err := h.store.RecentAudit(ctx, platform.AuditFilter{TargetType: "vendor", TargetID: strconv.FormatInt(v.ID, 10), Limit: 50})
	if err != nil {
		return err
	}
	schema, err := h.schemaOf(ctx, v)
	if err != nil {
		return err
	}
	if errs == nil {
		errs = map[string]string{}
	}
	var f vendorAction
	if len(form) > 0 {
		f = form[0]
	}
	return h.render(w, r, status, "vendor_show", map[string]any{
		"Title": v.Name, "Nav": "vendors", "V": v, "Events": events, "Trail": trail,
		"Errors": errs, "Form": f, "Schema": schema,
		"CanSuspend": v.State == platform.StateActive,
		"CanResume":  v.State == platform.StateSuspended,
		"CanDelete":  v.State != platform.StateDeleted,
	})
}

// vendorFromPath loads the vendor named in the URL.
func (h *Handler) vendorFromPath(r *http.Request) (*platform.Vendor, error) {
	return h.store.VendorBySlug(r.Context(), mux.Vars(r)["slug"])
}

// isStateError reports whether err says the vendor's state forbids an action.
func isStateError(err error) bool {
	var se *provision.StateError
	return errors.As(err, &se)
}

// afterStateError turns "not in this state" into a message on the vendor
// page; anything else is returned.
func (h *Handler) afterStateError(w http.ResponseWriter, r *http.Request, slug string, err error) error {
	if isStateError(err) {
		h.flashError(r.Context(), "%s", err.Error())
		return redirect(w, r, "/admin/vendors/"+url.PathEscape(slug))
	}
	return err
}
