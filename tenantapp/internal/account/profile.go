package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// profileChange is a change of a customer's profile; nil fields stay as
// they are. A new e-mail address or password needs the current password.
type profileChange struct {
	Name            *string `json:"name"`
	Phone           *string `json:"phone"`
	Email           *string `json:"email"`
	NewPassword     *string `json:"new_password"`
	CurrentPassword string  `json:"current_password"`
}

var phoneChars = regexp.MustCompile(`^[0-9+()./ -]*$`)

// checkPhone trims a phone number and says what is wrong with it.
func checkPhone(s string) (string, string) {
	s, ok := cleanText(s, maxPhone)
	switch {
	case !ok:
		return s, fmt.Sprintf("Use at most %d characters.", maxPhone)
	case !phoneChars.MatchString(s):
		return s, "Use digits, spaces and + ( ) - . / only."
	}
	return s, ""
}

// changeProfile applies a profile change in one transaction. A changed
// password ends every other session of the customer; this one is signed
// in again. againPassword, when not nil, must repeat the new password.
func (h *Handler) changeProfile(ctx context.Context, r *http.Request, c *Customer, in *profileChange, againPassword *string) (problems, error) {
	t := tenant.FromContext(ctx)
	var errs problems
	name, phone, email := c.Name, c.Phone, c.Email
	if in.Name != nil {
		var ok bool
		name, ok = cleanText(*in.Name, maxName)
		switch {
		case !ok:
			errs.add("name", fmt.Sprintf("Use one line of at most %d characters.", maxName))
		case name == "":
			errs.add("name", "Enter your name.")
		}
		in.Name = &name
	}
	if in.Phone != nil {
		var msg string
		if phone, msg = checkPhone(*in.Phone); msg != "" {
			errs.add("phone", msg)
		}
		in.Phone = &phone
	}
	if in.Email != nil {
		var ok bool
		if email, ok = normalizeEmail(*in.Email); !ok {
			errs.add("email", "Enter an e-mail address such as name@example.com.")
		}
		in.Email = &email
	}
	var hash string
	if in.NewPassword != nil {
		var err error
		hash, err = auth.Hash(*in.NewPassword)
		if errors.Is(err, auth.ErrWeakPassword) {
			errs.add("new_password", passwordRule)
		} else if err != nil {
			return nil, err
		}
		if againPassword != nil && *againPassword != *in.NewPassword {
			errs.add("new_password_again", "The two passwords are not the same.")
		}
	}
	emailChanges := email != c.Email
	if len(errs) > 0 {
		return errs, nil
	}
	if emailChanges || in.NewPassword != nil {
		// The current password is checked like a sign-in: throttled, and
		// failures count against the account.
		acctKey, addrKey := h.throttleKeys(t, "signin", c.Email, web.ClientAddr(r))
		wait, err := h.throttled(ctx, []string{acctKey, addrKey}, []int{h.limits.PerAccount, h.limits.PerAddress})
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			return nil, tooMany(wait, "Too many wrong passwords. Try again in %d minutes.")
		}
		ok, err := checkPassword(c, in.CurrentPassword)
		if err != nil {
			return nil, err
		}
		if !ok {
			if err := h.count(ctx, acctKey, addrKey); err != nil {
				h.log.Warn("cannot count a wrong current password", "err", err)
			}
			errs.add("current_password", "This is not your current password.")
			return errs, nil
		}
	}
	validAfter := now()
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE customers SET name = $2, phone = $3, updated_at = now() WHERE id = $1`, c.ID, name, phone); err != nil {
			return fmt.Errorf("update profile of customer %d: %w", c.ID, err)
		}
		if emailChanges {
			_, err := tx.Exec(ctx, `UPDATE customers SET email = $2 WHERE id = $1`, c.ID, email)
			if database.IsUniqueViolation(err) {
				return errEmailTaken
			}
			if err != nil {
				return fmt.Errorf("change e-mail of customer %d: %w", c.ID, err)
			}
		}
		if in.NewPassword != nil {
			return setPasswordTx(ctx, tx, c.ID, hash, validAfter)
		}
		return nil
	})
	if errors.Is(err, errEmailTaken) {
		errs.add("email", "Another account uses this e-mail address.")
		return errs, nil
	}
	if err != nil {
		return nil, err
	}
	if in.NewPassword != nil {
		// Other sessions end; this one carries on with a new token.
		if err := h.sessions.Login(ctx, c.ID); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

type profilePage struct {
	page
	Account            *Customer
	Name, Phone, Email string
	// Form is the form the errors are about: profile, email or password.
	Form string
}

// currentAccount loads the full account of the signed-in customer.
func currentAccount(ctx context.Context) (*Customer, error) {
	c, err := customerByID(ctx, tenant.FromContext(ctx).Pool, current(ctx).ID)
	if errors.Is(err, errNotFound) {
		return nil, &web.Error{Status: http.StatusUnauthorized, Message: "Your account does not exist any more."}
	}
	return c, err
}

// GET /account/profile
func (h *Handler) profileForm(w http.ResponseWriter, r *http.Request) error {
	c, err := currentAccount(r.Context())
	if err != nil {
		return err
	}
	p, err := h.page(r, "Your profile", "profile")
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "account_profile", profilePage{page: p, Account: c, Name: c.Name, Phone: c.Phone, Email: c.Email})
}

// profileSubmit applies one of the profile page's forms.
func (h *Handler) profileSubmit(w http.ResponseWriter, r *http.Request, form string, in *profileChange, again *string, done string) error {
	ctx := r.Context()
	c, err := currentAccount(ctx)
	if err != nil {
		return err
	}
	errs, err := h.changeProfile(ctx, r, c, in, again)
	var we *web.Error
	if len(errs) > 0 || errors.As(err, &we) && we.Status == http.StatusTooManyRequests {
		p, perr := h.page(r, "Your profile", "profile")
		if perr != nil {
			return perr
		}
		pp := profilePage{page: p, Account: c, Name: c.Name, Phone: c.Phone, Email: c.Email, Form: form}
		status := http.StatusUnprocessableEntity
		if we != nil {
			status, errs = we.Status, problems{{"current_password", we.Message}}
			w.Header().Set("Retry-After", fmt.Sprint(we.RetryAfter))
		}
		pp.Errors = errs.Map()
		switch {
		case in.Name != nil:
			pp.Name, pp.Phone = *in.Name, *in.Phone
		case in.Email != nil:
			pp.Email = *in.Email
		}
		return h.render(w, status, "account_profile", pp)
	}
	if err != nil {
		return err
	}
	h.sessions.Flash(ctx, done)
	redirect(w, r, "/account/profile")
	return nil
}

// POST /account/profile: name and phone.
func (h *Handler) profileSave(w http.ResponseWriter, r *http.Request) error {
	name, phone := r.PostFormValue("name"), r.PostFormValue("phone")
	return h.profileSubmit(w, r, "profile", &profileChange{Name: &name, Phone: &phone}, nil, "Your details are saved.")
}

// POST /account/profile/email: a new e-mail address, with the current password.
func (h *Handler) emailSave(w http.ResponseWriter, r *http.Request) error {
	email := r.PostFormValue("email")
	return h.profileSubmit(w, r, "email", &profileChange{Email: &email, CurrentPassword: r.PostFormValue("current_password")},
		nil, "Your e-mail address is changed. Sign in with the new one from now on.")
}

// POST /account/profile/password: a new password, with the current one.
func (h *Handler) passwordSave(w http.ResponseWriter, r *http.Request) error {
	pw, again := r.PostFormValue("new_password"), r.PostFormValue("new_password_again")
	return h.profileSubmit(w, r, "password", &profileChange{NewPassword: &pw, CurrentPassword: r.PostFormValue("current_password")},
		&again, "Your new password is set, and every other session of your account has ended.")
}
