package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/controlplane/internal/backups"
	"github.com/storefleet/storefleet/controlplane/internal/operations"
	"github.com/storefleet/storefleet/internal/backup"
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
	// The restore form: the backup chosen, the slug typed and the slug of
	// the new vendor to restore into, if any.
	RestoreBackup             int64
	RestoreConfirm, RestoreAs string
	// The move form: the server chosen and the slug typed.
	MoveTo, MoveConfirm string
	// The owner invitation form: another address, if one was typed.
	OwnerEmail string
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
// migration history, backups (with restore and move), lifecycle history
// and audit trail. errs holds form errors by field, form what was typed.
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
	bk, err := h.vendorBackups(r, v, f)
	if err != nil {
		return err
	}
	more, err := h.vendorDetails(ctx, v)
	if err != nil {
		return err
	}
	return h.render(w, r, status, "vendor_show", map[string]any{
		"Title": v.Name, "Nav": "vendors", "V": v, "Events": events, "Trail": trail,
		"Errors": errs, "Form": f, "Schema": schema, "Backups": bk,
		"CanSuspend": v.State == platform.StateActive,
		"CanInvite":  v.State == platform.StateActive,
		"CanResume":  v.State == platform.StateSuspended,
		"CanDelete":  v.State != platform.StateDeleted,
		"More":       more,
		"CanViewAs":  v.State == platform.StateActive && v.Host != "",
	})
}

// backupsShown is how many backups the vendor page lists.
const backupsShown = 20

// vendorBackupsCard is the vendor page's backups card.
type vendorBackupsCard struct {
	List []backup.Backup
	// More is true when the vendor has more backups than listed.
	More bool
	// Restorable are the listed backups a restore can use, newest first;
	// Pick is the one the restore form selects.
	Restorable []backup.Backup
	Pick       int64
	// Op is the vendor's newest operation since the control plane
	// started, if any; Busy is true while it runs.
	Op   *operations.Operation
	Busy bool
	// CanBackUp is true when the vendor's state allows backups, restores
	// and moves.
	CanBackUp bool
	// MoveTargets are the other active database servers.
	MoveTargets []*platform.Server
	// ReadOnly is true while the vendor refuses writes, for ReadOnlyReason.
	ReadOnly       bool
	ReadOnlyReason string
	// Alerts are the vendor's unresolved alerts.
	Alerts []alerts.Alert
}

// vendorBackups reads the vendor page's backups card. The restore form
// selects the backup the form held, else the one named by ?restore=, else
// the newest usable one.
func (h *Handler) vendorBackups(r *http.Request, v *platform.Vendor, f vendorAction) (*vendorBackupsCard, error) {
	ctx := r.Context()
	list, err := h.backups.List(ctx, v.ID, backupsShown)
	if err != nil {
		return nil, err
	}
	c := &vendorBackupsCard{List: list, More: len(list) == backupsShown, CanBackUp: backups.CanBackUp(v)}
	for _, b := range list {
		if b.State == "completed" && b.ExpiredAt == nil {
			c.Restorable = append(c.Restorable, b)
		}
	}
	c.Pick = f.RestoreBackup
	if c.Pick == 0 {
		c.Pick, _ = strconv.ParseInt(r.URL.Query().Get("restore"), 10, 64)
	}
	if c.Pick == 0 && len(c.Restorable) > 0 {
		c.Pick = c.Restorable[0].ID
	}
	if op, ok := h.backups.Ops().ForVendor(v.ID); ok {
		c.Op, c.Busy = &op, op.Running()
	}
	if v.State != platform.StateDeleted {
		if c.MoveTargets, err = h.backups.MoveTargets(ctx, v); err != nil {
			return nil, err
		}
		if c.ReadOnly, c.ReadOnlyReason, err = h.backups.ReadOnly(ctx, v.ID); err != nil {
			return nil, err
		}
	}
	if c.Alerts, err = alerts.List(ctx, h.store, alerts.Filter{States: alerts.Unresolved, VendorID: v.ID, Limit: 10}); err != nil {
		return nil, err
	}
	return c, nil
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
