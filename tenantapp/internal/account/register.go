package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// registration is what a new account is made from.
type registration struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// passwordRule is what a new password must be, as staff passwords.
var passwordRule = fmt.Sprintf("Choose a password of %d to 256 characters.", auth.MinPasswordLength)

// errEmailTakenMessage says an address has an account: registration
// cannot help revealing that, so it says what to do instead.
const errEmailTakenMessage = "There is already an account with this e-mail address. Sign in, or reset your password if you forgot it."

// register makes an account and signs it in. Registrations are counted
// per client address, which also slows down probing for known addresses.
func (h *Handler) register(ctx context.Context, r *http.Request, in *registration, again *string) (int64, problems, error) {
	t := tenant.FromContext(ctx)
	var errs problems
	email, ok := normalizeEmail(in.Email)
	in.Email = email
	if !ok {
		errs.add("email", "Enter an e-mail address such as name@example.com.")
	}
	name, ok := cleanText(in.Name, maxName)
	in.Name = name
	switch {
	case !ok:
		errs.add("name", fmt.Sprintf("Use one line of at most %d characters.", maxName))
	case name == "":
		errs.add("name", "Enter your name.")
	}
	hash, err := auth.Hash(in.Password)
	if errors.Is(err, auth.ErrWeakPassword) {
		errs.add("password", passwordRule)
	} else if err != nil {
		return 0, nil, err
	}
	if again != nil && *again != in.Password {
		errs.add("password_again", "The two passwords are not the same.")
	}
	if len(errs) > 0 {
		return 0, errs, nil
	}
	_, addrKey := h.throttleKeys(t, "register", "", web.ClientAddr(r))
	wait, err := h.throttled(ctx, []string{addrKey}, []int{h.limits.Registers})
	if err != nil {
		return 0, nil, err
	}
	if wait > 0 {
		return 0, nil, tooMany(wait, "Too many accounts were made from your network. Try again in %d minutes.")
	}
	if err := h.count(ctx, addrKey); err != nil {
		return 0, nil, unavailable(err)
	}
	id, err := createCustomer(ctx, t.Pool, email, name, hash)
	if errors.Is(err, errEmailTaken) {
		errs.add("email", errEmailTakenMessage)
		return 0, errs, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if err := h.sessions.Login(ctx, id); err != nil {
		return 0, nil, err
	}
	return id, nil, nil
}

type registerPage struct {
	page
	Email, Name string
	Next        string
	Taken       bool // the address has an account: offer sign-in and reset
	Error       string
}

// GET /account/register
func (h *Handler) registerForm(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if current(r.Context()) != nil {
		redirect(w, r, orDefault(next))
		return nil
	}
	p, err := h.page(r, "Create an account", "")
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "account_register", registerPage{page: p, Next: next})
}

// POST /account/register
func (h *Handler) registerSubmit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	in := registration{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Password: r.PostFormValue("password")}
	again := r.PostFormValue("password_again")
	next := safeNext(r.PostFormValue("next"))
	_, errs, err := h.register(ctx, r, &in, &again)
	var we *web.Error
	if len(errs) > 0 || errors.As(err, &we) && we.Status == http.StatusTooManyRequests {
		p, perr := h.page(r, "Create an account", "")
		if perr != nil {
			return perr
		}
		p.Errors = errs.Map()
		rp := registerPage{page: p, Email: in.Email, Name: in.Name, Next: next, Taken: p.Errors["email"] == errEmailTakenMessage}
		status := http.StatusUnprocessableEntity
		if we != nil {
			status, rp.Error = we.Status, we.Message
			w.Header().Set("Retry-After", fmt.Sprint(we.RetryAfter))
		}
		return h.render(w, status, "account_register", rp)
	}
	if err != nil {
		return err
	}
	h.sessions.Flash(ctx, "Welcome! Your account is ready.")
	redirect(w, r, orDefault(next))
	return nil
}
