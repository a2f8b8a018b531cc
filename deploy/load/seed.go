package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/wiring"
)

// State is what the seed made: the driver browses and buys from it, and the
// check compares the databases with the initial stock recorded here.
type State struct {
	Seeded  time.Time     `json:"seeded"`
	Vendors []VendorState `json:"vendors"`
	// Words are the words of the seeded titles and brands: what shoppers
	// search for.
	Words []string `json:"words"`
}

// VendorState is one seeded vendor.
type VendorState struct {
	ID         int64          `json:"id"`
	Slug       string         `json:"slug"`
	Categories []int64        `json:"categories"`
	Brands     []string       `json:"brands"`
	Products   []ProductState `json:"products"`
}

// ProductState is one seeded product with its initial stock.
type ProductState struct {
	ID     int64  `json:"id"`
	Handle string `json:"handle"`
	Stock  int    `json:"stock"`
	// Hot products are featured on the home page with little stock:
	// shoppers favour them, so they sell out during a run.
	Hot bool `json:"hot,omitempty"`
}

var (
	adjectives = []string{"sturdy", "compact", "classic", "rustic", "modern", "vintage", "folding", "portable",
		"deluxe", "handmade", "organic", "waterproof", "lightweight", "heavy", "cordless", "ceramic"}
	materials = []string{"oak", "walnut", "steel", "copper", "linen", "cotton", "wool", "leather", "bamboo",
		"glass", "marble", "brass", "canvas", "porcelain"}
	nouns = [][]string{ // one group a category
		{"chair", "table", "stool", "bench", "shelf", "cabinet"},
		{"hammer", "screwdriver", "wrench", "chisel", "saw", "pliers"},
		{"teapot", "kettle", "mug", "bowl", "platter", "skillet"},
		{"blanket", "pillow", "towel", "curtain", "rug", "apron"},
		{"lantern", "lamp", "candle", "mirror", "clock", "vase"},
		{"backpack", "wallet", "belt", "satchel", "scarf", "gloves"},
		{"planter", "trowel", "watering", "birdhouse", "hammock", "parasol"},
		{"notebook", "pencil", "easel", "journal", "bookend", "inkwell"},
	}
	categoryNames = []string{"Furniture", "Tools", "Kitchen", "Textiles", "Lighting", "Accessories", "Garden", "Stationery"}
	brands        = []string{"Northwind", "Fjordline", "Acorn & Co", "Hollowbrook", "Ironvale", "Saltmarsh",
		"Pinecrest", "Larkspur", "Bramblewood", "Copperfield"}
)

func seedMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	vendors := fs.Int("vendors", 200, "vendors to provision")
	products := fs.Int("products", 300, "products for each vendor")
	hot := fs.Int("hot", 6, "featured products with little stock (2-8 units) for each vendor")
	workers := fs.Int("workers", 4, "vendors provisioned at once")
	statePath := fs.String("state", "load-state.json", "where to write what was seeded")
	prefix := fs.String("slug-prefix", "load", "vendor slugs are PREFIX-0001, PREFIX-0002, ...")
	_ = fs.Parse(args)
	if *hot > *products {
		*hot = *products
	}

	p, err := openPlatform(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	if !strings.HasPrefix(p.Cfg.StripeSecretKey, "sk_test_") {
		return errors.New("the platform needs a Stripe test key (sk_test_...) so that the load vendors can take test payments")
	}

	start := time.Now()
	state := &State{Seeded: start, Vendors: make([]VendorState, *vendors)}
	jobs := make(chan int)
	var done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			for i := range jobs {
				vs, err := seedVendor(ctx, p, fmt.Sprintf("%s-%04d", *prefix, i+1), i, *products, *hot)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				state.Vendors[i] = *vs
				if n := done.Add(1); n%20 == 0 || int(n) == *vendors {
					fmt.Fprintf(os.Stderr, "load: seeded %d/%d vendors (%s)\n", n, *vendors, time.Since(start).Round(time.Second))
				}
			}
		})
	}
	for i := range *vendors {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	words := map[string]bool{}
	for _, w := range append(append(append([]string{}, adjectives...), materials...), brands...) {
		words[strings.ToLower(strings.Fields(w)[0])] = true
	}
	for _, g := range nouns {
		for _, w := range g {
			words[w] = true
		}
	}
	for w := range words {
		state.Words = append(state.Words, w)
	}
	raw, err := json.Marshal(state)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*statePath, raw, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "load: seeded %d vendors with %d products each in %s; state in %s\n",
		*vendors, *products, time.Since(start).Round(100*time.Millisecond), *statePath)
	return nil
}

// seedVendor provisions one vendor through to active, connects it to a
// Stripe test account (as `provisioner seed-demo` does for the demo shops)
// and gives it a catalog.
func seedVendor(ctx context.Context, p *wiring.Platform, slug string, n, products, hot int) (*VendorState, error) {
	v, err := p.Store.VendorBySlug(ctx, slug)
	if errors.Is(err, platform.ErrNotFound) {
		v, err = p.Prov.CreateVendor(ctx, platform.Actor{Kind: "cli", Name: "load"},
			provision.CreateRequest{Slug: slug, Name: fmt.Sprintf("Load Shop %d", n+1), OwnerEmail: "owner@" + slug + ".test"})
	}
	if err != nil {
		return nil, fmt.Errorf("provision %s: %w", slug, err)
	}
	if v.State.Provisioning() {
		if err := p.Prov.Advance(ctx, v.ID); err != nil {
			return nil, fmt.Errorf("provision %s: %w", slug, err)
		}
	}
	account := "acct_load" + strings.ReplaceAll(slug, "-", "")
	if _, err := p.Store.Pool().Exec(ctx, `INSERT INTO stripe_accounts (account_id, vendor_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, account, v.ID); err != nil {
		return nil, fmt.Errorf("record the Stripe account of %s: %w", slug, err)
	}
	u, err := p.Prov.VendorDatabaseURL(ctx, v)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", slug, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	rng := rand.New(rand.NewPCG(uint64(n), 42))
	vs := &VendorState{ID: v.ID, Slug: slug}
	err = database.Transact(ctx, conn, func(tx pgx.Tx) error {
		var existing int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM products`).Scan(&existing); err != nil {
			return err
		}
		if existing > 0 {
			return fmt.Errorf("%s has products already: the load run needs fresh vendors (wipe the load instance)", slug)
		}
		if _, err := tx.Exec(ctx, `UPDATE shop_profile SET stripe_account_id = $1, stripe_charges_enabled = true,
				stripe_details_submitted = true, tax_rate_bp = 1700`, account); err != nil {
			return fmt.Errorf("connect the Stripe account of %s: %w", slug, err)
		}
		catIDs := make([]int64, len(categoryNames))
		for i, name := range categoryNames {
			if err := tx.QueryRow(ctx, `INSERT INTO categories (name) VALUES ($1) RETURNING id`, name).Scan(&catIDs[i]); err != nil {
				return fmt.Errorf("category for %s: %w", slug, err)
			}
		}
		vs.Categories = catIDs
		vs.Brands = brands
		rows := make([][]any, products)
		groups := make([]int, products)
		for i := range rows {
			g := rng.IntN(len(nouns))
			groups[i] = g
			title := fmt.Sprintf("%s %s %s", titleCase(adjectives[rng.IntN(len(adjectives))]),
				materials[rng.IntN(len(materials))], nouns[g][rng.IntN(len(nouns[g]))])
			sku := fmt.Sprintf("LD-%05d", i+1)
			price := int64(299 + rng.IntN(197)*100)
			var sale *int64
			if rng.IntN(5) == 0 {
				s := price * 8 / 10
				sale = &s
			}
			stock := 20 + rng.IntN(181)
			switch {
			case i < hot:
				stock = 2 + rng.IntN(7)
			case rng.IntN(30) == 0:
				stock = 0 // some products are out of stock from the start
			}
			brand := brands[rng.IntN(len(brands))]
			desc := fmt.Sprintf("A %s %s %s by %s, made to last. Item %d of the load catalog.",
				adjectives[rng.IntN(len(adjectives))], materials[rng.IntN(len(materials))], nouns[g][0], brand, i+1)
			rows[i] = []any{sku, strings.ToLower(sku), title, desc, brand, price, sale, "active", int32(stock), i < hot}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"products"},
			[]string{"sku", "handle", "title", "description", "brand", "price_minor", "sale_price_minor", "state", "stock_on_hand", "featured"},
			pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("products for %s: %w", slug, err)
		}
		// every product in its group's category
		skus, cats := make([]string, len(groups)), make([]int64, len(groups))
		for i, g := range groups {
			skus[i], cats[i] = fmt.Sprintf("LD-%05d", i+1), catIDs[g]
		}
		if _, err := tx.Exec(ctx, `INSERT INTO product_categories (product_id, category_id)
			SELECT p.id, x.category_id FROM unnest($1::text[], $2::bigint[]) AS x (sku, category_id) JOIN products p USING (sku)`,
			skus, cats); err != nil {
			return fmt.Errorf("categories of the products of %s: %w", slug, err)
		}
		r, err := tx.Query(ctx, `SELECT id, handle, stock_on_hand, featured FROM products ORDER BY id`)
		if err != nil {
			return err
		}
		vs.Products, err = pgx.CollectRows(r, func(row pgx.CollectableRow) (ProductState, error) {
			var ps ProductState
			err := row.Scan(&ps.ID, &ps.Handle, &ps.Stock, &ps.Hot)
			return ps, err
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return vs, nil
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
