// Package console is the admin console of the control plane: server-rendered
// pages for platform admins to sign in, see the platform at a glance and
// create, suspend, resume and delete vendors. Every form works without
// JavaScript; Alpine.js only adds confirmations.
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
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/static"
	"github.com/storefleet/storefleet/templates"
)

// Options are the console's dependencies.
type Options struct {
	Store     *platform.Store
	Prov      *provision.Provisioner
	Sessions  *scs.SessionManager
	Responder *web.Responder
	// TenantPublicURL is how shoppers reach a vendor, with {host} standing
	// for the vendor's host name (config.Config.TenantPublicURL).
	TenantPublicURL string
	Logger          *slog.Logger
}

// Handler serves the console's pages.
type Handler struct {
	store     *platform.Store
	prov      *provision.Provisioner
	sessions  *scs.SessionManager
	rs        *web.Responder
	tmpl      *web.Templates
	tenantURL string
	log       *slog.Logger
}

// New parses every console template (a broken one stops the start) and
// returns the console.
func New(o Options) (*Handler, error) {
	h := &Handler{store: o.Store, prov: o.Prov, sessions: o.Sessions, rs: o.Responder,
		tenantURL: o.TenantPublicURL, log: o.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
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
		"storeURL":   h.storeURL,
		"stateClass": stateClass,
		"jsonText":   jsonText,
	}
	h.tmpl, err = web.ParseTemplates(templates.FS, "controlplane", funcs)
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	for _, p := range []string{"login", "dashboard", "vendor_list", "vendor_new", "vendor_show", "audit_list", "token_list", "error"} {
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
		data["Flashes"] = flashes
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
