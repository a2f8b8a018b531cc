package console

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// POST /admin/tokens
//
// The page that answers shows the secret once; it is not stored (only its
// hash is), so it never reaches the session store either.
func (h *Handler) tokenCreate(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	switch {
	case name == "":
		return h.renderTokens(w, r, http.StatusUnprocessableEntity, map[string]any{
			"Errors": map[string]string{"name": "Name the token after where it is used, e.g. \"deploy script\"."}})
	case utf8.RuneCountInString(name) > 100:
		return h.renderTokens(w, r, http.StatusUnprocessableEntity, map[string]any{
			"Name": name, "Errors": map[string]string{"name": "Keep the name under 100 characters."}})
	}
	secret, tok, err := h.store.CreateAPIToken(r.Context(), actor(r), adminFrom(r.Context()).ID, name)
	if err != nil {
		return err
	}
	return h.renderTokens(w, r, http.StatusCreated, map[string]any{"NewSecret": secret, "NewToken": tok})
}
