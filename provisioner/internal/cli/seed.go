package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/wiring"
)

// Demo data that `make run` seeds.
const (
	DemoAdminEmail    = "admin@storefleet.test"
	DemoAdminPassword = "storefleet-demo"
)

type demoProduct struct {
	SKU, Title, Description string
	Price                   int64
}

var demoVendors = []struct {
	req      provision.CreateRequest
	products []demoProduct
}{
	{provision.CreateRequest{Slug: "acme-tools", Name: "Acme Tools", OwnerEmail: "owner@acme-tools.test"}, []demoProduct{
		{"AT-HAM-16", "Claw hammer 16 oz", "Forged steel head, hickory handle.", 2490},
		{"AT-SCR-SET", "Screwdriver set, 12 pieces", "Slotted, Phillips and Torx with a magnetic tip.", 3990},
		{"AT-TAPE-5", "Tape measure 5 m", "Self-locking blade with a belt clip.", 1290},
		{"AT-LVL-60", "Spirit level 60 cm", "Aluminium body, three vials.", 1890},
		{"AT-GLV-L", "Work gloves, size L", "Nitrile-coated, breathable back.", 690},
	}},
	// A shop moving over from a marketplace: its feed is imported into
	// staging (with --demo-feed), waiting to be published.
	{provision.CreateRequest{Slug: "letz-market", Name: "Lëtz Market", OwnerEmail: "owner@letz-market.test"}, nil},
	{provision.CreateRequest{Slug: "green-leaf", Name: "Green Leaf Tea Co.", OwnerEmail: "owner@green-leaf.test"}, []demoProduct{
		{"GL-SENCHA", "Sencha, 100 g", "Steamed Japanese green tea, grassy and bright.", 1150},
		{"GL-ASSAM", "Assam breakfast, 250 g", "Malty black tea that takes milk well.", 1390},
		{"GL-CHAM", "Chamomile flowers, 50 g", "Whole blossoms for a calm evening cup.", 790},
		{"GL-POT", "Glass teapot 0.8 l", "Heat-resistant glass with a steel infuser.", 2990},
	}},
}

func init() {
	register(&command{name: "seed-demo", args: "[--demo-feed FILE]",
		summary: "create the demo admin and demo vendors with products (idempotent; used by `make run`)",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			feedPath := fs.String("demo-feed", "", "a marketplace feed to import into the staging area of letz-market (once)")
			return func(ctx context.Context) error {
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				hash, err := auth.Hash(DemoAdminPassword)
				if err != nil {
					return err
				}
				if _, err := p.Store.AdminByEmail(ctx, DemoAdminEmail); errors.Is(err, platform.ErrNotFound) {
					if _, err := p.Store.UpsertAdmin(ctx, DemoAdminEmail, "Demo Admin", hash); err != nil {
						return err
					}
				} else if err != nil {
					return err
				}
				var slugs []string
				for _, dv := range demoVendors {
					v, err := p.Store.VendorBySlug(ctx, dv.req.Slug)
					if errors.Is(err, platform.ErrNotFound) {
						v, err = p.Prov.CreateVendor(ctx, env.Actor(), dv.req)
					}
					if err != nil {
						return err
					}
					if v.State.Provisioning() {
						if err := p.Prov.Advance(ctx, v.ID); err != nil {
							return err
						}
					}
					if err := seedProducts(ctx, p.Prov, v, dv.products, hash); err != nil {
						return err
					}
					if err := seedPayments(ctx, p, v); err != nil {
						return err
					}
					if dv.products == nil && *feedPath != "" {
						if err := seedImport(ctx, p, v, *feedPath); err != nil {
							return err
						}
					}
					slugs = append(slugs, v.Slug)
				}
				env.Print(map[string]any{"admin": DemoAdminEmail, "vendors": slugs}, func(w io.Writer) {
					fmt.Fprintf(w, "demo admin\t%s\ndemo vendors\t%v\n", DemoAdminEmail, slugs)
				})
				return nil
			}
		}})
}

// seedProducts gives a demo vendor its products, and its owner (invited
// at provisioning) the demo password, so the back office can be tried at
// once.
func seedProducts(ctx context.Context, prov *provision.Provisioner, v *platform.Vendor, products []demoProduct, ownerHash string) error {
	u, err := prov.VendorDatabaseURL(ctx, v)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", v.Slug, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// Vendors made before staff accounts existed get their owner now.
	if err := staff.EnsureOwner(ctx, conn, v.OwnerEmail); err != nil {
		return err
	}
	return database.Transact(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE staff SET password_hash = $1, status = 'active', name = 'Demo Owner'
			WHERE is_owner AND password_hash IS NULL`, ownerHash); err != nil {
			return fmt.Errorf("activate the demo owner of %s: %w", v.Slug, err)
		}
		// Demo products made before stock was kept get some, once.
		if _, err := tx.Exec(ctx, `UPDATE products p SET stock_on_hand = 25 WHERE stock_on_hand = 0
			AND NOT EXISTS (SELECT 1 FROM inventory_movements m WHERE m.product_id = p.id)`); err != nil {
			return fmt.Errorf("give the demo products of %s stock: %w", v.Slug, err)
		}
		for i, pr := range products {
			// stock to sell, and the first three on the home page
			_, err := tx.Exec(ctx, `INSERT INTO products (sku, title, description, price_minor, state, stock_on_hand, featured)
				VALUES ($1, $2, $3, $4, 'active', 25, $5) ON CONFLICT (sku) DO NOTHING`, pr.SKU, pr.Title, pr.Description, pr.Price, i < 3)
			if err != nil {
				return fmt.Errorf("seed product %s for %s: %w", pr.SKU, v.Slug, err)
			}
		}
		return nil
	})
}

// seedPayments connects a demo vendor to a Stripe test account, when the
// platform runs with a Stripe test key (the emulator in development), so
// that the demo shops take orders at once. With a live key, or none, the
// vendor connects its own account from the back office's Payments page.
func seedPayments(ctx context.Context, p *wiring.Platform, v *platform.Vendor) error {
	if !strings.HasPrefix(p.Cfg.StripeSecretKey, "sk_test_") {
		return nil
	}
	account := "acct_demo" + strings.ReplaceAll(v.Slug, "-", "")
	if _, err := p.Store.Pool().Exec(ctx, `INSERT INTO stripe_accounts (account_id, vendor_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, account, v.ID); err != nil {
		return fmt.Errorf("record the demo Stripe account of %s: %w", v.Slug, err)
	}
	u, err := p.Prov.VendorDatabaseURL(ctx, v)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", v.Slug, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `UPDATE shop_profile SET stripe_account_id = $1, stripe_charges_enabled = true,
			stripe_details_submitted = true, tax_rate_bp = 1700
		WHERE stripe_account_id IS NULL`, account)
	if err != nil {
		return fmt.Errorf("connect the demo Stripe account of %s: %w", v.Slug, err)
	}
	return nil
}

// seedImport queues the import of a feed file into a demo vendor's staging
// area, unless it has imported something already, and asks the control
// plane's job system to run it (it does once the control plane runs).
func seedImport(ctx context.Context, p *wiring.Platform, v *platform.Vendor, path string) error {
	u, err := p.Prov.VendorDatabaseURL(ctx, v)
	if err != nil {
		return err
	}
	pool, err := database.Open(ctx, u)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", v.Slug, err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM imports`).Scan(&n); err != nil || n > 0 {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("demo feed: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	objects, err := p.Objects.VendorClient(v.Bucket)
	if err != nil {
		return err
	}
	if _, err := marketplace.CreateImport(ctx, pool, objects, v.Bucket, marketplace.NewImport{FileName: filepath.Base(path),
		Body: f, Size: info.Size()}, staff.Entry{Actor: "demo"}); err != nil {
		return err
	}
	if _, err := p.Store.Pool().Exec(ctx, `SELECT request_vendor_work($1, 'imports')`, v.ID); err != nil {
		return fmt.Errorf("ask for the demo import to run: %w", err)
	}
	return nil
}
