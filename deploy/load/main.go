// Command load is the load driver behind `make load` (deploy/local/load.sh).
//
//	load seed -vendors 200 -products 300 -state FILE
//	    provisions the vendors through the provisioning library (as the
//	    provisioner CLI does), gives each a catalog with stock and a test
//	    Stripe account, and writes what it made, with every product's
//	    initial stock, to FILE.
//	load run -base http://127.0.0.1:PORT -state FILE -duration 60s -clients 32
//	    drives a mix of storefront browsing, search, cart and checkout
//	    against the tenant app from virtual shoppers, prints a latency table,
//	    then checks in every vendor's database that nothing was lost. It
//	    exits non-zero on a loss or an inconsistency.
//
// Both read the platform's settings as the other programs do
// (STOREFLEET_ENV_FILE, then the environment).
package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/wiring"
)

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "seed":
		err = seedMain(ctx, os.Args[2:])
	case "run":
		err = runMain(ctx, os.Args[2:])
	case "-h", "--help", "help":
		usage(os.Stdout)
		return
	default:
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage: load seed [-vendors N] [-products N] [-state FILE]
       load run [-base URL] [-state FILE] [-duration D] [-clients N] [-out FILE]
Run "load seed -h" or "load run -h" for every flag; deploy/local/load.sh runs both.`)
}

// openPlatform wires the control-plane side from the settings.
func openPlatform(ctx context.Context) (*wiring.Platform, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	// Each vendor being provisioned holds a connection for its advisory
	// lock while its steps take others: the pool's default size (the
	// number of CPUs, at least 4) would deadlock a few workers at once.
	u, err := url.Parse(cfg.ControlPlaneURL)
	if err != nil {
		return nil, fmt.Errorf("STOREFLEET_CONTROLPLANE_DATABASE_URL: %w", err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "32")
	u.RawQuery = q.Encode()
	cfg.ControlPlaneURL = u.String()
	return wiring.Open(ctx, cfg, logging.New(io.Discard, "text", "error"), wiring.Options{})
}
