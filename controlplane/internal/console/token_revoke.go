package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/platform"
)

// POST /admin/tokens/{id}/revoke
func (h *Handler) tokenRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return fmt.Errorf("token id: %w", platform.ErrNotFound)
	}
	err = h.store.RevokeAPIToken(r.Context(), actor(r), adminFrom(r.Context()).ID, id)
	if errors.Is(err, platform.ErrNotFound) {
		h.flashError(r.Context(), "That token does not exist or is already revoked.")
		return redirect(w, r, "/admin/tokens")
	}
	if err != nil {
		return err
	}
	h.flashOK(r.Context(), "The token is revoked; requests that use it now get 401.")
	return redirect(w, r, "/admin/tokens")
}
