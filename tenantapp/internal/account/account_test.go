package account

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
)

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"":                        "",
		"/":                       "/",
		"/account/orders?page=2":  "/account/orders?page=2",
		"/checkout":               "/checkout",
		"/products/drill#reviews": "/products/drill#reviews",
		"//evil.example":          "",
		"///evil.example":         "",
		"/\\evil.example":         "",
		"https://evil.example/":   "",
		"http:/evil.example":      "",
		"javascript:alert(1)":     "",
		"evil.example":            "",
		"/a b":                    "",
		"/a\tb":                   "",
		"/a\nb":                   "",
		"/account/login":          "",
		"/account/login?next=/x":  "",
		"/account/password/reset": "",
		"/account/logout":         "",
		"/%2F%2Fevil.example":     "", // decodes to //evil.example: refused to be safe
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"  Ada@Example.COM ":      "ada@example.com",
		"a.b+shop@sub.example.lu": "a.b+shop@sub.example.lu",
		"ada@":                    "",
		"@example.com":            "",
		"ada@localhost":           "",
		"Ada <ada@example.com>":   "",
		"ada@example.com.":        "",
		"a b@example.com":         "",
		"ada@@example.com":        "",
		strings.Repeat("a", 250) + "@example.com": "",
	} {
		got, ok := normalizeEmail(in)
		if want == "" && ok || want != "" && (!ok || got != want) {
			t.Errorf("normalizeEmail(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestAddressCheck(t *testing.T) {
	good := Address{Name: " Ada ", Line1: "1 Rue de la Gare", PostalCode: "1611", City: "Luxembourg", Country: "lu"}
	if errs := good.Check(); len(errs) != 0 || good.Name != "Ada" || good.Country != "LU" {
		t.Fatalf("good address: %v %+v", errs, good)
	}
	bad := Address{Line1: strings.Repeat("x", 201), PostalCode: "1", City: "ü", Country: "XK", Phone: strings.Repeat("1", 41)}
	got := bad.Check().Map()
	for _, f := range []string{"name", "line1", "country", "phone"} {
		if got[f] == "" {
			t.Errorf("no error on %s: %v", f, got)
		}
	}
	if got["city"] != "" || got["postal_code"] != "" {
		t.Errorf("errors on valid fields: %v", got)
	}
	if len(Countries) != 249 || !IsCountry("GB") || IsCountry("UK") || CountryName("DE") != "Germany" {
		t.Errorf("countries: %d", len(Countries))
	}
	seen := map[string]bool{}
	for _, c := range Countries {
		if seen[c.Code] || len(c.Code) != 2 || strings.ToUpper(c.Code) != c.Code {
			t.Errorf("country %q", c.Code)
		}
		seen[c.Code] = true
	}
}

func TestFormatting(t *testing.T) {
	for bp, want := range map[int]string{0: "0 %", 2000: "20 %", 550: "5.5 %", 1725: "17.25 %", 305: "3.05 %"} {
		if got := formatRate(bp); got != want {
			t.Errorf("formatRate(%d) = %q, want %q", bp, got, want)
		}
	}
	for kind, want := range map[string]string{"order.placed": "Order placed", "payment_failed": "Payment failed", "": ""} {
		if got := eventLabel(kind); got != want {
			t.Errorf("eventLabel(%q) = %q", kind, got)
		}
	}
	a := Address{Name: "Ada", Line1: "1 Rue", PostalCode: "1611", City: "Luxembourg", Country: "LU"}
	if got := strings.Join(a.Lines(), "|"); got != "Ada|1 Rue|1611 Luxembourg|Luxembourg" {
		t.Errorf("lines: %s", got)
	}
}

// The account's fragment of the shop API's OpenAPI document merges with
// base.json (names prefixed, every $ref resolved) and describes exactly
// the API routes Routes registers.
func TestOpenAPIFragmentMatchesRoutes(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, name := range []string{"base.json", "account.json"} {
		b, err := os.ReadFile("../storefront/openapi/" + name)
		if err != nil {
			t.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: b}
	}
	doc, err := storefront.MergeOpenAPI(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var frag struct {
		Components struct {
			Schemas, Responses map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(fsys["account.json"].Data, &frag); err != nil {
		t.Fatal(err)
	}
	for name := range frag.Components.Schemas {
		if !strings.HasPrefix(name, "Account") {
			t.Errorf("schema %s is not prefixed with Account", name)
		}
	}
	for name := range frag.Components.Responses {
		if !strings.HasPrefix(name, "Account") {
			t.Errorf("response %s is not prefixed with Account", name)
		}
	}
	documented := map[string]bool{}
	for _, op := range doc.Paths() {
		documented[op] = true
	}
	r := mux.NewRouter()
	(&Handler{}).Routes(r) // only walked, never served
	served := map[string]bool{}
	err = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err1 := route.GetPathTemplate()
		methods, err2 := route.GetMethods()
		if err1 != nil || err2 != nil || !strings.HasPrefix(tpl, "/api/") {
			return nil
		}
		for _, m := range methods {
			served[m+" "+strings.ReplaceAll(tpl, "{id:[0-9]+}", "{id}")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("%s is served but not documented", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("%s is documented but not served", op)
		}
	}
	if len(served) != 13 {
		t.Errorf("%d API operations: %v", len(served), served)
	}
}
