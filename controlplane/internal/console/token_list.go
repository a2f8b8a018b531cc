package console

import "net/http"

// GET /admin/tokens
func (h *Handler) tokenList(w http.ResponseWriter, r *http.Request) error {
	return h.renderTokens(w, r, http.StatusOK, nil)
}

// renderTokens shows the signed-in admin's API tokens; extra adds to the
// page's data (a new token's secret, form errors).
func (h *Handler) renderTokens(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	toks, err := h.store.APITokens(r.Context(), adminFrom(r.Context()).ID)
	if err != nil {
		return err
	}
	data := map[string]any{"Title": "API tokens", "Nav": "tokens", "Tokens": toks, "Errors": map[string]string{}}
	for k, v := range extra {
		data[k] = v
	}
	return h.render(w, r, status, "token_list", data)
}
