package notify

import (
	"strings"
	"testing"
)

var testTheme = Theme{ShopName: "Acme Tools", Accent: "#aa3300", AccentInk: "#ffffff"}

func TestDefaultsRenderForEveryKind(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		OrderConfirmation: {"Hello Ann Example,", "order 1042 at Acme Tools", "2 × Claw hammer (HAM-16) at €12.00: €24.00",
			"1 × Box of nails (200) (NAIL-200) at €4.50: €4.50", "Subtotal: €28.50", "Shipping (Standard delivery): €4.90",
			"VAT: €5.33", "Total: €33.40", "12 Main Street\n1234 Springfield\nLuxembourg", "https://acme.example/account/orders/1042"},
		ShippingNotice:        {"Hello Ann Example,", "order 1042 has left Acme Tools", "delivered by Post Luxembourg, tracking number LU123456789", "https://acme.example/account/orders/1042"},
		CustomerPasswordReset: {"your account at Acme Tools", "https://acme.example/account/password/reset/sample-token", "expires in 1 hour"},
		StaffInvitation:       {"Olive Owner invited you to the back office of Acme Tools as Catalog editor.", "https://acme.example/admin/invite/sample-token", "expires in 7 days"},
		StaffPasswordReset:    {"the password of cleo@example.com in the back office of Acme Tools", "https://acme.example/admin/password/reset/sample-token", "expires in 1 hour"},
	}
	if len(Kinds) != len(want) {
		t.Fatalf("%d kinds, %d tested", len(Kinds), len(want))
	}
	for _, k := range Kinds {
		t.Run(k.Name, func(t *testing.T) {
			d, ok := Default(k.Name)
			if !ok {
				t.Fatal("no default")
			}
			if errs := Check(k.Name, d.Subject, d.Body); errs != nil {
				t.Fatalf("the default does not pass its own check: %v", errs)
			}
			r, err := Preview(k.Name, d, testTheme)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject == "" || strings.Contains(r.Subject, "\n") || !strings.Contains(r.Subject, "Acme Tools") {
				t.Errorf("subject %q", r.Subject)
			}
			for _, s := range want[k.Name] {
				if !strings.Contains(r.Text, s) {
					t.Errorf("the text has no %q:\n%s", s, r.Text)
				}
			}
			if strings.Contains(r.Text, "<no value>") || strings.Contains(r.Text, "\n\n\n") {
				t.Errorf("the text has holes:\n%s", r.Text)
			}
			// The HTML part: the shop's name and colour, its links clickable.
			for _, s := range []string{">Acme Tools</div>", "background:#aa3300", `<a href="https://acme.example/`} {
				if !strings.Contains(r.HTML, s) {
					t.Errorf("the HTML part has no %q:\n%s", s, r.HTML)
				}
			}
		})
	}
}

// A message's data may lack optional values: the e-mail reads well
// without them.
func TestMissingValuesAreEmpty(t *testing.T) {
	t.Parallel()
	d, _ := Default(ShippingNotice)
	r, err := Render(ShippingNotice, d, map[string]any{"shop_name": "Acme Tools", "order_id": "7", "order_url": "https://acme.example/o/7"}, testTheme)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Text, "Hello,\n") || strings.Contains(r.Text, "delivered by") || strings.Contains(r.Text, "tracking") {
		t.Errorf("text:\n%s", r.Text)
	}
}

func TestInvalidTemplatesAreRefusedWithTheirLine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, subject, body string
		field, want         string
	}{
		{"unknown placeholder", "Hi", "Hello,\n\nyour order {{.OrderNumber}} is here.\n", "body", "Line 3: {{.OrderNumber}} is not a placeholder"},
		{"unknown item field", "Hi", "{{range .Lines}}\n{{.Price}}\n{{end}}", "body", "Line 2: {{.Price}} is not a placeholder"},
		{"unclosed action", "Hi", "Hello\n\n{{if .CustomerName}}Dear", "body", "Line 3: The text ends before an {{if}}"},
		{"bad syntax", "Hi", "one\ntwo {{.ShopName}\nthree", "body", "Line 2"},
		{"printf", "Hi", "a\n{{printf \"%999999999d\" 1}}", "body", `Line 2: The function "printf" is not available`},
		{"call", "Hi", "{{call .ShopName}}", "body", `"call" is not available`},
		{"undefined function", "Hi", "x\ny\n{{exec .ShopName}}", "body", `Line 3: The function "exec" is not available`},
		{"template", "Hi", "{{define \"x\"}}a{{end}}{{template \"x\"}}", "body", "not available"},
		{"range over a number", "Hi", "{{range 1000000000}}x{{end}}", "body", "goes over a list of the placeholders only"},
		{"nested range", "Hi", "{{range .Lines}}{{range $.Lines}}x{{end}}{{end}}", "body", "inside another {{range}}"},
		{"subject placeholder", "Order {{.Order}}", "ok", "subject", "{{.Order}} is not a placeholder"},
		{"subject on two lines", "a\nb", "ok", "subject", "one line"},
		{"empty subject", "  ", "ok", "subject", "Enter a subject"},
		{"empty body", "Hi", " \n ", "body", "Enter the text"},
		{"too long", "Hi", strings.Repeat("x", MaxBody+1), "body", "Keep the text under"},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := Check(OrderConfirmation, c.subject, c.body)
			if !strings.Contains(errs[c.field], c.want) {
				t.Errorf("%s error %q, want %q (all: %v)", c.field, errs[c.field], c.want, errs)
			}
		})
	}
	if errs := Check(OrderConfirmation, "Order {{.OrderID}}", "{{range $i, $l := .Lines}}{{$l.Title}} {{upper $.ShopName}}{{end}}{{if eq (len .Lines) 2}}two{{end}}"); errs != nil {
		t.Errorf("a good template is refused: %v", errs)
	}
	if errs := Check("no_such_kind", "a", "b"); errs["kind"] == "" {
		t.Error("an unknown kind is accepted")
	}
}

// The vendor writes text: whatever it and the data hold arrives escaped
// in the HTML part, and only http(s) addresses become links.
func TestHTMLPartIsEscapedText(t *testing.T) {
	t.Parallel()
	tmpl := Template{Subject: "Order {{.OrderID}}", Body: "<b>Thanks</b> from {{.ShopName}}!\n\n{{range .Lines}}{{.Title}}\n{{end}}\nSee {{.OrderURL}}. Or javascript:alert(1)\n"}
	data := map[string]any{"shop_name": `Acme "Tools" & Co`, "order_id": "1", "order_url": `https://acme.example/o/1?a=1&b=2`,
		"lines": []any{map[string]any{"title": `<script>alert("x")</script>`}}}
	r, err := Render(OrderConfirmation, tmpl, data, Theme{ShopName: "<i>Acme</i>", Accent: "red;background:url(x)"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<b>", "<i>", "url(x)", `href="javascript`} {
		if strings.Contains(r.HTML, bad) {
			t.Errorf("the HTML part has %q:\n%s", bad, r.HTML)
		}
	}
	for _, good := range []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&lt;b&gt;Thanks&lt;/b&gt; from Acme &#34;Tools&#34; &amp; Co!",
		`<a href="https://acme.example/o/1?a=1&amp;b=2"`, "&lt;i&gt;Acme&lt;/i&gt;", "background:#0b7285"} {
		if !strings.Contains(r.HTML, good) {
			t.Errorf("the HTML part has no %q:\n%s", good, r.HTML)
		}
	}
	// The sentence's full stop is not part of the link.
	if !strings.Contains(r.HTML, `b=2</a>. Or javascript:alert(1)`) {
		t.Errorf("the link took the full stop:\n%s", r.HTML)
	}
	// The text part is the text, as written.
	if !strings.Contains(r.Text, `<script>alert("x")</script>`) || !strings.HasPrefix(r.Text, "<b>Thanks</b>") {
		t.Errorf("text:\n%s", r.Text)
	}
}

func TestOutputIsBounded(t *testing.T) {
	t.Parallel()
	// 400 lines of 20000 characters each: past the limit.
	lines := make([]any, 400)
	for i := range lines {
		lines[i] = map[string]any{"title": strings.Repeat("x", 2000)}
	}
	body := "{{range .Lines}}" + strings.Repeat("{{.Title}}", 10) + "{{end}}"
	if _, err := Render(OrderConfirmation, Template{Subject: "s", Body: body}, map[string]any{"lines": lines}, testTheme); err == nil {
		t.Error("a 8 MB e-mail was rendered")
	}
}

func TestPlaceholderNames(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{"shop_name": "ShopName", "order_url": "OrderURL", "order_id": "OrderID",
		"sku": "SKU", "tracking_number": "TrackingNumber", "shipping_address": "ShippingAddress"} {
		if got := placeholder(key); got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
}
