package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/benchtable"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
)

// BenchmarkBackOfficeProductList serves page 3 of the back office's
// product list (10,000 products, filtered by state and a price range) to a
// signed-in owner through the real tenant app, and runs the list's own
// query straight through pgx in the same run, with as many connections as
// the app's pool for the vendor has, recording throughput and p95 latency
// of both.
func BenchmarkBackOfficeProductList(b *testing.B) {
	const products = 10000
	const clients = 16
	// Ten rounds of half a second each way, alternating, so that both
	// sides see the same load on the machine.
	const rounds, window = 10, 500 * time.Millisecond
	ctx := context.Background()
	e := testenv.New(b)
	v := e.CreateVendor(b, "bench", "Bench Tools")
	u, err := e.Prov.VendorDatabaseURL(ctx, v)
	if err != nil {
		b.Fatal(err)
	}
	cfg := *e.Cfg
	raw, err := database.Open(ctx, u, func(c *pgxpool.Config) { c.MaxConns = int32(cfg.PoolConnsPerVend) })
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	// A third each of drafts, active and archived products, prices from
	// 5.00 to 504.99 spread over the range, each changed at another time.
	_, err = raw.Exec(ctx, `INSERT INTO products (sku, title, description, handle, price_minor, state, updated_at, stock_on_hand)
		SELECT 'B-' || i, 'Bench product ' || i, 'A fine product.', 'b-' || i, 500 + (i * 7919) % 50000,
			(ARRAY['draft', 'active', 'archived'])[i % 3 + 1], now() - i * interval '1 minute', i % 40
		FROM generate_series(1, $1) AS i`, products)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec(ctx, `ANALYZE products`); err != nil {
		b.Fatal(err)
	}
	hash, err := auth.Hash("bench password 123")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec(ctx, `UPDATE staff SET password_hash = $1, status = 'active' WHERE is_owner`, hash); err != nil {
		b.Fatal(err)
	}

	a, err := app.New(ctx, &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cookie := benchSignIn(b, client, srv.URL, "bench.localhost", v.OwnerEmail, "bench password 123")

	const path = "/admin/products?state=active&min_price=20.00&max_price=200.00&page=3"
	filter := catalog.Filter{State: "active", MinPrice: ptr64(2000), MaxPrice: ptr64(20000), Page: 3}
	if errs := filter.Check(); len(errs) > 0 {
		b.Fatal(errs)
	}
	query, args := catalog.ListSQL(filter)

	get := func() (time.Duration, error) {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Host = "bench.localhost"
		req.AddCookie(&http.Cookie{Name: "sf_staff", Value: cookie})
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(start), nil
	}
	rawPage := func() (time.Duration, error) {
		start := time.Now()
		rows, err := raw.Query(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		n := 0
		for rows.Next() {
			var r catalog.Row
			if err := rows.Scan(&r.ID, &r.SKU, &r.Title, &r.State, &r.GTIN, &r.PriceMinor, &r.SalePrice, &r.Currency,
				&r.Stock.OnHand, &r.Stock.Reserved, &r.Stock.Threshold, &r.UpdatedAt); err != nil {
				return 0, err
			}
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if n != catalog.DefaultPageSize+1 {
			return 0, fmt.Errorf("%d rows, want a full page and one", n)
		}
		return time.Since(start), nil
	}
	// The page shows the rows the raw query returns.
	_, body := benchGet(b, client, srv.URL+path, cookie)
	ids := regexp.MustCompile(`name="ids" value="(\d+)"`).FindAllStringSubmatch(body, -1)
	rows, err := raw.Query(ctx, query, args...)
	if err != nil {
		b.Fatal(err)
	}
	var want []string
	for rows.Next() {
		vals, _ := rows.Values()
		want = append(want, fmt.Sprint(vals[0]))
	}
	rows.Close()
	var got []string
	for _, m := range ids {
		got = append(got, m[1])
	}
	if len(got) != catalog.DefaultPageSize || !slices.Equal(got, want[:catalog.DefaultPageSize]) {
		b.Fatalf("the page shows %v, the query returns %v", got, want)
	}

	for b.Loop() {
		for range 200 { // warm both paths
			if _, err := get(); err != nil {
				b.Fatal(err)
			}
			if _, err := rawPage(); err != nil {
				b.Fatal(err)
			}
		}
		var appN, rawN int
		var appLat, rawLat []time.Duration
		for range rounds {
			n, lat := benchDrive(b, clients, window, get)
			appN, appLat = appN+n, append(appLat, lat...)
			n, lat = benchDrive(b, clients, window, rawPage)
			rawN, rawLat = rawN+n, append(rawLat, lat...)
		}
		total := (rounds * window).Seconds()
		appRate, rawRate := float64(appN)/total, float64(rawN)/total
		appP95, rawP95 := benchtable.Percentile(appLat, 95), benchtable.Percentile(rawLat, 95)
		ratio := appRate / rawRate
		b.ReportMetric(appRate, "req/s")
		b.ReportMetric(rawRate, "raw-q/s")
		b.ReportMetric(ratio, "x-raw")
		b.ReportMetric(float64(appP95.Microseconds())/1000, "p95-ms")
		what := fmt.Sprintf("back-office product list, %d products, state + price filter, page 3, signed in (%d clients)", products, clients)
		_ = benchtable.Record(benchtable.Row{Issue: "#5", What: what + ": throughput",
			Ours: fmt.Sprintf("%.0f req/s", appRate), Baseline: fmt.Sprintf("raw pgx query %.0f q/s", rawRate),
			Ratio: ratio, Target: "≥ 0.5x", Pass: ratio >= 0.5})
		_ = benchtable.Record(benchtable.Row{Issue: "#5", What: what + ": p95 latency",
			Ours: benchtable.Ms(appP95), Baseline: "raw pgx query " + benchtable.Ms(rawP95),
			Ratio: float64(appP95) / float64(max(rawP95, 1)), Target: "(informative)", Pass: true})
	}
}

func ptr64(v int64) *int64 { return &v }

// benchDrive runs fn from clients goroutines for the window and returns
// how many calls were made and every call's latency.
func benchDrive(b *testing.B, clients int, window time.Duration, fn func() (time.Duration, error)) (int, []time.Duration) {
	var n, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr atomic.Value
	deadline := time.Now().Add(window)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				d, err := fn()
				n.Add(1)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				mine = append(mine, d)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if errs.Load() > 0 {
		b.Fatalf("%d of %d calls failed, first: %v", errs.Load(), n.Load(), firstErr.Load())
	}
	return int(n.Load()), lat
}

func benchGet(b *testing.B, client *http.Client, u, cookie string) (*http.Response, string) {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Host = "bench.localhost"
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "sf_staff", Value: cookie})
	}
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// benchSignIn signs a member in and returns the session cookie.
func benchSignIn(b *testing.B, client *http.Client, base, host, email, password string) string {
	b.Helper()
	resp, body := benchGet(b, client, base+"/admin/login", "")
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "sf_staff" {
			cookie = c.Value
		}
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil || cookie == "" {
		b.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {m[1]}}
	req, _ := http.NewRequest(http.MethodPost, base+"/admin/login", strings.NewReader(form.Encode()))
	req.Host = host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "sf_staff", Value: cookie})
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in: %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "sf_staff" {
			cookie = c.Value
		}
	}
	return cookie
}
