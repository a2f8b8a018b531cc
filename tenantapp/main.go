// Command tenantapp serves every vendor's storefront, back office and APIs,
// choosing the vendor by the request's host. It holds no state.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/tenantapp/internal/app"
)

func main() {
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tenantapp:", err)
		os.Exit(2)
	}
	logger := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := (&app.Main{Config: cfg, Logger: logger}).Run(ctx); err != nil {
		logger.Error("tenantapp stopped", "err", err)
		os.Exit(1)
	}
}
