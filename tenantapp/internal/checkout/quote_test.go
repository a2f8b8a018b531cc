package checkout

import (
	"testing"

	"github.com/storefleet/storefleet/internal/orders"
)

func TestPrice(t *testing.T) {
	free := int64(5000)
	std := ShippingMethod{Price: 495, FreeOver: &free}
	for _, c := range []struct {
		name                 string
		subtotal             int64
		tax                  Tax
		shipping, vat, total int64
	}{
		{"no tax", 1000, Tax{}, 495, 0, 1495},
		{"included 17 %", 1000, Tax{RateBP: 1700, PricesIncludeIt: true}, 495, 217, 1495}, // 1495 × 17/117 = 217.22
		{"added 20 %", 1000, Tax{RateBP: 2000}, 495, 299, 1794},                           // 1495 × 0.2 = 299
		{"half up", 1, Tax{RateBP: 5000}, 495, 248, 744},                                  // 496 × 0.5 = 248
		{"free shipping from 50", 5000, Tax{RateBP: 2100, PricesIncludeIt: true}, 0, 868, 5000},
		{"rounding half up, included", 3, Tax{RateBP: 10000, PricesIncludeIt: true}, 495, 249, 498},
	} {
		ship := std.Cost(c.subtotal)
		q := Price(c.subtotal, ship, c.tax)
		if ship != c.shipping || q.Tax != c.vat || q.Total != c.total {
			t.Errorf("%s: shipping %d tax %d total %d, want %d %d %d", c.name, ship, q.Tax, q.Total, c.shipping, c.vat, c.total)
		}
		if q.Total != q.Subtotal+q.Shipping && !c.tax.PricesIncludeIt && q.Total != q.Subtotal+q.Shipping+q.Tax {
			t.Errorf("%s: total is not the sum of its parts: %+v", c.name, q)
		}
	}
}

func TestDetailsValidateNamesEveryField(t *testing.T) {
	d := Details{CheckoutKey: "x", Email: "not an address"}
	err := d.Validate()
	if err == nil {
		t.Fatal("empty details pass")
	}
	d = Details{CheckoutKey: "abcdefghijklmnopqrstuvwx", Email: " Ada@Example.COM ", ShippingMethodID: 1,
		ShippingAddress: orders.Address{Name: "Ada", Line1: "1 Road", PostalCode: "1000", City: "Town", Country: "lu"}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Email != "ada@example.com" || d.ShippingAddress.Country != "LU" {
		t.Fatalf("not normalised: %+v", d)
	}
	d.ShippingAddress.City = "bad\x00city"
	if d.Validate() == nil {
		t.Fatal("a NUL in a field passes")
	}
}
