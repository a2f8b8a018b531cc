// Package backups is the control plane's side of vendor backups, shared by
// the admin console and the admin API: it checks a request to back up,
// verify, restore or move a vendor (so that mistakes are answered at once,
// not minutes later), runs the work in the background through operations
// with a message for people at the end, and sums up the platform's backup
// health.
//
// The backups themselves are internal/backup's; this package only adds
// what a long-lived server needs around them.
package backups

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/controlplane/internal/operations"
	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
)

// Kinds of operation this package starts.
const (
	KindBackup  = "backup"
	KindVerify  = "verify"
	KindRestore = "restore"
	KindMove    = "move"
)

// Options are the service's dependencies.
type Options struct {
	Store   *platform.Store
	Backups *backup.Service
	// Ops runs the operations; app.Main closes it at shutdown. If nil, one
	// is made whose operations are never cancelled.
	Ops    *operations.Service
	Logger *slog.Logger
}

// Service starts backup operations and reads the backups catalogue.
type Service struct {
	store *platform.Store
	svc   *backup.Service
	ops   *operations.Service
	log   *slog.Logger
}

// New returns the service.
func New(o Options) *Service {
	s := &Service{store: o.Store, svc: o.Backups, ops: o.Ops, log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ops == nil {
		s.ops = operations.New(operations.Options{Logger: s.log})
	}
	return s
}

// errNotConfigured is returned when the program has no backup service.
var errNotConfigured = errors.New("backups are not configured in this control plane")

// Ops is the service that runs (and remembers) the operations.
func (s *Service) Ops() *operations.Service { return s.ops }

// List returns a vendor's backups, newest first (vendorID 0: every
// vendor's), never nil.
func (s *Service) List(ctx context.Context, vendorID int64, limit int) ([]backup.Backup, error) {
	if s.svc == nil {
		return nil, errNotConfigured
	}
	out, err := s.svc.List(ctx, vendorID, limit)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []backup.Backup{}
	}
	return out, nil
}

// Get returns one backup; platform.ErrNotFound if there is none.
func (s *Service) Get(ctx context.Context, id int64) (*backup.Backup, error) {
	if s.svc == nil {
		return nil, errNotConfigured
	}
	return s.svc.Get(ctx, id)
}

// CanBackUp reports whether a vendor is in a state whose data can be
// backed up, restored and moved: active or suspended, with a database.
func CanBackUp(v *platform.Vendor) bool {
	return (v.State == platform.StateActive || v.State == platform.StateSuspended) && v.DBName != ""
}

// checkState refuses vendors that CanBackUp refuses.
func checkState(v *platform.Vendor, action string) error {
	if !CanBackUp(v) {
		return &provision.StateError{Slug: v.Slug, State: v.State, Action: action}
	}
	return nil
}

// start hands an operation on v to the operations service. The
// operation first writes the request to the audit log as action (who
// asked for what, whether it then works or not), and does nothing if that
// fails.
func (s *Service) start(ctx context.Context, actor platform.Actor, v *platform.Vendor, kind, title, action string,
	details map[string]any, run operations.Func) (operations.Operation, error) {
	if s.svc == nil {
		return operations.Operation{}, errNotConfigured
	}
	audited := func(ctx context.Context) (operations.Outcome, error) {
		err := s.store.Transact(ctx, func(tx pgx.Tx) error {
			return platform.Audit(ctx, tx, actor, platform.AuditEntry{Action: action, TargetType: "vendor",
				TargetID: strconv.FormatInt(v.ID, 10), After: details})
		})
		if err != nil {
			return operations.Outcome{Message: fmt.Sprintf("The %s of %s did not start: it could not be written to the audit log (%v).",
				title, v.Slug, err)}, fmt.Errorf("audit the %s of %s: %w", title, v.Slug, err)
		}
		return run(ctx)
	}
	return s.ops.Start(ctx, operations.Request{Kind: kind, VendorID: v.ID, Vendor: v.Slug, Title: title, Actor: actor, Run: audited})
}

// StartBackup backs up v in the background. Errors at once:
// *provision.StateError, *operations.BusyError, operations.ErrShuttingDown.
func (s *Service) StartBackup(ctx context.Context, actor platform.Actor, v *platform.Vendor) (operations.Operation, error) {
	if err := checkState(v, "take a backup of"); err != nil {
		return operations.Operation{}, err
	}
	return s.start(ctx, actor, v, KindBackup, "backup", "backup.create_requested", map[string]any{"kind": "manual"},
		func(ctx context.Context) (operations.Outcome, error) {
			t0 := time.Now()
			b, err := s.svc.Run(ctx, actor, v.Slug, "manual")
			if err != nil {
				return operations.Outcome{Message: fmt.Sprintf(
					"The backup of %s failed: %v. It is recorded as failed and a critical alert was raised.", v.Slug, err)}, err
			}
			return operations.Outcome{Result: b, Message: fmt.Sprintf("Backed up %s: backup %d, a %s dump and %s, at schema %s, in %s.",
				v.Slug, b.ID, HumanBytes(deref(b.DumpSize)), files(derefInt(b.ObjectsCount)), schema(b.SchemaVersion), Duration(time.Since(t0)))}, nil
		})
}

// StartVerify verifies backup id in the background: restored into a
// scratch database and checked against its manifest. Errors at once:
// platform.ErrNotFound, backup.ErrNotUsable, *provision.StateError,
// *operations.BusyError, operations.ErrShuttingDown.
func (s *Service) StartVerify(ctx context.Context, actor platform.Actor, id int64) (operations.Operation, error) {
	if s.svc == nil {
		return operations.Operation{}, errNotConfigured
	}
	b, err := s.svc.Get(ctx, id)
	if err != nil {
		return operations.Operation{}, err
	}
	if err := usable(b); err != nil {
		return operations.Operation{}, err
	}
	v, err := s.store.VendorByID(ctx, b.VendorID)
	if err != nil {
		return operations.Operation{}, err
	}
	if v.DBName == "" {
		return operations.Operation{}, &provision.StateError{Slug: v.Slug, State: v.State, Action: "verify a backup of"}
	}
	title := fmt.Sprintf("verification of backup %d", b.ID)
	return s.start(ctx, actor, v, KindVerify, title, "backup.verify_requested", map[string]any{"backup": b.ID},
		func(ctx context.Context) (operations.Outcome, error) {
			res, err := s.svc.Verify(ctx, actor, b.ID)
			if err != nil {
				return operations.Outcome{}, err
			}
			if !res.OK {
				ferr := fmt.Errorf("backup %d failed verification: %s", b.ID, res.Error)
				if strings.Contains(res.Error, backup.ErrCorrupt.Error()) {
					ferr = fmt.Errorf("backup %d failed verification: %w", b.ID, backup.ErrCorrupt)
				}
				return operations.Outcome{Result: res, Message: fmt.Sprintf(
					"Backup %d of %s failed verification: %s. It is marked failed and a critical alert was raised; do not rely on it.",
					b.ID, v.Slug, res.Error)}, ferr
			}
			return operations.Outcome{Result: res, Message: fmt.Sprintf(
				"Backup %d of %s is verified: restored into a scratch database, its checksum, schema version and all %d rows match the manifest (%s).",
				b.ID, v.Slug, res.Rows, Duration(res.Duration))}, nil
		})
}

// usable refuses backups that cannot be verified or restored.
func usable(b *backup.Backup) error {
	switch {
	case b.ExpiredAt != nil:
		return fmt.Errorf("backup %d was removed by retention on %s: %w", b.ID, b.ExpiredAt.UTC().Format("2006-01-02"), backup.ErrNotUsable)
	case b.State != "completed":
		return fmt.Errorf("backup %d is %s: %w", b.ID, b.State, backup.ErrNotUsable)
	}
	return nil
}

// StartRestore restores a backup of v in the background: into a new
// database that replaces v's once it checks out, or, with o.As, into a new
// vendor. o.BackupID 0 means v's newest completed backup. Errors at once:
// *provision.StateError, *provision.ValidationError (field "as"),
// platform.ErrNotFound, backup.ErrWrongVendor, backup.ErrNotUsable,
// *operations.BusyError, operations.ErrShuttingDown.
func (s *Service) StartRestore(ctx context.Context, actor platform.Actor, v *platform.Vendor, o backup.RestoreOptions) (operations.Operation, error) {
	if s.svc == nil {
		return operations.Operation{}, errNotConfigured
	}
	if err := checkState(v, "restore"); err != nil {
		return operations.Operation{}, err
	}
	o.As = strings.TrimSpace(o.As)
	if o.As != "" {
		if err := s.checkNewSlug(ctx, o.As); err != nil {
			return operations.Operation{}, err
		}
	}
	var b *backup.Backup
	var err error
	if o.BackupID == 0 {
		b, err = s.svc.Latest(ctx, v.ID)
		if errors.Is(err, platform.ErrNotFound) {
			return operations.Operation{}, fmt.Errorf("%s has no completed backup to restore: %w", v.Slug, platform.ErrNotFound)
		}
	} else {
		b, err = s.svc.Get(ctx, o.BackupID)
	}
	if err != nil {
		return operations.Operation{}, err
	}
	if b.VendorID != v.ID {
		return operations.Operation{}, fmt.Errorf("backup %d was made of vendor %s, not %s: %w", b.ID, b.Slug, v.Slug, backup.ErrWrongVendor)
	}
	if err := usable(b); err != nil {
		return operations.Operation{}, err
	}
	o.BackupID = b.ID
	title := fmt.Sprintf("restore of backup %d", b.ID)
	if o.As != "" {
		title += " as the new vendor " + o.As
	}
	live := v.DBName
	details := map[string]any{"backup": b.ID, "database": live}
	if o.As != "" {
		details["as"] = o.As
	}
	return s.start(ctx, actor, v, KindRestore, title, "vendor.restore_requested", details,
		func(ctx context.Context) (operations.Outcome, error) {
			res, err := s.svc.Restore(ctx, actor, v.Slug, o)
			switch {
			case errors.Is(err, backup.ErrCorrupt):
				return operations.Outcome{Message: fmt.Sprintf(
					"Backup %d cannot be restored: it is damaged (its checksum does not match the one recorded when it was made). "+
						"Nothing was changed: %s still runs on %s. Restore an older backup.", b.ID, v.Slug, live)}, err
			case err != nil && o.As != "":
				return operations.Outcome{Message: fmt.Sprintf("The restore of backup %d as %s failed: %v. Nothing was changed on %s.",
					b.ID, o.As, err, v.Slug)}, err
			case err != nil:
				return operations.Outcome{Message: fmt.Sprintf("The restore of backup %d failed: %v. Nothing was changed: %s still runs on %s.",
					b.ID, err, v.Slug, live)}, err
			case o.As != "":
				return operations.Outcome{Result: res, Message: fmt.Sprintf(
					"Restored backup %d of %s as the new vendor %s (database %s, %d rows checked) in %s.",
					b.ID, v.Slug, res.Vendor, res.Database, res.RowsChecked, Duration(res.Duration))}, nil
			}
			msg := fmt.Sprintf("Restored backup %d into %s (%d rows checked) in %s; %s now runs on it.",
				b.ID, res.Database, res.RowsChecked, Duration(res.Duration), v.Slug)
			if res.Replaced != "" && res.DropAfter != nil {
				msg += fmt.Sprintf(" The old database, %s, is kept until %s, then reconcile drops it.",
					res.Replaced, res.DropAfter.UTC().Format("2006-01-02 15:04 UTC"))
			}
			return operations.Outcome{Result: res, Message: msg}, nil
		})
}

// checkNewSlug checks the slug of a vendor that a restore would create.
func (s *Service) checkNewSlug(ctx context.Context, slug string) error {
	if err := provision.ValidateSlug(slug); err != nil {
		var ve *provision.ValidationError
		if errors.As(err, &ve) {
			return &provision.ValidationError{Field: "as", Message: ve.Message}
		}
		return err
	}
	_, err := s.store.VendorBySlug(ctx, slug)
	switch {
	case err == nil:
		return &provision.ValidationError{Field: "as", Message: fmt.Sprintf("%q is taken by another vendor; choose another slug", slug)}
	case !errors.Is(err, platform.ErrNotFound):
		return err
	}
	return nil
}

// MoveTargets lists the active database servers v could move to.
func (s *Service) MoveTargets(ctx context.Context, v *platform.Vendor) ([]*platform.Server, error) {
	servers, err := s.store.Servers(ctx)
	if err != nil {
		return nil, err
	}
	var out []*platform.Server
	for _, srv := range servers {
		if srv.State == "active" && srv.ID != v.ServerID {
			out = append(out, srv)
		}
	}
	return out, nil
}

// StartMove moves v to the database server named to, in the background.
// Errors at once: *provision.StateError, *provision.ValidationError (field
// "to"), *operations.BusyError, operations.ErrShuttingDown.
func (s *Service) StartMove(ctx context.Context, actor platform.Actor, v *platform.Vendor, to string) (operations.Operation, error) {
	if err := checkState(v, "move"); err != nil {
		return operations.Operation{}, err
	}
	to = strings.TrimSpace(to)
	if to == "" {
		return operations.Operation{}, &provision.ValidationError{Field: "to", Message: "is required: choose the server to move to"}
	}
	servers, err := s.store.Servers(ctx)
	if err != nil {
		return operations.Operation{}, err
	}
	var target *platform.Server
	for _, srv := range servers {
		if srv.Name == to {
			target = srv
		}
	}
	switch {
	case target == nil:
		return operations.Operation{}, &provision.ValidationError{Field: "to", Message: fmt.Sprintf("must name a database server; there is none called %q", to)}
	case target.ID == v.ServerID:
		return operations.Operation{}, &provision.ValidationError{Field: "to", Message: fmt.Sprintf("must be another server: %s is on %s already", v.Slug, v.ServerName)}
	case target.State != "active":
		return operations.Operation{}, &provision.ValidationError{Field: "to", Message: fmt.Sprintf(
			"must be an active server; %s is %s", target.Name, target.State)}
	}
	from := v.ServerName
	title := "move to server " + target.Name
	return s.start(ctx, actor, v, KindMove, title, "vendor.move_requested", map[string]any{"from": from, "to": target.Name},
		func(ctx context.Context) (operations.Outcome, error) {
			res, err := s.svc.Move(ctx, actor, v.Slug, target.Name)
			if err != nil {
				return operations.Outcome{Message: fmt.Sprintf(
					"The move of %s to server %s failed: %v. %s stays on server %s.", v.Slug, target.Name, err, v.Slug, from)}, err
			}
			return operations.Outcome{Result: res, Message: fmt.Sprintf(
				"Moved %s from server %s to %s (database %s, %d rows copied); writes were refused for %s. "+
					"The old copy, %s, takes no connections and is dropped after %s.",
				v.Slug, res.From, res.To, res.Database, res.Rows, Duration(res.WritesRefused),
				res.Replaced, res.DropAfter.UTC().Format("2006-01-02 15:04 UTC"))}, nil
		})
}

// ReadOnly reports whether a vendor refuses writes (during a move, or
// after one that could not lift it), and why.
func (s *Service) ReadOnly(ctx context.Context, vendorID int64) (bool, string, error) {
	var on bool
	var reason string
	err := s.store.Pool().QueryRow(ctx, `SELECT read_only, read_only_reason FROM vendors WHERE id = $1`, vendorID).Scan(&on, &reason)
	if err != nil {
		return false, "", fmt.Errorf("read the read-only mode of vendor %d: %w", vendorID, err)
	}
	return on, reason, nil
}

// HumanBytes is a size for people: "812 B", "1.4 MiB".
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Duration is a duration for people: "340 ms", "12.3 s", "4 min 05 s".
func Duration(d time.Duration) string {
	switch {
	case d < 0:
		return "0 ms"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
}

func files(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}

func schema(v *int64) string {
	if v == nil {
		return "an unknown version"
	}
	return fmt.Sprintf("v%d", *v)
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// DeleteVendor takes a final backup of v and then deletes it (nothing is
// deleted if the backup fails). Without a backup service it deletes
// directly.
func (s *Service) DeleteVendor(ctx context.Context, actor platform.Actor, prov *provision.Provisioner, slug string, now bool) (*platform.Vendor, *backup.Backup, error) {
	if s.svc == nil {
		v, err := prov.DeleteVendor(ctx, actor, slug, provision.DeleteOptions{Now: now})
		return v, nil, err
	}
	return s.svc.DeleteVendor(ctx, actor, slug, backup.DeleteOptions{Now: now})
}
