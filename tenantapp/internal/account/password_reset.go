package account

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// resetPassword uses a reset token (once) to set a new password, ends
// every other session of the customer, and signs this one in.
func (h *Handler) resetPassword(ctx context.Context, secret, password, again string) (problems, error) {
	t := tenant.FromContext(ctx)
	var errs problems
	hash, err := auth.Hash(password)
	if errors.Is(err, auth.ErrWeakPassword) {
		errs.add("password", passwordRule)
	} else if err != nil {
		return nil, err
	}
	if again != password {
		errs.add("password_again", "The two passwords are not the same.")
	}
	if len(errs) > 0 {
		return errs, nil
	}
	var id int64
	err = database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		var err error
		if id, err = useResetToken(ctx, tx, secret); err != nil {
			return err
		}
		return setPasswordTx(ctx, tx, id, hash, now())
	})
	if err != nil {
		return nil, err
	}
	// The account's failed sign-ins no longer count.
	if c, err := customerByID(ctx, t.Pool, id); err == nil {
		acctKey, _ := h.throttleKeys(t, "signin", c.Email, "")
		h.redis.Del(ctx, acctKey)
	}
	return nil, h.signIn(ctx, id)
}

type resetPage struct {
	page
	Account *Customer // nil: the link does not work
	Error   string
}

// GET /account/password/reset/{token}: choose a new password.
func (h *Handler) resetForm(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := peekResetToken(ctx, tenant.FromContext(ctx).Pool, mux.Vars(r)["token"])
	if err != nil && !errors.Is(err, errTokenInvalid) {
		return err
	}
	p, perr := h.page(r, "Choose a new password", "")
	if perr != nil {
		return perr
	}
	if err != nil {
		p.Title = "Reset link"
		return h.render(w, http.StatusGone, "account_password_reset", resetPage{page: p, Error: err.Error()})
	}
	return h.render(w, http.StatusOK, "account_password_reset", resetPage{page: p, Account: c})
}

// POST /account/password/reset/{token}
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	secret := mux.Vars(r)["token"]
	c, err := peekResetToken(ctx, tenant.FromContext(ctx).Pool, secret)
	if err == nil {
		var errs problems
		errs, err = h.resetPassword(ctx, secret, r.PostFormValue("password"), r.PostFormValue("password_again"))
		if len(errs) > 0 {
			p, perr := h.page(r, "Choose a new password", "")
			if perr != nil {
				return perr
			}
			p.Errors = errs.Map()
			return h.render(w, http.StatusUnprocessableEntity, "account_password_reset", resetPage{page: p, Account: c})
		}
	}
	if errors.Is(err, errTokenInvalid) {
		p, perr := h.page(r, "Reset link", "")
		if perr != nil {
			return perr
		}
		return h.render(w, http.StatusGone, "account_password_reset", resetPage{page: p, Error: err.Error()})
	}
	if err != nil {
		return err
	}
	h.sessions.Flash(ctx, "Your new password is set, and every other session of your account has ended.")
	redirect(w, r, "/account")
	return nil
}
