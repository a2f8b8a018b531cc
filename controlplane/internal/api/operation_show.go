package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/controlplane/internal/httperr"
	"github.com/storefleet/storefleet/controlplane/internal/operations"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/web"
)

// operationJSON is an operation as the API shows it.
type operationJSON struct {
	operations.Operation
	// DurationMS is how long it took, or has been running.
	DurationMS int64 `json:"duration_ms"`
	// ErrorStatus is the HTTP status its error maps to (422 for a damaged
	// backup, 409 for a conflict, 500 for anything unexpected).
	ErrorStatus int `json:"error_status,omitempty"`
	// URL is where to poll it.
	URL string `json:"url"`
}

func newOperationJSON(op operations.Operation) operationJSON {
	out := operationJSON{Operation: op, DurationMS: op.Elapsed().Milliseconds(), URL: operationURL(op.ID)}
	if op.Failed() {
		out.ErrorStatus = http.StatusInternalServerError
		var we *web.Error
		if errors.As(httperr.From(op.Err), &we) {
			out.ErrorStatus = we.Status
		}
	}
	return out
}

// operationURL is an operation's address in this API.
func operationURL(id int64) string { return fmt.Sprintf("/api/v1/operations/%d", id) }

// accepted answers a request that started op: 202 with the operation and
// its address to poll.
func accepted(w http.ResponseWriter, op operations.Operation) {
	w.Header().Set("Location", operationURL(op.ID))
	web.WriteJSON(w, http.StatusAccepted, map[string]any{"operation": newOperationJSON(op)})
}

// GET /api/v1/operations/{id}
func (h *Handler) operationShow(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return fmt.Errorf("operation id: %w", platform.ErrNotFound)
	}
	op, ok := h.backups.Ops().Get(id)
	if !ok {
		return web.Errorf(http.StatusNotFound,
			"there is no operation %d: it never existed, ended more than a day ago, or ran before the control plane restarted", id)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"operation": newOperationJSON(op)})
	return nil
}

// GET /api/v1/vendors/{slug}/operation: the vendor's newest operation.
func (h *Handler) vendorOperation(w http.ResponseWriter, r *http.Request) error {
	v, err := h.store.VendorBySlug(r.Context(), mux.Vars(r)["slug"])
	if err != nil {
		return err
	}
	op, ok := h.backups.Ops().ForVendor(v.ID)
	if !ok {
		return web.Errorf(http.StatusNotFound, "vendor %s has had no operation since the control plane started", v.Slug)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"operation": newOperationJSON(op)})
	return nil
}
