package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// GET /api/v1/alerts?state=&vendor=&limit=
//
// Alerts, critical first, then newest first; by default the unresolved
// ones (open and acknowledged). state=all lists resolved ones too. counts
// sums up every unresolved alert, whatever the filter.
func (h *Handler) alertList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	f := alerts.Filter{Limit: 100}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return web.FieldError("limit", "limit must be a whole number from 1 to 500")
		}
		f.Limit = n
	}
	for _, s := range q["state"] {
		for _, st := range strings.Split(s, ",") {
			switch st = strings.TrimSpace(st); st {
			case alerts.StateOpen, alerts.StateAcknowledged, alerts.StateResolved:
				f.States = append(f.States, st)
			case "unresolved":
				f.States = append(f.States, alerts.Unresolved...)
			case "all":
				f.States = append(f.States, alerts.StateOpen, alerts.StateAcknowledged, alerts.StateResolved)
			default:
				return web.FieldError("state", "state must be one of open, acknowledged, resolved, unresolved, all")
			}
		}
	}
	if len(f.States) == 0 {
		f.States = alerts.Unresolved
	}
	if slug := q.Get("vendor"); slug != "" {
		v, err := h.store.VendorBySlug(ctx, slug)
		if err != nil {
			return err
		}
		f.VendorID = v.ID
	}
	list, err := alerts.List(ctx, h.store, f)
	if err != nil {
		return err
	}
	counts, err := alerts.CountUnresolved(ctx, h.store)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"alerts": list, "counts": counts})
	return nil
}

// alertIDFromPath is the alert id in the URL.
func alertIDFromPath(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("alert id %q: %w", mux.Vars(r)["id"], platform.ErrNotFound)
	}
	return id, nil
}
