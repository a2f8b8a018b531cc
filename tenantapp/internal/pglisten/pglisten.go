// Package pglisten keeps a dedicated PostgreSQL connection listening on
// one NOTIFY channel for the tenant app's caches (routing, feature flags):
// it pings an idle connection so that one that died without a word is
// noticed, and reconnects with jittered exponential backoff. The caches
// decide what a notification, a lost connection and a regained one mean.
package pglisten

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener is one channel's listening connection.
type Listener struct {
	Config       *pgx.ConnConfig
	Channel      string
	PingInterval time.Duration
	MinBackoff   time.Duration
	MaxBackoff   time.Duration
	Log          *slog.Logger
	// Name says whose listener it is in log lines ("routing", "flags").
	Name string
}

// Connect opens the connection and subscribes.
func (l *Listener) Connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.Config)
	if err != nil {
		return nil, fmt.Errorf("connect listener to control plane as %s: %w", l.Config.User, err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.Channel}.Sanitize()); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("listen on %s: %w", l.Channel, err)
	}
	return conn, nil
}

// Run receives notifications on conn until ctx ends, handing each payload
// to notify. When the connection is lost it calls lost, reconnects (the
// first attempt at once) and calls back once it listens again; notify,
// lost and back run on Run's goroutine.
func (l *Listener) Run(ctx context.Context, conn *pgx.Conn, notify func(payload string), lost func(error), back func()) {
	for {
		err := l.receive(ctx, conn, notify)
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		lost(err)
		if conn = l.reconnect(ctx); conn == nil {
			return
		}
		back()
	}
}

// reconnect retries until it has a listening connection (nil when ctx
// ends), waiting a full-jitter backoff over [b/2, b) between attempts.
func (l *Listener) reconnect(ctx context.Context) *pgx.Conn {
	backoff := l.MinBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := l.Connect(actx)
		cancel()
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		l.Log.Warn(l.Name+" listener cannot reconnect", "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, l.MaxBackoff)
	}
}

// receive hands notifications on conn to notify until it fails or ctx
// ends. An idle connection is pinged every ping interval, so a connection
// that died without a word (a network partition) is noticed.
func (l *Listener) receive(ctx context.Context, conn *pgx.Conn, notify func(string)) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, l.PingInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed() {
				return fmt.Errorf("wait for notification: %w", err)
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping listening connection: %w", err)
			}
			continue
		}
		notify(n.Payload)
	}
}
