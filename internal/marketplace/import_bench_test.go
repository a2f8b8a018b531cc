package marketplace_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/storefleet/storefleet/internal/benchtable"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/testenv"
)

// BenchmarkImport100k reads, checks and loads a 100,000-row feed into
// staging through the import job (the file already in the vendor's
// bucket), and compares it with a raw COPY of the same rows, already
// clean, into the same table, alternating three times on an emptied
// table. Target: at least half the raw COPY's throughput.
//
//	go test -run '^$' -bench Import100k -benchtime 1x ./internal/marketplace/
func BenchmarkImport100k(b *testing.B) {
	const n, rounds = 100_000, 3
	ctx := context.Background()
	e := testenv.New(b)
	s := shopOf(b, e, e.CreateVendor(b, "benchimport", "Bench Import"))
	items := benchItems(n)
	feed := benchTSV(items)
	empty := func() {
		if _, err := s.v.Pool.Exec(ctx, `TRUNCATE marketplace_products, import_rejections CASCADE`); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		var raw, ours []time.Duration
		for range rounds {
			empty()
			start := time.Now()
			benchCopy(b, s, items)
			raw = append(raw, time.Since(start))

			empty()
			imp, err := marketplace.CreateImport(ctx, s.v.Pool, s.v.Objects, s.v.Bucket,
				marketplace.NewImport{FileName: "bench.tsv", Body: bytes.NewReader(feed), Size: int64(len(feed))}, staff.Entry{Actor: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			start = time.Now()
			if _, err := s.r.Drain(ctx, marketplace.WorkImports, s.v); err != nil {
				b.Fatal(err)
			}
			ours = append(ours, time.Since(start))
			if imp, err = marketplace.GetImport(ctx, s.v.Pool, imp.ID); err != nil || imp.RowsImported != n || imp.RowsNew != n {
				b.Fatalf("import: %+v %v", imp, err)
			}
		}
		rawT, ourT := benchtable.Median(raw), benchtable.Median(ours)
		ratio := rawT.Seconds() / ourT.Seconds()
		b.ReportMetric(n/ourT.Seconds(), "rows/s")
		b.ReportMetric(n/rawT.Seconds(), "raw-copy-rows/s")
		b.ReportMetric(ratio, "x-raw")
		_ = benchtable.Record(benchtable.Row{Issue: "#6",
			What:     fmt.Sprintf("import a %d-row feed into staging (read from the bucket, parse, check, load; median of %d)", n, rounds),
			Ours:     fmt.Sprintf("%.2f s (%.0f rows/s)", ourT.Seconds(), n/ourT.Seconds()),
			Baseline: fmt.Sprintf("raw COPY of the clean rows %.2f s (%.0f rows/s)", rawT.Seconds(), n/rawT.Seconds()),
			Ratio:    ratio, Target: "≥ 0.5x", Pass: ratio >= 0.5})
	}
}

// benchCopy writes the items into staging with one COPY, as clean rows
// (the digest computed here too, as the import does).
func benchCopy(b *testing.B, s *shop, items []benchItem) {
	b.Helper()
	cols := []string{"external_id", "title", "description", "link", "image_link", "additional_image_links", "availability",
		"price_minor", "sale_price_minor", "currency", "brand", "gtin", "mpn", "condition", "google_product_category",
		"product_type", "item_group_id", "color", "size", "attributes", "translations", "content_hash"}
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(items) {
			return nil, nil
		}
		it := &items[i]
		i++
		hash := sha256.Sum256(fmt.Appendf(nil, "%v", *it))
		return []any{it.id, it.title, it.description, it.link, it.imageLink, it.moreImages, it.availability,
			it.price, it.sale, "EUR", it.brand, it.gtin, it.mpn, "new", it.category, it.productType, it.group, it.color,
			it.size, map[string]string{}, map[string]string{}, hash[:]}, nil
	})
	if _, err := s.v.Pool.CopyFrom(context.Background(), pgx.Identifier{"marketplace_products"}, cols, src); err != nil {
		b.Fatalf("copy: %v", err)
	}
}

// BenchmarkImportMemory1M imports a 1,000,000-row feed (streamed into
// the bucket, never whole in memory) and reports the most memory the Go
// runtime held while the import job ran, sampled every 10 ms, and the
// process's peak resident size over the import. Target: under 200 MB.
//
//	go test -run '^$' -bench ImportMemory1M -benchtime 1x ./internal/marketplace/
func BenchmarkImportMemory1M(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	e := testenv.New(b)
	s := shopOf(b, e, e.CreateVendor(b, "benchmemory", "Bench Memory"))
	for b.Loop() {
		// The feed goes to the bucket through a pipe, a row at a time.
		pr, pw := io.Pipe()
		go func() {
			w := bufio.NewWriter(pw)
			head := benchTSV(nil)
			_, _ = w.Write(head)
			const chunk = 1000
			items := benchItems(chunk)
			for i := 0; i < n; i += chunk {
				for j := range items {
					items[j].id = "M-" + strconv.Itoa(i+j)
				}
				_, _ = w.Write(bytes.TrimPrefix(benchTSV(items), head))
			}
			_ = w.Flush()
			_ = pw.Close()
		}()
		key := "imports/2026/" + strings.Repeat("b", 24) + ".feed"
		info, err := s.v.Objects.PutObject(ctx, s.v.Bucket, key, pr, -1, minio.PutObjectOptions{PartSize: 16 << 20})
		if err != nil {
			b.Fatal(err)
		}
		var id int64
		if err := s.v.Pool.QueryRow(ctx, `INSERT INTO imports (source, file_name, object_key, size_bytes)
			VALUES ('upload', 'million.tsv', $1, $2) RETURNING id`, key, info.Size).Scan(&id); err != nil {
			b.Fatal(err)
		}

		runtime.GC()
		resetPeakRSS()
		var peak uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ms runtime.MemStats
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.Sys-ms.HeapReleased)
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		start := time.Now()
		_, err = s.r.Drain(ctx, marketplace.WorkImports, s.v)
		took := time.Since(start)
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		imp, err := marketplace.GetImport(ctx, s.v.Pool, id)
		if err != nil || imp.RowsImported != n {
			b.Fatalf("import: %+v %v", imp, err)
		}
		peakMB := float64(peak) / (1 << 20)
		rssMB := float64(peakRSS()) / (1 << 20)
		b.ReportMetric(peakMB, "go-peak-MB")
		b.ReportMetric(rssMB, "rss-peak-MB")
		b.ReportMetric(took.Seconds(), "import-s")
		_ = benchtable.Record(benchtable.Row{Issue: "#6",
			What: fmt.Sprintf("import a %d-row feed (%.0f MB): memory while the import job runs (%.0f s, %.0f rows/s)",
				n, float64(info.Size)/(1<<20), took.Seconds(), n/took.Seconds()),
			Ours:     fmt.Sprintf("Go runtime peak %.0f MB; process peak RSS %.0f MB", peakMB, rssMB),
			Baseline: "limit 200 MB", Ratio: max(peakMB, rssMB) / 200, Target: "< 200 MB", Pass: max(peakMB, rssMB) < 200})
	}
}

// resetPeakRSS resets the kernel's record of the process's peak resident
// size (VmHWM), so peakRSS measures from here.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's peak resident size in bytes (VmHWM).
func peakRSS() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
