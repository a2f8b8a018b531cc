package storefront

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestMergeOpenAPI(t *testing.T) {
	base := `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
		"components": {"schemas": {"Money": {"type": "object"}}}}`
	ok := fstest.MapFS{
		"base.json":    {Data: []byte(base)},
		"catalog.json": {Data: []byte(`{"paths": {"/products": {"get": {"responses": {"200": {"description": "x", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Money"}}}}}}}}}`)},
		"cart.json":    {Data: []byte(`{"paths": {"/cart": {"get": {}}}, "components": {"schemas": {"Cart": {"type": "object"}}}}`)},
	}
	doc, err := MergeOpenAPI(ok)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(doc.Paths(), ","); got != "GET /api/v1/shop/cart,GET /api/v1/shop/products" {
		t.Errorf("paths %s", got)
	}
	for name, frag := range map[string]string{
		"duplicate path":   `{"paths": {"/products": {"post": {}}}}`,
		"duplicate schema": `{"components": {"schemas": {"Money": {}}}}`,
		"foreign member":   `{"info": {"title": "mine"}}`,
		"dangling ref":     `{"paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/Nope"}}}}}}`,
		"not JSON":         `{"paths": `,
	} {
		fsys := fstest.MapFS{"base.json": ok["base.json"], "catalog.json": ok["catalog.json"], "zz.json": {Data: []byte(frag)}}
		if _, err := MergeOpenAPI(fsys); err == nil {
			t.Errorf("%s: merged", name)
		}
	}
	// The embedded fragments merge.
	if _, err := OpenAPI(); err != nil {
		t.Fatal(err)
	}
}
