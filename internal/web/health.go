package web

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Check is one readiness check: a dependency and how to ping it.
type Check struct {
	Name string
	// Optional checks report trouble without making the service unready
	// (the service keeps serving without them, e.g. a cache).
	Optional bool
	Ping     func(ctx context.Context) error
}

// Healthz answers 200 while the process runs.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Readyz returns a handler that runs every check (in parallel, 3 s each)
// and answers 200 when every required one passes, else 503. A failing
// optional check is reported as "degraded".
func Readyz(checks ...Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		type result struct {
			Status   string `json:"status"`
			Error    string `json:"error,omitempty"`
			Optional bool   `json:"optional,omitempty"`
			Millis   int64  `json:"ms"`
		}
		results := make(map[string]result, len(checks))
		var mu sync.Mutex
		var wg sync.WaitGroup
		ready := true
		for _, c := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
				defer cancel()
				start := time.Now()
				err := c.Ping(ctx)
				res := result{Status: "ok", Optional: c.Optional, Millis: time.Since(start).Milliseconds()}
				if err != nil {
					res.Status, res.Error = "failing", err.Error()
					if c.Optional {
						res.Status = "degraded" // the service serves without it
					}
				}
				mu.Lock()
				defer mu.Unlock()
				results[c.Name] = res
				if err != nil && !c.Optional {
					ready = false
				}
			}()
		}
		wg.Wait()
		status, code := "ready", http.StatusOK
		if !ready {
			status, code = "not ready", http.StatusServiceUnavailable
		}
		WriteJSON(w, code, map[string]any{"status": status, "checks": results})
	}
}
