package notify

import (
	"strings"
)

// Field is one placeholder of a kind's data.
type Field struct {
	// Key names the value in Message.Data ("order_url").
	Key string
	// Help says what it holds, for the editor and docs/email.md.
	Help string
	// List marks a list: of text if Items is empty, else of records
	// whose fields are Items.
	List  bool
	Items []Field
}

// Name is how a template writes the field: OrderURL for order_url.
func (f Field) Name() string { return placeholder(f.Key) }

// Kind describes one kind of e-mail: what its data holds and what the
// editor previews it with.
type Kind struct {
	Name  string // order_confirmation
	Title string // Order confirmation
	// When says when the shop sends it.
	When   string
	Fields []Field
	// Sample is example data, as Message.Data holds it.
	Sample map[string]any
	// OneTimeLink marks kinds whose "link" opens something once (a
	// password form): it is removed from the outbox once sent.
	OneTimeLink bool
}

var shopName = Field{Key: "shop_name", Help: "the shop's name"}

// Kinds lists every kind of e-mail, in the order the back office shows
// them.
var Kinds = []Kind{
	{
		Name: OrderConfirmation, Title: "Order confirmation",
		When: "to the customer when an order is placed and paid",
		Fields: []Field{
			shopName,
			{Key: "order_id", Help: "the order's number"},
			{Key: "order_url", Help: "the link to the order in the customer's account"},
			{Key: "email", Help: "the customer's e-mail address"},
			{Key: "customer_name", Help: "the customer's name (may be empty)"},
			{Key: "lines", Help: "the order's lines", List: true, Items: []Field{
				{Key: "title", Help: "the product's name"},
				{Key: "sku", Help: "the product's SKU"},
				{Key: "quantity", Help: "how many"},
				{Key: "unit_price", Help: "the price of one, formatted"},
				{Key: "line_total", Help: "quantity × price, formatted"},
			}},
			{Key: "subtotal", Help: "the lines' total, formatted"},
			{Key: "shipping", Help: "the shipping cost, formatted"},
			{Key: "tax", Help: "the tax, formatted"},
			{Key: "tax_label", Help: "what the tax is called (VAT, sales tax)"},
			{Key: "total", Help: "what the customer paid, formatted"},
			{Key: "shipping_method", Help: "the shipping method's name"},
			{Key: "shipping_address", Help: "the address, one line each", List: true},
		},
		Sample: map[string]any{
			"shop_name": "Acme Tools", "order_id": "1042", "order_url": "https://acme.example/account/orders/1042",
			"email": "ann@example.com", "customer_name": "Ann Example",
			"lines": []any{
				map[string]any{"title": "Claw hammer", "sku": "HAM-16", "quantity": "2", "unit_price": "€12.00", "line_total": "€24.00"},
				map[string]any{"title": "Box of nails (200)", "sku": "NAIL-200", "quantity": "1", "unit_price": "€4.50", "line_total": "€4.50"},
			},
			"subtotal": "€28.50", "shipping": "€4.90", "tax": "€5.33", "tax_label": "VAT", "total": "€33.40",
			"shipping_method":  "Standard delivery",
			"shipping_address": []any{"Ann Example", "12 Main Street", "1234 Springfield", "Luxembourg"},
		},
	},
	{
		Name: ShippingNotice, Title: "Shipping notice",
		When: "to the customer when their order is shipped",
		Fields: []Field{
			shopName,
			{Key: "order_id", Help: "the order's number"},
			{Key: "order_url", Help: "the link to the order in the customer's account"},
			{Key: "carrier", Help: "who delivers it (may be empty)"},
			{Key: "tracking_number", Help: "the carrier's tracking number (may be empty)"},
			{Key: "customer_name", Help: "the customer's name (may be empty)"},
		},
		Sample: map[string]any{
			"shop_name": "Acme Tools", "order_id": "1042", "order_url": "https://acme.example/account/orders/1042",
			"carrier": "Post Luxembourg", "tracking_number": "LU123456789", "customer_name": "Ann Example",
		},
	},
	{
		Name: CustomerPasswordReset, Title: "Customer password reset",
		When: "to a customer who asked to reset their password",
		Fields: []Field{
			shopName,
			{Key: "link", Help: "the one-time link to choose a new password"},
			{Key: "expires", Help: "how long the link works (\"1 hour\")"},
		},
		Sample: map[string]any{
			"shop_name": "Acme Tools", "link": "https://acme.example/account/password/reset/sample-token", "expires": "1 hour",
		},
		OneTimeLink: true,
	},
	{
		Name: StaffInvitation, Title: "Staff invitation",
		When: "to someone invited to the back office",
		Fields: []Field{
			shopName,
			{Key: "invited_by", Help: "who sent the invitation"},
			{Key: "role_name", Help: "the role they are given"},
			{Key: "link", Help: "the one-time link to choose a password"},
			{Key: "expires", Help: "how long the link works (\"7 days\")"},
		},
		Sample: map[string]any{
			"shop_name": "Acme Tools", "invited_by": "Olive Owner", "role_name": "Catalog editor",
			"link": "https://acme.example/admin/invite/sample-token", "expires": "7 days",
		},
		OneTimeLink: true,
	},
	{
		Name: StaffPasswordReset, Title: "Staff password reset",
		When: "to a member of staff who asked to reset their password",
		Fields: []Field{
			shopName,
			{Key: "email", Help: "the member's e-mail address"},
			{Key: "link", Help: "the one-time link to choose a new password"},
			{Key: "expires", Help: "how long the link works (\"1 hour\")"},
		},
		Sample: map[string]any{
			"shop_name": "Acme Tools", "email": "cleo@example.com",
			"link": "https://acme.example/admin/password/reset/sample-token", "expires": "1 hour",
		},
		OneTimeLink: true,
	},
}

// KindByName returns the kind named name.
func KindByName(name string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// initialisms are written in capitals in placeholders: OrderID, OrderURL.
var initialisms = map[string]string{"id": "ID", "url": "URL", "sku": "SKU"}

// placeholder turns a data key into a template field name:
// order_url → OrderURL, tracking_number → TrackingNumber.
func placeholder(key string) string {
	var b strings.Builder
	for _, part := range strings.Split(key, "_") {
		if part == "" {
			continue
		}
		if up, ok := initialisms[part]; ok {
			b.WriteString(up)
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
