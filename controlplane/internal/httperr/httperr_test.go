package httperr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/controlplane/internal/operations"
	"github.com/storefleet/storefleet/controlplane/internal/rollouts"
	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/rollout"
	"github.com/storefleet/storefleet/internal/web"
)

func TestFrom(t *testing.T) {
	plain := errors.New("disk on fire")
	for _, tc := range []struct {
		name   string
		err    error
		status int // 0: returned unchanged
		field  string
	}{
		{"validation", fmt.Errorf("create: %w", &provision.ValidationError{Field: "slug", Message: "is too short"}), http.StatusUnprocessableEntity, "slug"},
		{"slug taken", provision.ErrSlugTaken, http.StatusConflict, "slug"},
		{"state", &provision.StateError{Slug: "acme", State: platform.StateActive, Action: "resume"}, http.StatusConflict, ""},
		{"not found", fmt.Errorf("find vendor %q: %w", "x", platform.ErrNotFound), http.StatusNotFound, ""},
		{"rollout busy", fmt.Errorf("resume run 3: %w", &rollout.ErrBusy{RunID: 4}), http.StatusConflict, ""},
		{"not resumable", &rollouts.NotResumableError{RunID: 3, Reason: "it finished"}, http.StatusConflict, ""},
		{"shutting down", rollouts.ErrShuttingDown, http.StatusServiceUnavailable, ""},
		{"damaged backup", fmt.Errorf("backup 12: %w", backup.ErrCorrupt), http.StatusUnprocessableEntity, ""},
		{"wrong vendor", fmt.Errorf("backup 12 of alpha: %w", backup.ErrWrongVendor), http.StatusConflict, ""},
		{"not usable", fmt.Errorf("backup 12 is failed: %w", backup.ErrNotUsable), http.StatusConflict, ""},
		{"operation busy", &operations.BusyError{Running: operations.Operation{Vendor: "acme", Title: "backup"}}, http.StatusConflict, ""},
		{"operations shutting down", operations.ErrShuttingDown, http.StatusServiceUnavailable, ""},
		{"alert handled", &alerts.StateError{ID: 3, State: alerts.StateResolved, Action: "resolve"}, http.StatusConflict, ""},
		{"backup not found", fmt.Errorf("backup 99: %w", platform.ErrNotFound), http.StatusNotFound, ""},
		{"web error", web.Errorf(http.StatusTeapot, "short and stout"), http.StatusTeapot, ""},
		{"other", plain, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := From(tc.err)
			var we *web.Error
			if tc.status == 0 {
				if got != tc.err || errors.As(got, &we) {
					t.Fatalf("From(%v) = %v, want it unchanged", tc.err, got)
				}
				return
			}
			if !errors.As(got, &we) || we.Status != tc.status || we.Field != tc.field || we.Message == "" {
				t.Fatalf("From(%v) = %#v, want status %d field %q", tc.err, got, tc.status, tc.field)
			}
		})
	}
	if From(nil) != nil {
		t.Error("From(nil) is not nil")
	}
	if got := Sentence("is required"); got != "Is required" {
		t.Errorf("Sentence = %q", got)
	}
}
