package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// authenticate checks an e-mail address and password, throttled per
// address and per client, and signs the customer in. An unknown address
// costs the time of a real password check and gets the same answer as a
// wrong password. Errors are *web.Error for 401, 429 and 503.
func (h *Handler) authenticate(ctx context.Context, r *http.Request, email, password string) (*Customer, error) {
	t := tenant.FromContext(ctx)
	email, _ = normalizeEmail(email)
	acctKey, addrKey := h.throttleKeys(t, "signin", email, web.ClientAddr(r))
	wait, err := h.throttled(ctx, []string{acctKey, addrKey}, []int{h.limits.PerAccount, h.limits.PerAddress})
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, tooMany(wait, "Too many failed sign-in attempts. Try again in %d minutes, or reset your password.")
	}
	c, err := customerByEmail(ctx, t.Pool, email)
	if err != nil && !errors.Is(err, errNotFound) {
		return nil, err
	}
	ok, err := checkPassword(c, password) // no account: the same work, and false
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := h.count(ctx, acctKey, addrKey); err != nil {
			h.log.Warn("cannot count a failed customer sign-in", "err", err)
		}
		return nil, &web.Error{Status: http.StatusUnauthorized, Message: "Wrong e-mail or password."}
	}
	h.redis.Del(ctx, acctKey)
	if err := h.signIn(ctx, c.ID); err != nil {
		return nil, err
	}
	return c, nil
}

// signIn starts the customer's session: a new token, the anonymous cart
// merged into theirs.
func (h *Handler) signIn(ctx context.Context, id int64) error {
	if err := h.sessions.Login(ctx, id); err != nil {
		return err
	}
	return recordLogin(ctx, tenant.FromContext(ctx).Pool, id)
}

type loginPage struct {
	page
	Email string
	Next  string
	Error string
}

// GET /account/login[?next=/path]
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if current(r.Context()) != nil {
		redirect(w, r, orDefault(next))
		return nil
	}
	p, err := h.page(r, "Sign in", "")
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "account_login", loginPage{page: p, Next: next})
}

// POST /account/login
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("next"))
	_, err := h.authenticate(r.Context(), r, email, r.PostFormValue("password"))
	var we *web.Error
	if errors.As(err, &we) && (we.Status == http.StatusUnauthorized || we.Status == http.StatusTooManyRequests) {
		p, perr := h.page(r, "Sign in", "")
		if perr != nil {
			return perr
		}
		if we.RetryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(we.RetryAfter))
		}
		return h.render(w, we.Status, "account_login", loginPage{page: p, Email: email, Next: next, Error: we.Message})
	}
	if err != nil {
		return err
	}
	redirect(w, r, orDefault(next))
	return nil
}

// POST /account/logout: the session ends; the cart stays with the account.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := h.sessions.Logout(ctx); err != nil {
		return err
	}
	h.sessions.Flash(ctx, "You are signed out.")
	redirect(w, r, "/account/login")
	return nil
}

func orDefault(next string) string {
	if next == "" {
		return "/account"
	}
	return next
}
