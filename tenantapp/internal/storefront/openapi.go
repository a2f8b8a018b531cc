package storefront

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// openAPIFiles are the shop API's OpenAPI fragments: base.json has the
// document's head (openapi, info, servers, common components); every
// other file adds its part's paths and components (catalog.json is the
// catalog's; the cart and the customer account add theirs).
//
//go:embed openapi/*.json
var openAPIFiles embed.FS

// fragmentKeys are the top-level members a fragment other than base.json
// may have.
var fragmentKeys = map[string]bool{"paths": true, "components": true, "tags": true}

// OpenAPIDoc is the shop API's OpenAPI 3.1 document, merged from the
// fragments.
type OpenAPIDoc struct {
	doc map[string]any
}

// OpenAPI merges the embedded fragments into one document.
func OpenAPI() (*OpenAPIDoc, error) {
	sub, err := fs.Sub(openAPIFiles, "openapi")
	if err != nil {
		return nil, err
	}
	return MergeOpenAPI(sub)
}

// MergeOpenAPI merges base.json and every other *.json of fsys: their
// "paths", each section of their "components" and their "tags" go into
// base.json's document. A path, component or tag defined twice, a
// fragment with other members, or a $ref to a component that no fragment
// defines is an error.
func MergeOpenAPI(fsys fs.FS) (*OpenAPIDoc, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	read := func(name string) (map[string]any, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("shop API OpenAPI: read %s: %w", name, err)
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("shop API OpenAPI: %s is not a JSON object: %w", name, err)
		}
		return m, nil
	}
	doc, err := read("base.json")
	if err != nil {
		return nil, err
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		return nil, fmt.Errorf("shop API OpenAPI: base.json must be an OpenAPI 3.1 document (openapi: %q)", v)
	}
	from := map[string]string{} // what → the file that defined it
	section := func(m map[string]any, key string) (map[string]any, error) {
		v, ok := m[key]
		if !ok {
			out := map[string]any{}
			m[key] = out
			return out, nil
		}
		out, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", key)
		}
		return out, nil
	}
	add := func(file, kind string, dst, src map[string]any) error {
		for _, k := range slices.Sorted(maps.Keys(src)) {
			what := kind + " " + k
			if prev, dup := from[what]; dup {
				return fmt.Errorf("shop API OpenAPI: %s is defined in both %s and %s", what, prev, file)
			}
			from[what] = file
			dst[k] = src[k]
		}
		return nil
	}
	merge := func(file string, frag map[string]any, into map[string]any) error {
		paths, err := section(frag, "paths")
		if err != nil {
			return fmt.Errorf("shop API OpenAPI: %s: %w", file, err)
		}
		dstPaths, err := section(into, "paths")
		if err != nil {
			return fmt.Errorf("shop API OpenAPI: base.json: %w", err)
		}
		if err := add(file, "path", dstPaths, paths); err != nil {
			return err
		}
		comps, err := section(frag, "components")
		if err != nil {
			return fmt.Errorf("shop API OpenAPI: %s: %w", file, err)
		}
		dstComps, err := section(into, "components")
		if err != nil {
			return fmt.Errorf("shop API OpenAPI: base.json: %w", err)
		}
		for _, kind := range slices.Sorted(maps.Keys(comps)) {
			src, ok := comps[kind].(map[string]any)
			if !ok {
				return fmt.Errorf("shop API OpenAPI: %s: components.%s is not an object", file, kind)
			}
			dst, err := section(dstComps, kind)
			if err != nil {
				return fmt.Errorf("shop API OpenAPI: base.json: components: %w", err)
			}
			if err := add(file, "components."+kind, dst, src); err != nil {
				return err
			}
		}
		if tags, ok := frag["tags"].([]any); ok {
			for _, t := range tags {
				name, _ := t.(map[string]any)["name"].(string)
				what := "tag " + name
				if prev, dup := from[what]; dup {
					return fmt.Errorf("shop API OpenAPI: %s is defined in both %s and %s", what, prev, file)
				}
				from[what] = file
			}
			if file != "base.json" {
				into["tags"] = append(asSlice(into["tags"]), tags...)
			}
		}
		return nil
	}
	// base.json's own paths and components count as defined in it.
	baseFrag := map[string]any{"paths": doc["paths"], "components": doc["components"], "tags": doc["tags"]}
	for k, v := range baseFrag {
		if v == nil {
			delete(baseFrag, k)
		}
	}
	merged := map[string]any{}
	maps.Copy(merged, doc)
	merged["paths"], merged["components"] = map[string]any{}, map[string]any{}
	if err := merge("base.json", baseFrag, merged); err != nil {
		return nil, err
	}
	for _, name := range names {
		if path.Base(name) == "base.json" {
			continue
		}
		frag, err := read(name)
		if err != nil {
			return nil, err
		}
		for k := range frag {
			if !fragmentKeys[k] {
				return nil, fmt.Errorf("shop API OpenAPI: %s has %q: fragments hold only paths, components and tags (the rest belongs in base.json)", name, k)
			}
		}
		if err := merge(name, frag, merged); err != nil {
			return nil, err
		}
	}
	if err := checkRefs(merged, merged, "#"); err != nil {
		return nil, err
	}
	return &OpenAPIDoc{doc: merged}, nil
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// checkRefs makes sure every local $ref points at something that exists.
func checkRefs(root map[string]any, v any, at string) error {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok && strings.HasPrefix(ref, "#/") {
			var cur any = root
			for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
				m, ok := cur.(map[string]any)
				if !ok {
					cur = nil
					break
				}
				cur = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
			}
			if cur == nil {
				return fmt.Errorf("shop API OpenAPI: %s refers to %s, which no fragment defines", at, ref)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := checkRefs(root, x[k], at+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := checkRefs(root, e, fmt.Sprintf("%s/%d", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Paths lists the document's operations as "METHOD /path", the path as
// served (with the servers' /api/v1/shop prefix).
func (d *OpenAPIDoc) Paths() []string {
	var out []string
	paths, _ := d.doc["paths"].(map[string]any)
	for p, item := range paths {
		ops, _ := item.(map[string]any)
		for m := range ops {
			switch m {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				out = append(out, strings.ToUpper(m)+" /api/v1/shop"+p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// serve answers GET /api/v1/shop/openapi.json, with the shop's own
// address as the server.
func (d *OpenAPIDoc) serve(w http.ResponseWriter, r *http.Request) error {
	doc := maps.Clone(d.doc)
	doc["servers"] = []map[string]string{{"url": tenant.FromContext(r.Context()).Base + "/api/v1/shop"}}
	return writeJSON(w, "public, max-age=300", doc)
}
