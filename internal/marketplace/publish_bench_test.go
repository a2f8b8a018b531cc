package marketplace_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/benchtable"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/testenv"
)

// benchItem is one generated feed item, written both as a staging row and
// as a line of a TSV feed.
type benchItem struct {
	id, title, description, link, imageLink string
	moreImages                              []string
	availability                            string // as staging keeps it
	price                                   int64
	sale                                    *int64
	brand, gtin, mpn, category, productType string
	group, color, size                      string
}

var (
	benchAdjectives = []string{"Classic", "Organic", "Artisan", "Premium", "Compact", "Vintage", "Smart", "Rustic", "Deluxe", "Eco"}
	benchNouns      = []string{"coffee mug", "desk lamp", "wool scarf", "chef knife", "tea kettle", "backpack", "notebook",
		"candle", "cutting board", "water bottle", "bath towel", "phone case"}
	benchColors = []string{"black", "white", "red", "blue", "green", "oak", "brass"}
	benchSizes  = []string{"S", "M", "L", "XL", "one size"}
	benchAvail  = []string{"in_stock", "in_stock", "in_stock", "in_stock", "in_stock", "in_stock", "out_of_stock", "out_of_stock",
		"preorder", "backorder"}
	benchCategories = []string{"Home & Garden > Kitchen & Dining", "Apparel & Accessories > Clothing Accessories",
		"Office Supplies > Paper Products", "Luggage & Bags > Backpacks"}
)

func benchItems(n int) []benchItem {
	items := make([]benchItem, n)
	for i := range items {
		adj, noun := benchAdjectives[i%len(benchAdjectives)], benchNouns[(i/7)%len(benchNouns)]
		color := benchColors[(i/3)%len(benchColors)]
		brand := fmt.Sprintf("Maker %02d", (i*31)%50)
		it := benchItem{
			id:    fmt.Sprintf("BENCH-%06d", i),
			title: fmt.Sprintf("%s %s %s, %s", adj, color, noun, brand),
			description: fmt.Sprintf("The %s %s from %s: made to last, easy to clean and a pleasure to use every day. "+
				"Ships within 2 working days from our warehouse in Luxembourg. Item %d.", strings.ToLower(adj), noun, brand, i),
			link:         fmt.Sprintf("https://shop.example.lu/p/bench-%06d", i),
			imageLink:    fmt.Sprintf("https://cdn.example.lu/img/bench-%06d.jpg", i),
			moreImages:   []string{fmt.Sprintf("https://cdn.example.lu/img/bench-%06d-2.jpg", i), fmt.Sprintf("https://cdn.example.lu/img/bench-%06d-3.jpg", i)},
			availability: benchAvail[i%len(benchAvail)],
			price:        int64(100 + (i*7919)%99900),
			brand:        brand,
			gtin:         validGTIN(fmt.Sprintf("40%010d", i)),
			mpn:          fmt.Sprintf("MPN-%d", i*13),
			category:     benchCategories[i%len(benchCategories)],
			productType:  "Home > " + noun,
			group:        fmt.Sprintf("G%d", i/5),
			color:        color,
			size:         benchSizes[i%len(benchSizes)],
		}
		if i%5 == 0 {
			sale := it.price * 8 / 10
			it.sale = &sale
		}
		items[i] = it
	}
	return items
}

// tsv writes the items as a feed file.
func benchTSV(items []benchItem) []byte {
	var b bytes.Buffer
	b.WriteString("id\ttitle\tdescription\tlink\timage_link\tadditional_image_link\tavailability\tprice\tsale_price\tbrand\tgtin\tmpn\tcondition\tgoogle_product_category\tproduct_type\titem_group_id\tcolor\tsize\n")
	for _, it := range items {
		sale := ""
		if it.sale != nil {
			sale = money.FormatAmount(*it.sale, 2) + " EUR"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s EUR\t%s\t%s\t%s\t%s\tnew\t%s\t%s\t%s\t%s\t%s\n",
			it.id, it.title, it.description, it.link, it.imageLink, strings.Join(it.moreImages, ","),
			strings.ReplaceAll(it.availability, "_", " "), money.FormatAmount(it.price, 2), sale, it.brand, it.gtin, it.mpn,
			it.category, it.productType, it.group, it.color, it.size)
	}
	return b.Bytes()
}

// benchStage writes the items straight into staging with COPY.
func benchStage(b *testing.B, s *shop, items []benchItem) {
	b.Helper()
	benchCopy(b, s, items)
	if _, err := s.v.Pool.Exec(context.Background(), `ANALYZE marketplace_products`); err != nil {
		b.Fatal(err)
	}
}

// benchPublish publishes every staged item and returns how long it took
// from asking to the end of the job.
func benchPublish(b *testing.B, s *shop, opts marketplace.PublishOptions) (*marketplace.Publish, time.Duration) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	p, err := marketplace.CreatePublish(ctx, s.v.Pool, marketplace.SelectMatching(marketplace.StagedFilter{}), opts, staff.Entry{Actor: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.r.Drain(ctx, marketplace.WorkPublishes, s.v); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if p, err = marketplace.GetPublish(ctx, s.v.Pool, p.ID); err != nil || p.State != marketplace.StateFinished {
		b.Fatalf("publish: %+v %v", p, err)
	}
	return p, took
}

// BenchmarkPublish100k publishes 100,000 staged items into an empty
// catalog (stock from availability, so in-stock items also get a stock
// movement, and image fetches queued for each), then again after a
// re-import changed every price (100,000 updates with their snapshots),
// and compares both with the import of the same 100,000 items from a TSV
// feed through CreateImport and the import job, into another vendor.
// Run it with `make bench` (BENCH=Publish100k BENCH_PKGS=./internal/marketplace/
// for this one alone) or go test -run '^$' -bench Publish100k -benchtime 1x
// ./internal/marketplace/.
func BenchmarkPublish100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	e := testenv.New(b)
	items := benchItems(n)
	feed := benchTSV(items)
	opts := marketplace.PublishOptions{StockFromAvailability: true, StockQuantity: 10, NewState: "active"}
	round := 0
	for b.Loop() {
		round++
		b.StopTimer()
		pub := shopOf(b, e, e.CreateVendor(b, fmt.Sprintf("benchpub%d", round), "Bench Publish"))
		benchStage(b, pub, items)
		// What the vendor waits for before publishing: a page of the
		// staging list with its count, and the preview of all.
		start := time.Now()
		page, err := marketplace.ListStaged(ctx, pub.v.Pool, marketplace.StagedFilter{Q: "lamp", Availability: "in_stock", Page: 3})
		if err != nil || len(page.Rows) != marketplace.DefaultPageSize {
			b.Fatalf("list: %+v %v", page, err)
		}
		listTook := time.Since(start)
		start = time.Now()
		pv, err := marketplace.PreviewPublish(ctx, pub.v.Pool, marketplace.SelectMatching(marketplace.StagedFilter{}), opts, 100)
		if err != nil || pv.Create != n {
			b.Fatalf("preview: %+v %v", pv, err)
		}
		previewTook := time.Since(start)
		b.StartTimer()

		created, createTook := benchPublish(b, pub, opts)
		if created.Created != n {
			b.Fatalf("first publish: %+v", created)
		}

		b.StopTimer()
		if _, err := pub.v.Pool.Exec(ctx, `UPDATE marketplace_products SET price_minor = price_minor + 1,
				sale_price_minor = NULL, content_hash = sha256(content_hash), changed_at = now()`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		updated, updateTook := benchPublish(b, pub, opts)
		if updated.Updated != n {
			b.Fatalf("second publish: %+v", updated)
		}

		// Undo both, newest first: 100,000 products restored, then
		// 100,000 deleted with their movements and image fetches.
		b.StopTimer()
		start = time.Now()
		if res, err := marketplace.UndoPublish(ctx, pub.v.Pool, updated.ID, staff.Entry{Actor: "bench"}); err != nil || len(res.Restored) != n {
			b.Fatalf("undo the update: %v", err)
		}
		undoUpdateTook := time.Since(start)
		start = time.Now()
		if res, err := marketplace.UndoPublish(ctx, pub.v.Pool, created.ID, staff.Entry{Actor: "bench"}); err != nil || len(res.Deleted) != n {
			b.Fatalf("undo the creation: %v", err)
		}
		undoCreateTook := time.Since(start)
		b.StartTimer()

		imp := shopOf(b, e, e.CreateVendor(b, fmt.Sprintf("benchimp%d", round), "Bench Import"))
		start = time.Now()
		i, err := marketplace.CreateImport(ctx, imp.v.Pool, imp.v.Objects, imp.v.Bucket,
			marketplace.NewImport{FileName: "bench.tsv", Body: bytes.NewReader(feed), Size: int64(len(feed))}, staff.Entry{Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := imp.r.Drain(ctx, marketplace.WorkImports, imp.v); err != nil {
			b.Fatal(err)
		}
		importTook := time.Since(start)
		if i, err = marketplace.GetImport(ctx, imp.v.Pool, i.ID); err != nil || i.RowsImported != n {
			b.Fatalf("import: %+v %v", i, err)
		}

		rate := func(d time.Duration) float64 { return n / d.Seconds() }
		b.ReportMetric(createTook.Seconds(), "publish-s")
		b.ReportMetric(rate(createTook), "publish-items/s")
		b.ReportMetric(updateTook.Seconds(), "republish-s")
		b.ReportMetric(importTook.Seconds(), "import-s")
		b.ReportMetric(float64(listTook.Microseconds())/1000, "list-ms")
		b.ReportMetric(previewTook.Seconds(), "preview-all-s")
		b.ReportMetric(undoUpdateTook.Seconds(), "undo-updates-s")
		b.ReportMetric(undoCreateTook.Seconds(), "undo-creates-s")
		b.ReportMetric(rate(importTook), "import-items/s")
		importRow := fmt.Sprintf("import of the same items from a TSV %.1f s (%.0f items/s)", importTook.Seconds(), rate(importTook))
		_ = benchtable.Record(benchtable.Row{Issue: "#6",
			What:     fmt.Sprintf("publish %d staged items into an empty catalog (stock from availability, image fetches queued)", n),
			Ours:     fmt.Sprintf("%.1f s (%.0f items/s)", createTook.Seconds(), rate(createTook)),
			Baseline: importRow, Ratio: createTook.Seconds() / importTook.Seconds(), Target: "(reported against the import)", Pass: true})
		_ = benchtable.Record(benchtable.Row{Issue: "#6",
			What:     fmt.Sprintf("publish the same %d items again after every price changed (updates with snapshots)", n),
			Ours:     fmt.Sprintf("%.1f s (%.0f items/s)", updateTook.Seconds(), rate(updateTook)),
			Baseline: importRow, Ratio: updateTook.Seconds() / importTook.Seconds(), Target: "(reported against the import)", Pass: true})
	}
}
