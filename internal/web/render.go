package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Templates is a set of pages parsed once at start-up: every page is
// parsed together with the layout and partials, so a broken or missing
// template stops the program from starting rather than failing a request.
type Templates struct {
	pages map[string]*template.Template
}

// ParseTemplates parses dir/*.html of fsys as pages, each combined with
// dir/layout/*.html.
func ParseTemplates(fsys fs.FS, dir string, funcs template.FuncMap) (*Templates, error) {
	all := template.FuncMap{
		"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"ago":      ago,
	}
	for k, v := range funcs {
		all[k] = v
	}
	shared, err := fs.Glob(fsys, path.Join(dir, "layout", "*.html"))
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(fsys, path.Join(dir, "*.html"))
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("no templates in %s", dir)
	}
	t := &Templates{pages: map[string]*template.Template{}}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		// The layout goes first, so a page's own {{define}}s replace the
		// layout's {{block}} defaults.
		tmpl, err := template.New(path.Base(p)).Funcs(all).ParseFS(fsys, append(append([]string{}, shared...), p)...)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", p, err)
		}
		t.pages[name] = tmpl
	}
	return t, nil
}

// Render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (t *Templates) Render(w http.ResponseWriter, status int, page string, data any) error {
	tmpl, ok := t.pages[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := tmpl.Execute(buf, data); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Pages are rendered into a buffer first, so that a failing template
// gives an error page rather than half a page; the buffers are reused.
var renderBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) }}

func putRenderBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 { // let the odd huge page go
		return
	}
	b.Reset()
	renderBuffers.Put(b)
}

// Has reports whether a page exists.
func (t *Templates) Has(page string) bool { _, ok := t.pages[page]; return ok }

func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
