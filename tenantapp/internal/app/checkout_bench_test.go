package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/benchtable"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/orders"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
)

// BenchmarkCheckoutUntilSoldOut places orders of one unit each through the
// shop API (POST /api/v1/shop/checkout: the order, its line, the stock
// reservation and the PaymentIntent at stripe-mock) from 16 shoppers at
// once, until the first error, which must be the product selling out.
// Then it checks that exactly the stock was sold: no oversell, nothing
// lost. The baseline is the same database work done by raw SQL (order,
// line, guarded reservation, movement, in one transaction) from 16
// goroutines until the same stock is gone, in the same run.
func BenchmarkCheckoutUntilSoldOut(b *testing.B) {
	const stock = 2000
	const clients = 16
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
	account := "acct_benchcheckout"
	if _, err := raw.Exec(ctx, `UPDATE shop_profile SET stripe_account_id = $1, stripe_charges_enabled = true, tax_rate_bp = 1700`, account); err != nil {
		b.Fatal(err)
	}
	if _, err := e.Store.Pool().Exec(ctx, `INSERT INTO stripe_accounts (account_id, vendor_id) VALUES ($1, $2)`, account, v.ID); err != nil {
		b.Fatal(err)
	}
	newProduct := func(sku string) int64 {
		var id int64
		if err := raw.QueryRow(ctx, `INSERT INTO products (sku, title, handle, price_minor, state, stock_on_hand)
			VALUES ($1, $1, lower($1), 1990, 'active', $2) RETURNING id`, sku, stock).Scan(&id); err != nil {
			b.Fatal(err)
		}
		return id
	}
	a, err := app.New(ctx, &cfg, logging.New(io.Discard, "text", "error"))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}

	for b.Loop() {
		appID, rawID := newProduct("APP"), newProduct("RAW")
		// Every order is a new shopper: a fresh session whose cart holds
		// one unit, then its checkout (a cart has one unpaid order at a
		// time, so each order needs a cart of its own). Only the checkout
		// is timed.
		newCart := func() (cookie, version string, err error) {
			resp, body := benchJSON(b, client, srv.URL, "", "POST", "/api/v1/shop/cart/lines", map[string]any{"product_id": appID})
			var cart struct {
				Version string `json:"version"`
			}
			if resp.StatusCode != 200 || json.Unmarshal(body, &cart) != nil {
				return "", "", fmt.Errorf("add to cart: %d %s", resp.StatusCode, body)
			}
			for _, c := range resp.Cookies() {
				if c.Name == "sf_shop" {
					cookie = c.Value
				}
			}
			return cookie, cart.Version, nil
		}
		var placed, soldOut atomic.Int64
		var firstOther atomic.Value
		var wg sync.WaitGroup
		start := time.Now()
		var lat []time.Duration
		var mu sync.Mutex
		var busy atomic.Int64 // nanoseconds spent in checkouts, summed over shoppers
		for range clients {
			wg.Go(func() {
				var mine []time.Duration
				defer func() { mu.Lock(); lat = append(lat, mine...); mu.Unlock() }()
				for soldOut.Load() == 0 && firstOther.Load() == nil {
					cookie, version, err := newCart()
					if err != nil {
						firstOther.CompareAndSwap(nil, err.Error())
						return
					}
					t0 := time.Now()
					resp, body := benchJSON(b, client, srv.URL, cookie, "POST", "/api/v1/shop/checkout", map[string]any{
						"checkout_key": benchKey(), "cart_version": version, "email": "bench@example.com",
						"shipping_method_id": 1, "shipping_address": map[string]any{"name": "Bench", "line1": "1 Road",
							"postal_code": "1000", "city": "Town", "country": "LU"}})
					d := time.Since(t0)
					busy.Add(int64(d))
					switch {
					case resp.StatusCode == 201:
						placed.Add(1)
						mine = append(mine, d)
					case resp.StatusCode == 409 && bytes.Contains(body, []byte("just sold out")):
						soldOut.Add(1)
					default:
						firstOther.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, body))
					}
				}
			})
		}
		wg.Wait()
		// the checkouts' own time: the carts filled in between are not
		// the checkout's work (busy is summed over the shoppers at once)
		appTime := time.Duration(busy.Load() / clients)
		_ = start
		if f := firstOther.Load(); f != nil {
			b.Fatalf("a checkout failed before the product sold out: %v", f)
		}

		// the baseline: the same writes by hand
		var rawPlaced atomic.Int64
		var rawDone atomic.Bool
		start = time.Now()
		for range clients {
			wg.Go(func() {
				for !rawDone.Load() {
					err := pgx.BeginFunc(ctx, raw, func(tx pgx.Tx) error {
						var id int64
						if err := tx.QueryRow(ctx, `INSERT INTO orders (checkout_key, access_token, email, reserved_until, currency,
								subtotal_minor, shipping_minor, tax_minor, total_minor, tax_rate_bp, prices_include_tax,
								shipping_method_name, shipping_address)
							VALUES ($1, $2, 'bench@example.com', now() + interval '30 minutes', 'EUR', 1990, 495, 362, 2485, 1700, true,
								'Standard', '{}') RETURNING id`, benchKey(), benchKey()).Scan(&id); err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, `INSERT INTO order_lines (order_id, product_id, sku, title, unit_price_minor, quantity, line_total_minor)
							VALUES ($1, $2, 'RAW', 'RAW', 1990, 1, 1990)`, id, rawID); err != nil {
							return err
						}
						return orders.Reserve(ctx, tx, id, rawID, 1)
					})
					switch {
					case err == nil:
						rawPlaced.Add(1)
					case isOutOfStock(err):
						rawDone.Store(true)
					default:
						b.Error(err)
						rawDone.Store(true)
					}
				}
			})
		}
		wg.Wait()
		rawTime := time.Since(start)

		// exactly the stock was sold, and stock never went below zero
		var onHand, reserved, orderUnits int
		if err := raw.QueryRow(ctx, `SELECT p.stock_on_hand, p.stock_reserved,
				(SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE product_id = p.id)
			FROM products p WHERE p.id = $1`, appID).Scan(&onHand, &reserved, &orderUnits); err != nil {
			b.Fatal(err)
		}
		if placed.Load() != stock || reserved != stock || orderUnits != stock || onHand-reserved != 0 {
			b.Fatalf("oversold or lost: %d orders placed, %d units in orders, %d on hand, %d reserved", placed.Load(), orderUnits, onHand, reserved)
		}
		if rawPlaced.Load() != stock {
			b.Fatalf("baseline placed %d orders", rawPlaced.Load())
		}
		appRate, rawRate := float64(placed.Load())/appTime.Seconds(), float64(rawPlaced.Load())/rawTime.Seconds()
		b.ReportMetric(appRate, "orders/s")
		b.ReportMetric(rawRate, "raw-orders/s")
		b.ReportMetric(appRate/rawRate, "x-raw")
		p95 := benchtable.Percentile(lat, 95)
		what := fmt.Sprintf("checkout through the shop API until sold out (%d units, %d shoppers, PaymentIntent at stripe-mock), no oversell", stock, clients)
		_ = benchtable.Record(benchtable.Row{Issue: "#7", What: what,
			Ours:     fmt.Sprintf("%.0f orders/s (p95 %s)", appRate, benchtable.Ms(p95)),
			Baseline: fmt.Sprintf("raw SQL order + reservation %.0f orders/s", rawRate),
			Ratio:    appRate / rawRate, Target: "first error is sold out; exactly the stock sold", Pass: true})
	}
}

func isOutOfStock(err error) bool {
	var oos *orders.OutOfStockError
	return errors.As(err, &oos)
}

func benchKey() string {
	k := make([]byte, 18)
	_, _ = rand.Read(k)
	return base64.RawURLEncoding.EncodeToString(k)
}

// benchJSON sends a JSON request to the bench shop, as a browser on it.
func benchJSON(b *testing.B, client *http.Client, base, cookie, method, path string, in any) (*http.Response, []byte) {
	raw, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(raw))
	req.Host = "bench.localhost"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "sf_shop", Value: cookie})
	}
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}
