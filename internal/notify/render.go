package notify

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/storefleet/storefleet/internal/mail"
)

//go:embed defaults/*.txt
var defaultsFS embed.FS

// Template is a kind's subject and plain-text body in Go's text/template
// syntax ({{.ShopName}}, {{range .Lines}}…{{end}}). The HTML part of an
// e-mail is made from the text, never written by the shop.
type Template struct {
	Kind    string
	Subject string
	Body    string
	// Custom is true for the shop's own version (notification_templates),
	// false for the built-in default.
	Custom    bool
	UpdatedAt time.Time
}

// Limits of a template, as the database checks them.
const (
	MaxSubject = 300
	MaxBody    = 20000
)

// Default returns the built-in template of a kind.
func Default(kind string) (Template, bool) {
	subj, err1 := defaultsFS.ReadFile("defaults/" + kind + ".subject.txt")
	body, err2 := defaultsFS.ReadFile("defaults/" + kind + ".txt")
	if err1 != nil || err2 != nil {
		return Template{}, false
	}
	return Template{Kind: kind, Subject: strings.TrimSpace(string(subj)), Body: string(body)}, true
}

// Theme is how the HTML part looks: the shop's name and accent colours
// (shop_profile).
type Theme struct {
	ShopName  string
	Accent    string // #rrggbb
	AccentInk string // #rrggbb, text on the accent colour
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (t Theme) colours() (accent, ink string) {
	accent, ink = "#0b7285", "#ffffff"
	if hexColor.MatchString(t.Accent) {
		accent = t.Accent
	}
	if hexColor.MatchString(t.AccentInk) {
		ink = t.AccentInk
	}
	return accent, ink
}

// The functions an e-mail template may call: text/template's comparisons
// and a few helpers. call, printf (its widths allocate), html, js,
// urlquery and template invocations are refused when a template is
// parsed.
var allowedFuncs = map[string]bool{
	"and": true, "or": true, "not": true, "eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
	"len": true, "index": true, "slice": true, "print": true, "println": true,
	"upper": true, "lower": true, "trim": true,
}

var extraFuncs = template.FuncMap{
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"trim":  strings.TrimSpace,
}

// parseTemplate parses one part of a template and checks it uses only what
// e-mail templates may: placeholders, if/with/range over a list of the
// data (not nested), and the allowed functions.
func parseTemplate(name, src string) (*template.Template, error) {
	t, err := template.New(name).Funcs(extraFuncs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("template: %s:1: {{define}} and {{block}} are not available in e-mail templates", name)
	}
	if t.Tree == nil {
		return t, nil
	}
	v := vetter{tree: t.Tree}
	if err := v.node(t.Root); err != nil {
		return nil, err
	}
	return t, nil
}

type vetter struct {
	tree    *parse.Tree
	inRange bool
}

func (v *vetter) fail(n parse.Node, msg string) error {
	loc, _ := v.tree.ErrorContext(n)
	return fmt.Errorf("template: %s: %s", loc, msg)
}

func (v *vetter) node(n parse.Node) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := v.node(c); err != nil {
				return err
			}
		}
		return nil
	case *parse.ActionNode:
		return v.pipe(n.Pipe)
	case *parse.IfNode:
		return v.branch(&n.BranchNode)
	case *parse.WithNode:
		return v.branch(&n.BranchNode)
	case *parse.RangeNode:
		if v.inRange {
			return v.fail(n, "a {{range}} inside another {{range}} is not available in e-mail templates")
		}
		if !rangesOverData(n.Pipe) {
			return v.fail(n, "{{range}} goes over a list of the placeholders only, such as {{range .Lines}}")
		}
		if err := v.pipe(n.Pipe); err != nil {
			return err
		}
		v.inRange = true
		err := v.node(n.List)
		v.inRange = false
		if err != nil {
			return err
		}
		return v.node(n.ElseList)
	case *parse.TemplateNode:
		return v.fail(n, "{{template}} is not available in e-mail templates")
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
		return nil
	}
	return v.fail(n, "this is not available in e-mail templates")
}

func (v *vetter) branch(b *parse.BranchNode) error {
	if err := v.pipe(b.Pipe); err != nil {
		return err
	}
	if err := v.node(b.List); err != nil {
		return err
	}
	return v.node(b.ElseList)
}

func (v *vetter) pipe(p *parse.PipeNode) error {
	if p == nil {
		return nil
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			if err := v.arg(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (v *vetter) arg(n parse.Node) error {
	switch n := n.(type) {
	case *parse.IdentifierNode:
		if !allowedFuncs[n.Ident] {
			return v.fail(n, fmt.Sprintf("the function %q is not available in e-mail templates", n.Ident))
		}
	case *parse.PipeNode:
		return v.pipe(n)
	case *parse.ChainNode:
		return v.arg(n.Node)
	}
	return nil
}

// rangesOverData reports whether a range's pipeline is one field of the
// data (.Lines, $.ShippingAddress, $line.X): never a number, whose
// range could run for ever.
func rangesOverData(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		return true
	case *parse.VariableNode:
		return len(a.Ident) > 1
	}
	return false
}

// errTooLong stops a template whose output outgrows an e-mail.
var errTooLong = errors.New("the e-mail would be longer than 512 KB")

type limitWriter struct {
	b    strings.Builder
	left int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, errTooLong
	}
	l.left -= len(p)
	return l.b.Write(p)
}

func execute(t *template.Template, data any, limit int) (string, error) {
	w := &limitWriter{left: limit}
	if err := t.Execute(w, data); err != nil {
		return "", err
	}
	return w.b.String(), nil
}

// templateData turns a message's data (snake_case keys, as Message.Data
// and the outbox hold it) into what templates see: the same values under
// their placeholder names (order_url → OrderURL), every value text or a
// list, and every field of the kind present (empty if the data lacks it).
func templateData(k Kind, data map[string]any) map[string]any {
	out := make(map[string]any, len(data)+len(k.Fields))
	for key, v := range data {
		out[placeholder(key)] = plain(v)
	}
	fill(out, k.Fields)
	return out
}

func fill(m map[string]any, fields []Field) {
	for _, f := range fields {
		v, ok := m[f.Name()]
		switch {
		case !ok && f.List:
			m[f.Name()] = []any{}
		case !ok:
			m[f.Name()] = ""
		case f.List && len(f.Items) > 0:
			items, _ := v.([]any)
			for _, it := range items {
				if rec, ok := it.(map[string]any); ok {
					fill(rec, f.Items)
				}
			}
		}
	}
}

// plain makes a JSON value into text, lists and records of text.
func plain(v any) any {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = plain(x)
		}
		return out
	case []string:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = x
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[placeholder(k)] = plain(x)
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = plain(x)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[placeholder(k)] = x
		}
		return out
	}
	return fmt.Sprint(v)
}

// Render renders a template of kind with a message's data: the subject
// on one line, the text as written, and the HTML part made from the text
// (escaped, links made clickable, in the shop's colours).
func Render(kind string, tmpl Template, data map[string]any, theme Theme) (*mail.Rendered, error) {
	k, ok := KindByName(kind)
	if !ok {
		return nil, fmt.Errorf("no e-mail kind %q", kind)
	}
	st, err := parseTemplate("subject", tmpl.Subject)
	if err != nil {
		return nil, fmt.Errorf("subject of %s: %w", kind, err)
	}
	bt, err := parseTemplate("body", tmpl.Body)
	if err != nil {
		return nil, fmt.Errorf("body of %s: %w", kind, err)
	}
	d := templateData(k, data)
	subj, err := execute(st, d, 4096)
	if err != nil {
		return nil, fmt.Errorf("subject of %s: %w", kind, err)
	}
	body, err := execute(bt, d, 512<<10)
	if err != nil {
		return nil, fmt.Errorf("body of %s: %w", kind, err)
	}
	subject := strings.Join(strings.Fields(subj), " ")
	if subject == "" {
		return nil, fmt.Errorf("subject of %s: it is empty", kind)
	}
	text := strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n")) + "\n"
	h, err := toHTML(theme, subject, text)
	if err != nil {
		return nil, fmt.Errorf("HTML part of %s: %w", kind, err)
	}
	return &mail.Rendered{Subject: subject, Text: text, HTML: h}, nil
}

// Preview renders a template with its kind's sample data.
func Preview(kind string, tmpl Template, theme Theme) (*mail.Rendered, error) {
	k, ok := KindByName(kind)
	if !ok {
		return nil, fmt.Errorf("no e-mail kind %q", kind)
	}
	return Render(kind, tmpl, k.Sample, theme)
}

// Check parses a template of kind and renders it with the kind's sample
// data; it returns what is wrong by field ("subject", "body"), with the
// line of the body where it is, or nil if the template is good.
func Check(kind, subject, body string) map[string]string {
	errs := map[string]string{}
	k, ok := KindByName(kind)
	if !ok {
		errs["kind"] = "There is no such kind of e-mail."
		return errs
	}
	switch {
	case strings.TrimSpace(subject) == "":
		errs["subject"] = "Enter a subject."
	case len(subject) > MaxSubject:
		errs["subject"] = fmt.Sprintf("Keep the subject under %d characters.", MaxSubject)
	case strings.ContainsAny(subject, "\r\n"):
		errs["subject"] = "The subject is one line."
	}
	switch {
	case strings.TrimSpace(body) == "":
		errs["body"] = "Enter the text of the e-mail."
	case len(body) > MaxBody:
		errs["body"] = fmt.Sprintf("Keep the text under %d characters.", MaxBody)
	}
	data := templateData(k, k.Sample)
	if _, ok := errs["subject"]; !ok {
		if t, err := parseTemplate("subject", subject); err != nil {
			errs["subject"] = explain(err, false)
		} else if out, err := execute(t, data, 4096); err != nil {
			errs["subject"] = explain(err, false)
		} else if strings.TrimSpace(out) == "" {
			errs["subject"] = "The subject comes out empty with the sample data."
		}
	}
	if _, ok := errs["body"]; !ok {
		if t, err := parseTemplate("body", body); err != nil {
			errs["body"] = explain(err, true)
		} else if _, err := execute(t, data, 512<<10); err != nil {
			errs["body"] = explain(err, true)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

var templateError = regexp.MustCompile(`^template: [a-z]+:(\d+)(?::\d+)?: (?:executing "[^"]*" at <([^>]*)>: )?(.*)$`)

// explain turns a template error into a sentence for the editor, with
// the line it is on.
func explain(err error, withLine bool) string {
	if errors.Is(err, errTooLong) {
		return "The e-mail comes out longer than 512 KB with the sample data."
	}
	m := templateError.FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	line, at, msg := m[1], m[2], m[3]
	switch {
	case strings.HasPrefix(msg, "map has no entry for key"):
		msg = "{{" + at + "}} is not a placeholder of this e-mail (see the list of placeholders)."
	case msg == "unexpected EOF":
		msg = "the text ends before an {{if}}, {{range}} or {{with}} has its {{end}}."
	case strings.HasPrefix(msg, `function "`) && strings.HasSuffix(msg, `" not defined`):
		msg = "the function " + strings.TrimSuffix(strings.TrimPrefix(msg, "function "), " not defined") + " is not available in e-mail templates."
	case !strings.HasSuffix(msg, "."):
		msg += "."
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !withLine && line == "1" {
		return msg
	}
	return "Line " + line + ": " + msg
}

var urlPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

var htmlLayout = htmltemplate.Must(htmltemplate.New("mail").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Subject}}</title></head>
<body style="margin:0;padding:24px;background:#f6f7f9;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2430">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #e2e6ec;border-radius:8px;overflow:hidden">
<div style="background:{{.Accent}};color:{{.Ink}};padding:14px 24px;font-weight:700;font-size:17px">{{.ShopName}}</div>
<div style="padding:8px 24px 16px">
{{.Body}}
</div>
</div>
</body>
</html>
`))

// toHTML makes the HTML part from the text: every character escaped,
// paragraphs at blank lines, http(s) addresses made into links.
func toHTML(theme Theme, subject, text string) (string, error) {
	accent, ink := theme.colours()
	var b strings.Builder
	for _, para := range strings.Split(text, "\n\n") {
		para = strings.Trim(para, "\n")
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString(`<p style="margin:12px 0">`)
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			linkify(&b, line, accent)
		}
		b.WriteString("</p>\n")
	}
	var out strings.Builder
	err := htmlLayout.Execute(&out, struct {
		Subject, ShopName string
		Accent, Ink       htmltemplate.CSS
		Body              htmltemplate.HTML
	}{subject, theme.ShopName, htmltemplate.CSS(accent), htmltemplate.CSS(ink), htmltemplate.HTML(b.String())}) //nolint:gosec // escaped by linkify; colours checked against hexColor
	return out.String(), err
}

// linkify writes line escaped, with its http(s) addresses as links.
func linkify(b *strings.Builder, line, accent string) {
	rest := line
	for {
		loc := urlPattern.FindStringIndex(rest)
		if loc == nil {
			b.WriteString(htmltemplate.HTMLEscapeString(rest))
			return
		}
		u := rest[loc[0]:loc[1]]
		// Punctuation after an address ends the sentence, not the address.
		trimmed := strings.TrimRight(u, ".,;:!?)]'")
		end := loc[0] + len(trimmed)
		b.WriteString(htmltemplate.HTMLEscapeString(rest[:loc[0]]))
		esc := htmltemplate.HTMLEscapeString(trimmed)
		b.WriteString(`<a href="` + esc + `" style="color:` + accent + `;word-break:break-all">` + esc + `</a>`)
		rest = rest[end:]
	}
}
