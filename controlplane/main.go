// Command controlplane serves the Storefleet admin console (/admin/) and
// admin API (/api/v1/) over the control-plane database.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/storefleet/storefleet/controlplane/internal/app"
	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/logging"
)

func main() {
	cfg, err := config.Load()
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = app.New(cfg, logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)).Run(ctx)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlplane:", err)
		os.Exit(1)
	}
}
