// Command provisioner is the operator's tool for the vendors of a
// Storefleet platform: create, list, suspend, resume, delete, reconcile.
// Run `provisioner --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/storefleet/storefleet/provisioner/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
