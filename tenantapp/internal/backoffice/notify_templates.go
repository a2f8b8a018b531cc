package backoffice

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/notify"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// templateRow is one kind of e-mail on the templates list.
type templateRow struct {
	Kind     notify.Kind
	Template notify.Template
}

type notifyTemplatesPage struct {
	page
	Rows []templateRow
	Tab  string
	// CanLog says whether the member may open the log tab.
	CanLog bool
}

// GET /admin/notifications/templates: every kind of e-mail the shop
// sends, with its subject and whether the shop changed it.
func (h *Handler) notifyTemplates(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	ts, err := notify.Templates(ctx, t.Pool)
	if err != nil {
		return err
	}
	p := notifyTemplatesPage{page: h.page(r, "E-mail templates"), Tab: "templates", CanLog: Current(ctx).Can("orders.read")}
	for i, k := range notify.Kinds {
		p.Rows = append(p.Rows, templateRow{Kind: k, Template: ts[i]})
	}
	return h.templates.Render(w, http.StatusOK, "admin_notification_templates", p)
}

// placeholder is one line of the editor's list of placeholders.
type placeholder struct {
	Syntax string // {{.OrderURL}}
	Help   string
	Items  []placeholder // a list's fields
}

func placeholders(fields []notify.Field, dot string) []placeholder {
	var out []placeholder
	for _, f := range fields {
		p := placeholder{Syntax: "{{" + dot + f.Name() + "}}", Help: f.Help}
		if f.List {
			if len(f.Items) == 0 {
				p.Syntax = "{{range " + dot + f.Name() + "}}{{.}}{{end}}"
			} else {
				p.Syntax = "{{range " + dot + f.Name() + "}} … {{end}}"
				p.Items = placeholders(f.Items, ".")
			}
		}
		out = append(out, p)
	}
	return out
}

type notifyTemplatePage struct {
	page
	Kind         notify.Kind
	Subject      string
	Body         string
	Custom       bool
	Default      notify.Template
	Placeholders []placeholder
	Errors       map[string]string
	// Preview is the template rendered with the sample data (nil if it
	// has errors).
	Preview *previewParts
	// Edited is true when the preview shows what was typed, not what is
	// saved.
	Edited bool
}

type previewParts struct {
	Subject, Text, HTML string
}

// kindOf is the {kind} of a template route, or a 404.
func kindOf(r *http.Request) (notify.Kind, error) {
	k, ok := notify.KindByName(mux.Vars(r)["kind"])
	if !ok {
		return notify.Kind{}, &web.Error{Status: http.StatusNotFound, Message: "There is no such kind of e-mail."}
	}
	return k, nil
}

// renderTemplateEditor shows the editor with a template (saved or typed)
// and, if it has no errors, its preview with the sample data.
func (h *Handler) renderTemplateEditor(w http.ResponseWriter, r *http.Request, status int, k notify.Kind, tmpl notify.Template, custom, edited bool, errs map[string]string) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	d, _ := notify.Default(k.Name)
	p := notifyTemplatePage{page: h.page(r, k.Title+" e-mail"), Kind: k, Subject: tmpl.Subject, Body: tmpl.Body,
		Custom: custom, Default: d, Placeholders: placeholders(k.Fields, "."), Errors: errs, Edited: edited}
	if len(errs) == 0 {
		shop, err := notify.LoadShop(ctx, t.Pool)
		if err != nil {
			return err
		}
		out, err := notify.Preview(k.Name, tmpl, shop.Theme(t.Entry.Name))
		if err != nil {
			// A saved template that no longer renders (it cannot be
			// saved so): show why, next to the text.
			p.Errors = map[string]string{"body": err.Error()}
		} else {
			p.Preview = &previewParts{Subject: out.Subject, Text: out.Text, HTML: out.HTML}
		}
	}
	return h.templates.Render(w, status, "admin_notification_template", p)
}

// GET /admin/notifications/templates/{kind}: the editor, with the
// template the shop sends now and its preview.
func (h *Handler) notifyTemplateForm(w http.ResponseWriter, r *http.Request) error {
	k, err := kindOf(r)
	if err != nil {
		return err
	}
	tmpl, err := notify.TemplateFor(r.Context(), tenant.FromContext(r.Context()).Pool, k.Name)
	if err != nil {
		return err
	}
	return h.renderTemplateEditor(w, r, http.StatusOK, k, tmpl, tmpl.Custom, false, nil)
}

// typedTemplate is the template of an editor's form; the browser sends
// the text area's lines with CRLF.
func typedTemplate(r *http.Request, kind string) notify.Template {
	return notify.Template{Kind: kind, Subject: strings.TrimSpace(r.PostFormValue("subject")),
		Body: strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")}
}

// errTemplateRefused rolls back a save whose template has errors.
var errTemplateRefused = errors.New("template refused")

// POST /admin/notifications/templates/{kind}: check the template against
// the sample data and save it as the shop's own, or show what is wrong
// (422, with the line).
func (h *Handler) notifyTemplateSave(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	k, err := kindOf(r)
	if err != nil {
		return err
	}
	tmpl := typedTemplate(r, k.Name)
	me := Current(ctx)
	e := actor(r, me)
	var errs map[string]string
	custom := false
	err = database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		before, err := notify.TemplateFor(ctx, tx, k.Name)
		if err != nil {
			return err
		}
		custom = before.Custom
		if errs, err = notify.SaveTemplate(ctx, tx, k.Name, tmpl.Subject, tmpl.Body, me.ID); err != nil {
			return err
		}
		if errs != nil {
			return errTemplateRefused
		}
		e.Action, e.TargetType, e.TargetID = "notification_template.save", "notification_template", k.Name
		e.Before = map[string]any{"subject": before.Subject, "body": before.Body, "custom": before.Custom}
		e.After = map[string]any{"subject": tmpl.Subject, "body": tmpl.Body}
		return staff.Audit(ctx, tx, e)
	})
	if errors.Is(err, errTemplateRefused) {
		return h.renderTemplateEditor(w, r, http.StatusUnprocessableEntity, k, tmpl, custom, true, errs)
	}
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, "Saved. Every "+lower(k.Title)+" e-mail from now on uses it.")
	http.Redirect(w, r, t.Base+"/admin/notifications/templates/"+k.Name, http.StatusSeeOther)
	return nil
}

// POST /admin/notifications/templates/{kind}/preview: render what was
// typed with the sample data, without saving it.
func (h *Handler) notifyTemplatePreview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	k, err := kindOf(r)
	if err != nil {
		return err
	}
	saved, err := notify.TemplateFor(ctx, tenant.FromContext(ctx).Pool, k.Name)
	if err != nil {
		return err
	}
	tmpl := typedTemplate(r, k.Name)
	if errs := notify.Check(k.Name, tmpl.Subject, tmpl.Body); errs != nil {
		return h.renderTemplateEditor(w, r, http.StatusUnprocessableEntity, k, tmpl, saved.Custom, true, errs)
	}
	return h.renderTemplateEditor(w, r, http.StatusOK, k, tmpl, saved.Custom, true, nil)
}

// POST /admin/notifications/templates/{kind}/reset: drop the shop's own
// version; the default is sent again.
func (h *Handler) notifyTemplateReset(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	k, err := kindOf(r)
	if err != nil {
		return err
	}
	e := actor(r, Current(ctx))
	var had bool
	err = database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		before, err := notify.TemplateFor(ctx, tx, k.Name)
		if err != nil {
			return err
		}
		if had, err = notify.ResetTemplate(ctx, tx, k.Name); err != nil || !had {
			return err
		}
		e.Action, e.TargetType, e.TargetID = "notification_template.reset", "notification_template", k.Name
		e.Before = map[string]any{"subject": before.Subject, "body": before.Body}
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	if had {
		h.sessions.Put(ctx, keyFlash, "Back to the default: every "+lower(k.Title)+" e-mail from now on uses it.")
	} else {
		h.sessions.Put(ctx, keyFlash, "This e-mail uses the default already.")
	}
	http.Redirect(w, r, t.Base+"/admin/notifications/templates/"+k.Name, http.StatusSeeOther)
	return nil
}
