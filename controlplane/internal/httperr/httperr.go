// Package httperr translates the errors of the platform and provisioning
// libraries into web.Errors, so web.Responder can answer them with the
// right status; everything else stays a 500.
package httperr

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/controlplane/internal/operations"
	"github.com/storefleet/storefleet/controlplane/internal/rollouts"
	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/rollout"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
)

// From returns err as a *web.Error when it is one the client can act on:
// a validation error (422 with the field), a taken slug (409), an action
// the vendor's state does not allow (409), a rollout that is busy or
// cannot be resumed (409), a vendor busy with another operation (409), a
// damaged backup (422), a backup of another vendor or one that cannot be
// used (409), an alert already handled (409), a control plane that is
// shutting down (503) or something missing (404). Other errors are
// returned unchanged.
func From(err error) error {
	if err == nil {
		return nil
	}
	var we *web.Error
	if errors.As(err, &we) {
		return err
	}
	var ve *provision.ValidationError
	var se *provision.StateError
	var busy *rollout.ErrBusy
	var nr *rollouts.NotResumableError
	var opBusy *operations.BusyError
	var as *alerts.StateError
	var fe *staff.FieldError
	switch {
	case errors.As(err, &fe):
		return &web.Error{Status: http.StatusUnprocessableEntity, Field: fe.Field, Message: fe.Message, Err: err}
	case errors.Is(err, staff.ErrOwnerActive):
		return &web.Error{Status: http.StatusConflict, Message: Sentence(staff.ErrOwnerActive.Error()) + ".", Err: err}
	case errors.As(err, &ve):
		return &web.Error{Status: http.StatusUnprocessableEntity, Field: ve.Field, Message: ve.Field + " " + ve.Message, Err: err}
	case errors.Is(err, provision.ErrSlugTaken):
		return &web.Error{Status: http.StatusConflict, Field: "slug", Message: provision.ErrSlugTaken.Error(), Err: err}
	case errors.As(err, &se):
		return &web.Error{Status: http.StatusConflict, Message: se.Error(), Err: err}
	case errors.As(err, &busy):
		return &web.Error{Status: http.StatusConflict, Message: busy.Error(), Err: err}
	case errors.As(err, &nr):
		return &web.Error{Status: http.StatusConflict, Message: nr.Error(), Err: err}
	case errors.As(err, &opBusy):
		return &web.Error{Status: http.StatusConflict, Message: opBusy.Error(), Err: err}
	case errors.Is(err, backup.ErrCorrupt):
		return &web.Error{Status: http.StatusUnprocessableEntity, Message: err.Error() +
			". Nothing was restored from it; use an older backup, and make a new one.", Err: err}
	case errors.Is(err, backup.ErrWrongVendor), errors.Is(err, backup.ErrNotUsable):
		return &web.Error{Status: http.StatusConflict, Message: err.Error(), Err: err}
	case errors.As(err, &as):
		return &web.Error{Status: http.StatusConflict, Message: as.Error(), Err: err}
	case errors.Is(err, rollouts.ErrShuttingDown):
		return &web.Error{Status: http.StatusServiceUnavailable, Message: rollouts.ErrShuttingDown.Error(), RetryAfter: 30, Err: err}
	case errors.Is(err, operations.ErrShuttingDown):
		return &web.Error{Status: http.StatusServiceUnavailable, Message: operations.ErrShuttingDown.Error(), RetryAfter: 30, Err: err}
	case errors.Is(err, platform.ErrNotFound):
		return &web.Error{Status: http.StatusNotFound, Message: "There is nothing here: it does not exist or has been deleted.", Err: err}
	}
	return err
}

// Sentence capitalises the first letter of a message, for showing a field
// error on its own next to the field ("is required" → "Is required").
func Sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + strings.TrimPrefix(s, s[:n])
}
