package marketplace_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/storefleet/storefleet/internal/marketplace"
)

func TestStagedFilterCheck(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		f     marketplace.StagedFilter
		field string
	}{
		"availability":       {marketplace.StagedFilter{Availability: "soon"}, "availability"},
		"gtin":               {marketplace.StagedFilter{GTIN: "12345"}, "gtin"},
		"negative price":     {marketplace.StagedFilter{MinPrice: ptr(-1)}, "min_price"},
		"prices upside down": {marketplace.StagedFilter{MinPrice: ptr(500), MaxPrice: ptr(100)}, "max_price"},
		"changed and never":  {marketplace.StagedFilter{Changed: true, Unpublished: true}, "unpublished"},
		"sort":               {marketplace.StagedFilter{Sort: "colour"}, "sort"},
		"page":               {marketplace.StagedFilter{Page: marketplace.MaxPage + 1}, "page"},
	} {
		if errs := c.f.Check(); errs[c.field] == "" {
			t.Errorf("%s: %v, want an error on %s", name, errs, c.field)
		}
	}
	f := marketplace.StagedFilter{GTIN: " 4006-3813-33931 ", PageSize: 1000}
	if errs := f.Check(); len(errs) != 0 || f.GTIN != "4006381333931" || f.PageSize != marketplace.MaxPageSize || f.Page != 1 || f.Sort != "changed" {
		t.Errorf("normalised: %+v %v", f, errs)
	}
}

func TestListStaged(t *testing.T) {
	t.Parallel()
	s := newShop(t, "stager")
	ctx := context.Background()
	g := validGTIN("400000000021")
	var rows []staged
	for i := 1; i <= 30; i++ {
		r := staged{id: fmt.Sprintf("L-%02d", i), title: fmt.Sprintf("Lamp %02d", i), price: ptr(int64(i * 100)), brand: "Lumen",
			availability: "in_stock"}
		if i%3 == 0 {
			r.brand, r.availability = "Other Co", "out_of_stock"
		}
		if i == 7 {
			r.title, r.gtin = "Desk lamp, brass", g
		}
		rows = append(rows, r)
	}
	s.insertStaged(t, rows...)
	list := func(f marketplace.StagedFilter) *marketplace.StagedPage {
		t.Helper()
		page, err := marketplace.ListStaged(ctx, s.v.Pool, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		return page
	}
	if p := list(marketplace.StagedFilter{PageSize: 12, Page: 2, Sort: "id"}); p.Total != 30 || len(p.Rows) != 12 || !p.HasNext ||
		p.Rows[0].ExternalID != "L-13" || p.TotalCapped {
		t.Errorf("page 2: total %d, %d rows, next %v, first %s", p.Total, len(p.Rows), p.HasNext, p.Rows[0].ExternalID)
	}
	if p := list(marketplace.StagedFilter{PageSize: 12, Page: 3}); len(p.Rows) != 6 || p.HasNext {
		t.Errorf("last page: %d rows, next %v", len(p.Rows), p.HasNext)
	}
	for name, c := range map[string]struct {
		f     marketplace.StagedFilter
		total int
	}{
		"title, any case": {marketplace.StagedFilter{Q: "BRASS"}, 1},
		"id":              {marketplace.StagedFilter{Q: "l-2"}, 10},
		"brand in search": {marketplace.StagedFilter{Q: "other"}, 10},
		"gtin in search":  {marketplace.StagedFilter{Q: g}, 1},
		"brand":           {marketplace.StagedFilter{Brand: "lumen"}, 20},
		"gtin":            {marketplace.StagedFilter{GTIN: g}, 1},
		"availability":    {marketplace.StagedFilter{Availability: "out_of_stock"}, 10},
		"price range":     {marketplace.StagedFilter{MinPrice: ptr(500), MaxPrice: ptr(1000)}, 6},
		"like is literal": {marketplace.StagedFilter{Q: "%"}, 0},
		"unpublished":     {marketplace.StagedFilter{Unpublished: true}, 30},
		"changed":         {marketplace.StagedFilter{Changed: true}, 0},
		"several":         {marketplace.StagedFilter{Brand: "Other Co", MaxPrice: ptr(1500)}, 5},
	} {
		if p := list(c.f); p.Total != c.total || len(p.Rows) != c.total {
			t.Errorf("%s: total %d, %d rows, want %d", name, p.Total, len(p.Rows), c.total)
		}
	}
	if p := list(marketplace.StagedFilter{Sort: "-price", PageSize: 1}); p.Rows[0].ExternalID != "L-30" || *p.Rows[0].PriceMinor != 3000 {
		t.Errorf("most expensive first: %+v", p.Rows[0])
	}

	// Publish two; one of them changes in the feed.
	seven := list(marketplace.StagedFilter{GTIN: g}).Rows[0]
	eight := list(marketplace.StagedFilter{Q: "L-08"}).Rows[0]
	s.publish(t, marketplace.SelectIDs(seven.ID, eight.ID), marketplace.PublishOptions{})
	s.exec(t, `UPDATE marketplace_products SET title = 'Desk lamp, bronze', content_hash = sha256('bronze') WHERE id = $1`, seven.ID)
	if p := list(marketplace.StagedFilter{Unpublished: true}); p.Total != 28 {
		t.Errorf("unpublished after publishing two: %d", p.Total)
	}
	p := list(marketplace.StagedFilter{Changed: true})
	if p.Total != 1 || p.Rows[0].ID != seven.ID || !p.Rows[0].ChangedSincePublish || p.Rows[0].ProductSKU != "L-07" || p.Rows[0].PublishedAt == nil {
		t.Errorf("changed since publish: %+v", p)
	}
	it, err := marketplace.GetStaged(ctx, s.v.Pool, seven.ID)
	if err != nil || it.Title != "Desk lamp, bronze" || it.ProductID == nil || !it.ChangedSincePublish || it.Attributes == nil {
		t.Errorf("get staged: %+v %v", it, err)
	}
	if _, err := marketplace.GetStaged(ctx, s.v.Pool, 999999); !errors.Is(err, marketplace.ErrNotFound) {
		t.Errorf("get a missing item: %v", err)
	}
}

// A filter's prices are described in the currency they are counted in.
func TestDescribeFilterPrices(t *testing.T) {
	lo, hi := int64(1000), int64(2500)
	for _, tc := range []struct {
		currency, want string
	}{
		{"EUR", "price 10.00 EUR to 25.00 EUR"},
		{"JPY", "price 1000 JPY to 2500 JPY"},
		{"", "price 10.00 to 25.00"},
	} {
		if got := marketplace.DescribeFilter(marketplace.StagedFilter{MinPrice: &lo, MaxPrice: &hi, Currency: tc.currency}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.currency, got, tc.want)
		}
	}
}

// Text the database would refuse is a field error, not a failed query.
func TestStagedFilterRefusesUnsearchableText(t *testing.T) {
	for _, f := range []marketplace.StagedFilter{{Q: "a\x00b"}, {Brand: "\xff\xfe"}} {
		if errs := f.Check(); len(errs) != 1 {
			t.Errorf("%+v: %v", f, errs)
		}
	}
}
