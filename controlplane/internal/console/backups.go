package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/storefleet/storefleet/controlplane/internal/backups"
	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/controlplane/internal/operations"
	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
)

// What the backup pages share: following the operations a session
// started, answering a form that starts one, and the template functions of
// backups and alerts.

// rememberOp notes that this session started operation id, so that the
// next page after it ends shows its outcome as a flash message.
func (h *Handler) rememberOp(ctx context.Context, id int64) {
	ids := h.sessions.GetString(ctx, keyPendingOps)
	if ids != "" {
		ids += ","
	}
	h.sessions.Put(ctx, keyPendingOps, ids+strconv.FormatInt(id, 10))
}

// endedOps pops the operations this session started that have ended and
// returns their outcomes as flash messages, with their ids. Operations
// the control plane no longer knows (it restarted) are dropped quietly.
func (h *Handler) endedOps(ctx context.Context) ([]flash, map[int64]bool) {
	shown := map[int64]bool{}
	ids := h.sessions.GetString(ctx, keyPendingOps)
	if ids == "" {
		return nil, shown
	}
	var out []flash
	var still []string
	for _, s := range strings.Split(ids, ",") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		op, ok := h.backups.Ops().Get(id)
		switch {
		case !ok:
		case op.Running():
			still = append(still, s)
		case op.Failed():
			out = append(out, flash{"error", op.Message})
			shown[id] = true
		default:
			out = append(out, flash{"ok", op.Message})
			shown[id] = true
		}
	}
	if len(still) == 0 {
		h.sessions.Remove(ctx, keyPendingOps)
	} else {
		h.sessions.Put(ctx, keyPendingOps, strings.Join(still, ","))
	}
	return out, shown
}

// vendorPageURL is a vendor's page (by id, which works for deleted
// vendors too), where a running operation and the outcome of one show at
// the top.
func vendorPageURL(v *platform.Vendor) string {
	return fmt.Sprintf("/admin/vendors/id/%d", v.ID)
}

// afterStart answers a form that started an operation on v: the vendor
// page follows it, and flashes its outcome once it has ended. A vendor that is busy or in the wrong state, a backup
// that cannot be used and a shutdown are said in a flash
// message on that page; other errors are returned.
func (h *Handler) afterStart(w http.ResponseWriter, r *http.Request, v *platform.Vendor, op operations.Operation, err error) error {
	ctx := r.Context()
	var busy *operations.BusyError
	switch {
	case errors.As(err, &busy):
		h.flashError(ctx, "%s", httperr.Sentence(busy.Error())+".")
	case isStateError(err), errors.Is(err, backup.ErrNotUsable), errors.Is(err, backup.ErrWrongVendor),
		errors.Is(err, operations.ErrShuttingDown):
		h.flashError(ctx, "%s", httperr.Sentence(err.Error())+".")
	case err != nil:
		return err
	default:
		h.rememberOp(ctx, op.ID)
	}
	return redirect(w, r, vendorPageURL(v))
}

// humanBytes is a stored size for people ("1.4 MiB"); "—" if unknown.
func humanBytes(n any) string {
	switch x := n.(type) {
	case int64:
		return backups.HumanBytes(x)
	case *int64:
		if x != nil {
			return backups.HumanBytes(*x)
		}
	}
	return "—"
}

// took is how long something that started at start took, or has taken
// so far if end is nil.
func took(start time.Time, end *time.Time) string {
	if end == nil {
		return duration(time.Since(start))
	}
	return duration(end.Sub(start))
}

// backupClass is the badge class of a backup's state.
func backupClass(state string) string {
	switch state {
	case "completed":
		return "ok"
	case "failed":
		return "bad"
	case "running":
		return "info"
	}
	return ""
}

// verifyClass is the badge class of a backup's verification state.
func verifyClass(state string) string {
	switch state {
	case "ok":
		return "ok"
	case "failed":
		return "bad"
	}
	return "" // unverified
}

// alertClass is the badge class of an alert's severity.
func alertClass(severity string) string {
	switch severity {
	case "critical":
		return "bad"
	case "warning":
		return "warn"
	}
	return "info"
}

// opClass is the badge class of an operation's state.
func opClass(s operations.State) string {
	switch s {
	case operations.StateDone:
		return "ok"
	case operations.StateFailed:
		return "bad"
	}
	return "info"
}

// clock is a time of day for people, with the date if it is not today
// (UTC): "14:02 UTC", "2025-03-01 14:02 UTC".
func clock(t time.Time) string {
	t = t.UTC()
	if t.Format("2006-01-02") == time.Now().UTC().Format("2006-01-02") {
		return t.Format("15:04 UTC")
	}
	return t.Format("2006-01-02 15:04 UTC")
}

// dict makes a map from key, value pairs, to pass several values to a
// partial template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
