package feed

import (
	"bytes"
	"encoding/csv"
	"io"
	"testing"
	"time"
)

// Run them (the target: the reader at least half as fast as the plain
// split, a speed ratio of 0.5 or more):
//
//	go test -run '^$' -bench . -benchmem ./internal/feed/
//
// BenchmarkReader and BenchmarkCSVBaseline give each its own figures;
// BenchmarkReaderVsCSV alternates the two on the same bytes and reports
// the ratio, which holds on a busy machine when the separate figures drift.

const benchRows = 100_000

// benchFeed is a feed of benchRows rows made from the clean sample's rows,
// each with its own id (about 40 MB).
func benchFeed(b *testing.B) []byte {
	data, err := io.ReadAll(newGenFeed(b, benchRows))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkReader reads and checks every row.
func BenchmarkReader(b *testing.B) {
	data := benchFeed(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	loops := 0
	for b.Loop() {
		readerPass(b, data)
		loops++
	}
	b.ReportMetric(float64(benchRows*loops)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkCSVBaseline only splits the same bytes into fields with
// encoding/csv, set up as the reader sets it up: the floor under
// BenchmarkReader.
func BenchmarkCSVBaseline(b *testing.B) {
	data := benchFeed(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	loops := 0
	for b.Loop() {
		csvPass(b, data)
		loops++
	}
	b.ReportMetric(float64(benchRows*loops)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReaderVsCSV runs a csv pass and a reader pass in turn and
// reports both speeds and their ratio (reader rows/s ÷ csv rows/s).
func BenchmarkReaderVsCSV(b *testing.B) {
	data := benchFeed(b)
	var inReader, inCSV time.Duration
	for b.Loop() {
		start := time.Now()
		csvPass(b, data)
		mid := time.Now()
		readerPass(b, data)
		inCSV += mid.Sub(start)
		inReader += time.Since(mid)
	}
	b.ReportMetric(float64(inCSV)/float64(inReader), "ratio")
	b.ReportMetric(float64(benchRows*b.N)/inReader.Seconds(), "reader-rows/s")
	b.ReportMetric(float64(benchRows*b.N)/inCSV.Seconds(), "csv-rows/s")
}

func readerPass(b *testing.B, data []byte) {
	r, err := NewReader(bytes.NewReader(data), Options{})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		it, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil || !it.Valid() {
			b.Fatalf("row %d: %v %v", n, err, it.Err())
		}
		n++
	}
	if n != benchRows {
		b.Fatalf("%d rows", n)
	}
}

func csvPass(b *testing.B, data []byte) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma, r.FieldsPerRecord, r.ReuseRecord = '\t', -1, true
	n := -1 // the header
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	if n != benchRows {
		b.Fatalf("%d rows", n)
	}
}
