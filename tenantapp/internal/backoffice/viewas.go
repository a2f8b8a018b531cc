package backoffice

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/viewas"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// A platform admin's read-only "view as vendor": the console sends the
// admin here with a signed single-use ticket (internal/viewas); this file
// checks it, has the control plane redeem it (which audits it), and makes
// a back-office session marked read-only. In such a session every request
// but GET and HEAD is refused, except signing out.

// keyViewAs holds the e-mail of the platform admin a read-only session
// belongs to; such a session has no staff id.
const keyViewAs = "view_as"

// viewAsLifetime is how long a read-only session lasts at most. It is not
// checked against the control plane again once opened, so it is kept
// short: disabling an admin ends their view within this time.
const viewAsLifetime = 10 * time.Minute

// ViewAsRedeemer redeems a ticket on the control plane (through the
// router role's redeem_view_as_ticket) and returns the admin's e-mail.
type ViewAsRedeemer interface {
	RedeemViewAs(ctx context.Context, t *viewas.Ticket, vendorID int64, clientAddr, requestID string) (string, error)
}

// viewAsSetup is what SetViewAs gives.
type viewAsSetup struct {
	redeemer ViewAsRedeemer
	key      []byte
}

// SetViewAs enables "view as vendor" with the tickets' key
// (viewas.Key of the master key). Without it the route answers 404.
func (h *Handler) SetViewAs(r ViewAsRedeemer, key []byte) *Handler {
	h.viewAs = &viewAsSetup{redeemer: r, key: key}
	return h
}

// viewAsRoutes registers the ticket's landing page on the back office's
// subrouter (sessions and CSRF, no sign-in).
func (h *Handler) viewAsRoutes(admin *mux.Router) {
	admin.Handle("/impersonate", h.rs.Wrap(h.viewAsStart)).Methods(http.MethodGet)
}

// GET /admin/impersonate?ticket=...
func (h *Handler) viewAsStart(w http.ResponseWriter, r *http.Request) error {
	if h.viewAs == nil {
		return &web.Error{Status: http.StatusNotFound, Message: "This page does not exist in the shop."}
	}
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	refuse := func(why string) error {
		return &web.Error{Status: http.StatusForbidden,
			Message: "This view-as link cannot be used: " + why + ". Open the vendor again from the admin console."}
	}
	ticket, err := viewas.Parse(h.viewAs.key, r.URL.Query().Get("ticket"), t.Entry.VendorID, time.Now())
	switch {
	case errors.Is(err, viewas.ErrMalformed):
		return refuse("it is not a valid ticket")
	case err != nil:
		// Signed but expired or for another shop: the control plane
		// records the refusal (and would refuse it too).
		if _, rerr := h.viewAs.redeemer.RedeemViewAs(ctx, ticket, t.Entry.VendorID, web.ClientAddr(r), web.RequestID(ctx)); rerr != nil &&
			!errors.Is(rerr, viewas.ErrUsed) {
			h.log.Warn("cannot record a refused view-as ticket", "err", rerr)
		}
		if errors.Is(err, viewas.ErrVendor) {
			return refuse("it was made for another shop")
		}
		return refuse("it has expired (tickets last a minute)")
	}
	email, err := h.viewAs.redeemer.RedeemViewAs(ctx, ticket, t.Entry.VendorID, web.ClientAddr(r), web.RequestID(ctx))
	if errors.Is(err, viewas.ErrUsed) {
		return refuse("it has already been used")
	}
	if err != nil {
		return err
	}
	// The shop's own audit log says so too.
	if err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		return staff.Audit(ctx, tx, staff.Entry{Actor: "platform:" + email, Action: "platform.view_as", TargetType: "shop",
			After: map[string]any{"read_only": true}, ClientAddr: web.ClientAddr(r), RequestID: web.RequestID(ctx)})
	}); err != nil {
		return err
	}
	if err := h.sessions.RenewToken(ctx); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	h.sessions.Put(ctx, keyStaff, int64(0))
	h.sessions.Put(ctx, keyViewAs, email)
	h.sessions.Put(ctx, keyVendor, t.Entry.VendorID)
	h.sessions.Put(ctx, keyCreated, now)
	h.sessions.Put(ctx, keySeen, now)
	http.Redirect(w, r, t.Base+"/admin/", http.StatusSeeOther)
	return nil
}

// viewAsMember is the member a read-only session acts as: the platform
// admin, with every permission the shop knows, for reading. It returns
// nil for other sessions, and for a read-only session made on another
// shop or past its lifetime.
func (h *Handler) viewAsMember(ctx context.Context, t *tenant.Tenant) (*staff.Member, error) {
	email := h.sessions.GetString(ctx, keyViewAs)
	if email == "" || h.sessions.GetInt64(ctx, keyVendor) != t.Entry.VendorID {
		return nil, nil
	}
	now := time.Now()
	created := time.Unix(0, h.sessions.GetInt64(ctx, keyCreated))
	seen := time.Unix(0, h.sessions.GetInt64(ctx, keySeen))
	if now.Sub(created) > viewAsLifetime || now.Sub(seen) > sessionIdle {
		return nil, nil
	}
	if now.Sub(seen) > seenEvery {
		h.sessions.Put(ctx, keySeen, now.UnixNano())
	}
	perms, err := staff.KnownPermissions(ctx, t.Pool)
	if err != nil {
		return nil, err
	}
	m := &staff.Member{Email: email, Name: "Platform admin " + email, RoleName: "platform admin, read-only",
		Status: "active", SessionsValidAfter: created, CreatedAt: created}
	for _, p := range perms {
		m.Permissions = append(m.Permissions, p.Name)
	}
	return m, nil
}

// viewingAs is the admin a read-only session belongs to, or "".
func (h *Handler) viewingAs(ctx context.Context) string {
	return h.sessions.GetString(ctx, keyViewAs)
}

// refuseWritesWhenViewing answers 403 to every request of a read-only
// session that is not GET or HEAD, but signing out.
func (h *Handler) refuseWritesWhenViewing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead && h.viewingAs(r.Context()) != "" &&
			!(r.Method == http.MethodPost && isLogout(r)) {
			h.rs.Error(w, r, &web.Error{Status: http.StatusForbidden,
				Message: "This is a read-only view of the back office (viewing as " + h.viewingAs(r.Context()) + "): nothing can be changed."})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isLogout reports whether r is the back office's sign-out.
func isLogout(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/admin/logout") }
