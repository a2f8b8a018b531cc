package storefront

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/templates"
)

// The product page offers the cart's form only when the CartForm hook
// says so, with its token, and disables it when nothing is left.
func TestProductPageCartForm(t *testing.T) {
	tmpl, err := web.ParseTemplates(templates.FS, "tenantapp", nil)
	if err != nil {
		t.Fatal(err)
	}
	render := func(cart bool, csrf string, available int64) string {
		t.Helper()
		p := &Product{Card: Card{ID: 42, SKU: "HAM-1", Handle: "ham-1", Title: "Hammer", Price: "€9.00", Available: available}}
		w := httptest.NewRecorder()
		if err := tmpl.Render(w, 200, "shop_product", productPage{Page: Page{ShopName: "Acme"}, Product: p, Cart: cart, CSRF: csrf}); err != nil {
			t.Fatal(err)
		}
		return w.Body.String()
	}
	body := render(true, "tok<en>", 7)
	for _, want := range []string{`<form method="post" action="/cart/lines" class="add-to-cart">`, `name="csrf" value="tok&lt;en&gt;"`,
		`name="product_id" value="42"`, `name="quantity" value="1" min="1" max="7"`, `<button type="submit" class="accent">Add to cart</button>`} {
		if !strings.Contains(body, want) {
			t.Errorf("with a cart: no %s", want)
		}
	}
	if body := render(true, "", 0); !strings.Contains(body, `disabled aria-disabled="true">Out of stock</button>`) {
		t.Errorf("out of stock: the button is not disabled")
	}
	if body := render(false, "", 7); strings.Contains(body, "/cart/lines") || !strings.Contains(body, "Buying is unavailable right now") {
		t.Errorf("without a cart: %s", body)
	}
}
