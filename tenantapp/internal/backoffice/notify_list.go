package backoffice

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/notify"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// notifyPageSize is how many e-mails the log shows at once.
const notifyPageSize = 50

// notifyRow is one e-mail of the log, with its kind's title.
type notifyRow struct {
	*notify.Notification
	KindTitle string
}

type notifyListPage struct {
	page
	Rows     []notifyRow
	Kinds    []notify.Kind
	States   []string
	Kind     string
	State    string
	Errors   map[string]string
	Filtered bool
	OlderURL string
	// CanRetry and CanEdit say which buttons and tabs the member gets.
	CanRetry bool
	CanEdit  bool
	Tab      string
}

// kindTitle is how the back office names a kind of e-mail.
func kindTitle(kind string) string {
	if k, ok := notify.KindByName(kind); ok {
		return k.Title
	}
	return kind
}

// GET /admin/notifications: the shop's e-mails, newest first, filtered by
// kind and state, 50 at a time (?before=id for older ones).
func (h *Handler) notifyList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	me := Current(ctx)
	q := r.URL.Query()
	p := notifyListPage{page: h.page(r, "E-mails"), Kinds: notify.Kinds, States: notify.States,
		Kind: q.Get("kind"), State: q.Get("state"), Errors: map[string]string{},
		CanRetry: me.Can("orders.write"), CanEdit: me.Can("settings.write"), Tab: "log"}
	p.Filtered = p.Kind != "" || p.State != ""
	if _, ok := notify.KindByName(p.Kind); p.Kind != "" && !ok {
		p.Errors["kind"] = "Choose one of the kinds of e-mail."
	}
	if p.State != "" && !slices.Contains(notify.States, p.State) {
		p.Errors["state"] = "Choose one of the states."
	}
	if len(p.Errors) > 0 {
		return h.templates.Render(w, http.StatusUnprocessableEntity, "admin_notifications", p)
	}
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	rows, more, err := notify.List(ctx, t.Pool, notify.Filter{Kind: p.Kind, State: p.State, Before: before, Limit: notifyPageSize})
	if err != nil {
		return err
	}
	for _, n := range rows {
		p.Rows = append(p.Rows, notifyRow{Notification: n, KindTitle: kindTitle(n.Kind)})
	}
	if more {
		v := url.Values{}
		if p.Kind != "" {
			v.Set("kind", p.Kind)
		}
		if p.State != "" {
			v.Set("state", p.State)
		}
		v.Set("before", strconv.FormatInt(rows[len(rows)-1].ID, 10))
		p.OlderURL = t.Base + "/admin/notifications?" + v.Encode()
	}
	// E-mails that wait for longer than they should lost their request
	// to the job system (a control plane that was down): ask again.
	if stalled, err := notify.Stalled(ctx, t.Pool); err != nil {
		h.log.Warn("cannot look for stalled e-mails", "vendor", t.Entry.Slug, "err", err)
	} else if stalled {
		h.sendQueued(ctx, t)
	}
	return h.templates.Render(w, http.StatusOK, "admin_notifications", p)
}

// POST /admin/notifications/{id}/retry: queue a failed e-mail again.
func (h *Handler) notifyRetry(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	e := actor(r, Current(ctx))
	var n *notify.Notification
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		var err error
		if n, err = notify.Retry(ctx, tx, id); err != nil {
			return err
		}
		e.Action, e.TargetType, e.TargetID = "notification.retry", "notification", fmt.Sprint(id)
		e.After = map[string]any{"kind": n.Kind, "to": n.To}
		return staff.Audit(ctx, tx, e)
	})
	switch {
	case errors.Is(err, notify.ErrNotFound):
		return &web.Error{Status: http.StatusNotFound, Message: "There is no such e-mail in the log.", Err: err}
	case errors.Is(err, notify.ErrNotRetryable):
		msg := "Only an e-mail that failed can be sent again."
		if n != nil && n.LinkRemoved {
			msg = "This e-mail carried a one-time link, which was removed when it failed: send a new invitation from the Team page, or have the customer ask for a new link."
		}
		return &web.Error{Status: http.StatusConflict, Message: msg, Err: err}
	case err != nil:
		return err
	}
	h.sendQueued(ctx, t)
	h.sessions.Put(ctx, keyFlash, "The "+lower(kindTitle(n.Kind))+" to "+n.To+" is queued again.")
	back := url.Values{}
	for _, k := range []string{"kind", "state"} {
		if v := r.PostFormValue(k); v != "" {
			back.Set(k, v)
		}
	}
	dest := t.Base + "/admin/notifications"
	if len(back) > 0 {
		dest += "?" + back.Encode()
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
	return nil
}

func lower(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
