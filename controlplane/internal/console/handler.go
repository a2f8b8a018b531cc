// Package console is the admin console of the control plane: server-rendered
// pages for platform admins to sign in, see the platform at a glance,
// create, suspend, resume and delete vendors, follow and resume schema
// rollouts, back up, verify, restore and move vendors, and handle platform
// alerts. Every form works without JavaScript; Alpine.js only adds
// confirmations and live progress.
//
// One file per action; every route is declared in routes.go.
package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/storefleet/storefleet/controlplane/internal/admins"
	"github.com/storefleet/storefleet/controlplane/internal/alerts"
	"github.com/storefleet/storefleet/controlplane/internal/backups"
	"github.com/storefleet/storefleet/controlplane/internal/monitor"
	"github.com/storefleet/storefleet/controlplane/internal/rollouts"
	"github.com/storefleet/storefleet/internal/domains"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/static"
	"github.com/storefleet/storefleet/templates"
)

// Options are the console's dependencies.
type Options struct {
	Store *platform.Store
	Prov  *provision.Provisioner
	// Rollouts reads and resumes schema rollouts; app.Main shares one with
	// the API and closes it at shutdown. If nil, one over Store and Prov
	// with migrate.Tenant is made, whose background runs are never
	// cancelled.
	Rollouts *rollouts.Service
	// Backups starts backups, verifications, restores and moves in the
	// background; app.Main shares one with the API and closes its
	// operations at shutdown. If nil, one without a backup service is made:
	// the vendor pages then fail.
	Backups   *backups.Service
	Sessions  *scs.SessionManager
	Responder *web.Responder
	// TenantPublicURL is how shoppers reach a vendor, with {host} standing
	// for the vendor's host name (config.Config.TenantPublicURL).
	TenantPublicURL string
	Logger          *slog.Logger
	// ViewAsKey signs "view as vendor" tickets (viewas.Key of the master
	// key); without it the button answers an error.
	ViewAsKey []byte
	// Domains manages the vendors' custom domains (domain_*.go).
	Domains *domains.Service

	// Admins manages admins, two-factor sign-in and session records.
	Admins *admins.Service
}

// Handler serves the console's pages.
type Handler struct {
	store     *platform.Store
	prov      *provision.Provisioner
	rollouts  *rollouts.Service
	backups   *backups.Service
	sessions  *scs.SessionManager
	admins    *admins.Service
	rs        *web.Responder
	tmpl      *web.Templates
	tenantURL string
	log       *slog.Logger
	viewAsKey []byte
	domains   *domains.Service
	monitor   *monitor.Monitor // health and jobs (issue 8): set by SetMonitor, monitoring_routes.go / job_routes.go
}

// New parses every console template (a broken one stops the start) and
// returns the console.
func New(o Options) (*Handler, error) {
	h := &Handler{store: o.Store, prov: o.Prov, rollouts: o.Rollouts, backups: o.Backups, sessions: o.Sessions, admins: o.Admins, rs: o.Responder,
		tenantURL: o.TenantPublicURL, log: o.Logger, domains: o.Domains}
	h.viewAsKey = o.ViewAsKey
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.rollouts == nil {
		h.rollouts = rollouts.New(rollouts.Options{Store: o.Store, Prov: o.Prov, Logger: h.log})
	}
	if h.backups == nil {
		h.backups = backups.New(backups.Options{Store: o.Store, Logger: h.log})
	}
	assets, err := assetVersions()
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"asset": func(p string) (string, error) {
			v, ok := assets[p]
			if !ok {
				return "", fmt.Errorf("no static file %q", p)
			}
			return "/static/" + p + "?v=" + v, nil
		},
		"storeURL":    h.storeURL,
		"stateClass":  stateClass,
		"statusClass": statusClass,
		"jsonText":    jsonText,
		"duration":    duration,
		"millis":      millis,
		"version":     version,
		"historyRun":  historyRun,
		"bytes":       humanBytes,
		"took":        took,
		"backupClass": backupClass,
		"verifyClass": verifyClass,
		"alertClass":  alertClass,
		"opClass":     opClass,
		"clock":       clock,
		"dict":        dict,
	}
	h.tmpl, err = web.ParseTemplates(templates.FS, "controlplane", funcs)
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	for _, p := range []string{"login", "dashboard", "vendor_list", "vendor_new", "vendor_show", "audit_list", "token_list",
		"migration_list", "migration_show", "backup_list", "error"} {
		if !h.tmpl.Has(p) {
			return nil, fmt.Errorf("console templates: page %s is missing", p)
		}
	}
	return h, nil
}

// assetVersions fingerprints every static file, so pages can link them
// with ?v=<hash> and /static/ can be cached for a long time.
func assetVersions() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(static.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static.FS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p] = hex.EncodeToString(sum[:4])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprint static files: %w", err)
	}
	return out, nil
}

// storeURL is the address shoppers use for a vendor's host.
func (h *Handler) storeURL(host string) string {
	if host == "" {
		return ""
	}
	u := strings.ReplaceAll(h.tenantURL, "{host}", host)
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// stateClass is the badge class of a vendor state.
func stateClass(s platform.State) string {
	switch {
	case s.Provisioning():
		return "provisioning"
	case s == platform.StateActive, s == platform.StateSuspended, s == platform.StateDeleting, s == platform.StateDeleted:
		return string(s)
	}
	return ""
}

// statusClass is the badge class of a rollout run's state or a vendor's
// result in one.
func statusClass(s string) string {
	switch s {
	case "finished", "migrated":
		return "ok"
	case "failed":
		return "bad"
	case "interrupted":
		return "warn"
	case "running":
		return "info"
	}
	return "" // pending, skipped
}

// duration is a duration for people: "340 ms", "12.3 s", "4 min 05 s".
func duration(d time.Duration) string { return backups.Duration(d) }

// millis is a stored duration in milliseconds for people; "" if unknown.
func millis(ms *int64) string {
	if ms == nil {
		return ""
	}
	return duration(time.Duration(*ms) * time.Millisecond)
}

// version is a schema version for people: "v3", "none" for 0, and "—"
// for a version not recorded (yet).
func version(v any) string {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case *int64:
		if x == nil {
			return "—"
		}
		n = *x
	default:
		return fmt.Sprint(v)
	}
	if n == 0 {
		return "none"
	}
	return "v" + strconv.FormatInt(n, 10)
}

// historyRun is the run id in a vendor history entry's label ("run 12"),
// or 0.
func historyRun(label string) int64 {
	id, err := strconv.ParseInt(strings.TrimPrefix(label, "run "), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// jsonText pretty-prints a stored JSON value for people.
func jsonText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // html/template escapes it for the page
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return string(b)
	}
	return strings.TrimSpace(out.String())
}

// Session keys.
const (
	keyAdminID    = "admin_id"
	keyCSRF       = "csrf_token"
	keyFlashOK    = "flash_ok"
	keyFlashError = "flash_error"
	// keyPendingOps lists the operations this session started whose
	// outcome it has not been shown yet (ids separated by commas).
	keyPendingOps = "pending_ops"
)

type ctxKey int

const (
	adminKey ctxKey = iota + 1
	sessionKey
)

// adminFrom returns the signed-in admin, or nil.
func adminFrom(ctx context.Context) *platform.Admin {
	a, _ := ctx.Value(adminKey).(*platform.Admin)
	return a
}

// hasSession reports whether the request's session has been loaded (it is
// not for the pages that the console's error page renders outside /admin).
func hasSession(ctx context.Context) bool {
	ok, _ := ctx.Value(sessionKey).(bool)
	return ok
}

// actor is the signed-in admin as the audit log records them.
func actor(r *http.Request) platform.Actor {
	a := adminFrom(r.Context())
	act := platform.Actor{Kind: "admin", ClientAddr: web.ClientAddr(r), RequestID: web.RequestID(r.Context())}
	if a != nil {
		act.AdminID, act.Name = a.ID, a.Email
	}
	return act
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfToken returns the session's form token, making one if needed.
func (h *Handler) csrfToken(ctx context.Context) string {
	tok := h.sessions.GetString(ctx, keyCSRF)
	if tok == "" {
		tok = randomToken()
		h.sessions.Put(ctx, keyCSRF, tok)
	}
	return tok
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind    string // "ok" or "error"
	Message string
}

func (h *Handler) flashOK(ctx context.Context, format string, args ...any) {
	h.sessions.Put(ctx, keyFlashOK, fmt.Sprintf(format, args...))
}

func (h *Handler) flashError(ctx context.Context, format string, args ...any) {
	h.sessions.Put(ctx, keyFlashError, fmt.Sprintf(format, args...))
}

// redirect answers a form post with 303 See Other.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// render executes a page with the data every page shares: the admin, the
// form token, the flash messages and the Alpine.js path.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	ctx := r.Context()
	data["Admin"] = adminFrom(ctx)
	data["Alpine"] = static.Alpine
	if hasSession(ctx) {
		data["CSRF"] = h.csrfToken(ctx)
		var flashes []flash
		if m := h.sessions.PopString(ctx, keyFlashOK); m != "" {
			flashes = append(flashes, flash{"ok", m})
		}
		if m := h.sessions.PopString(ctx, keyFlashError); m != "" {
			flashes = append(flashes, flash{"error", m})
		}
		ended, shown := h.endedOps(ctx)
		data["Flashes"] = append(flashes, ended...)
		data["FlashedOps"] = shown
	} else {
		data["FlashedOps"] = map[int64]bool{}
	}
	if adminFrom(ctx) != nil {
		counts, err := alerts.CountUnresolved(ctx, h.store)
		if err != nil { // the badge is not worth failing the page for
			h.log.Error("cannot count alerts", "request_id", web.RequestID(ctx), "err", err)
		}
		data["AlertCounts"] = counts
		data["UnreadNotices"] = h.unreadNotices(ctx)
	}
	return h.tmpl.Render(w, status, page, data)
}

// ErrorPage renders an error as a console page; web.Responder calls it.
func (h *Handler) ErrorPage(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	w.Header().Set("Cache-Control", "no-store")
	err := h.render(w, r, status, "error", map[string]any{
		"Title": title, "Status": status, "Message": message, "RequestID": web.RequestID(r.Context()),
	})
	if err != nil {
		h.log.Error("cannot render the error page", "request_id", web.RequestID(r.Context()), "err", err)
		http.Error(w, message, status)
	}
}

func slogAdmin(a *platform.Admin) slog.Attr { return slog.String("admin", a.Email) }
