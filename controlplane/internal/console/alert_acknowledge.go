package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/internal/platform"
)

// alertIDFromPath is the alert id in the URL.
func alertIDFromPath(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("alert id %q: %w", mux.Vars(r)["id"], platform.ErrNotFound)
	}
	return id, nil
}

// alertBack is where an alert form returns: the page it was on (its
// "next" field), else the backups page.
func alertBack(r *http.Request) string {
	if next := r.PostForm.Get("next"); next != "" {
		return safeNext(next)
	}
	return "/admin/backups#alerts"
}

// POST /admin/alerts/{id}/acknowledge
//
// Says someone is on it; the alert stays unresolved.
func (h *Handler) alertAcknowledge(w http.ResponseWriter, r *http.Request) error {
	return h.alertChange(w, r, alerts.Acknowledge, "Alert %d is acknowledged; resolve it once the cause is fixed.")
}

// alertChange applies an alert action and says how it went.
func (h *Handler) alertChange(w http.ResponseWriter, r *http.Request,
	change func(ctx context.Context, store *platform.Store, actor platform.Actor, id int64) (*alerts.Alert, error), done string) error {
	ctx := r.Context()
	id, err := alertIDFromPath(r)
	if err != nil {
		return err
	}
	_, err = change(ctx, h.store, actor(r), id)
	var se *alerts.StateError
	switch {
	case errors.As(err, &se):
		h.flashError(ctx, "Alert %d is already %s.", id, se.State)
	case err != nil:
		return err
	default:
		h.flashOK(ctx, done, id)
	}
	return redirect(w, r, alertBack(r))
}
