package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storefleet/storefleet/internal/mail"
)

// Sender delivers rendered e-mails; *mail.Mailer is one.
type Sender interface {
	SendRendered(ctx context.Context, env mail.Envelope, r *mail.Rendered) error
}

// Options tune Drain.
type Options struct {
	// ShopName is the vendor's name as the control plane knows it: the
	// sender's name unless the shop set a display name.
	ShopName string
	// Batch is how many messages one claim takes (default 20).
	Batch int
	// Lease is how long a claimed message is the drain's own (default 2
	// minutes); a drain that died gives its messages up when it ends.
	Lease time.Duration
	// SendTimeout bounds one delivery (default 1 minute). A *mail.Mailer
	// bounds each e-mail's SMTP dialogue itself (timeout= in its URL, 20 s
	// by default), which usually ends a send to a server that hangs first.
	SendTimeout time.Duration
	// Backoff is the wait after each failed attempt (default Backoff);
	// after len(Backoff)+1 attempts a message has failed.
	Backoff []time.Duration
	Log     *slog.Logger
}

// Backoff is the wait after the first, second, … failed attempt; a
// message whose sixth attempt fails is given up ("failed").
var Backoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour}

// RedactedLink replaces a one-time link in the outbox once its message
// has been sent or given up: tokens do not stay in the database.
const RedactedLink = "(one-time link removed after sending)"

// maxError bounds the error text kept with a message.
const maxError = 1000

type claimed struct {
	ID       int64
	Kind     string
	To       string
	Data     map[string]any
	Attempts int
}

// Drain sends the vendor's due e-mails: it claims them (state 'sending',
// a lease, FOR UPDATE SKIP LOCKED, so any number of drains at once send
// each message once), renders each with the shop's template of its kind
// (or the default), and sends it from the shop's name with the shop's
// contact address as Reply-To. A sent message is marked 'sent' with its
// subject, and its one-time link removed; a failed one is tried again
// after Backoff, and marked 'failed' after the last attempt, or at once
// when the server refused it for good (5xx). It returns when nothing is
// due, with the time the next message is (zero if none waits).
//
// Delivery is at least once: a drain that dies between the SMTP server's
// acceptance and marking the message sent leaves it to be sent again
// when its lease runs out.
func Drain(ctx context.Context, pool *pgxpool.Pool, s Sender, o Options) (time.Time, error) {
	if o.Batch <= 0 {
		o.Batch = 20
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = time.Minute
	}
	if o.Backoff == nil {
		o.Backoff = Backoff
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	shop, err := LoadShop(ctx, pool)
	if err != nil {
		return time.Time{}, err
	}
	theme := shop.Theme(o.ShopName)
	custom, err := customTemplates(ctx, pool)
	if err != nil {
		return time.Time{}, err
	}
	for {
		batch, err := claim(ctx, pool, o)
		if err != nil {
			return time.Time{}, err
		}
		for i, m := range batch {
			if err := ctx.Err(); err != nil {
				return time.Time{}, err // the rest go back when their lease ends
			}
			wait, down, err := deliver(ctx, pool, s, o, shop, theme, custom, m)
			if err != nil {
				return time.Time{}, err
			}
			if down {
				// The SMTP server cannot be reached: the rest of the batch
				// waits (the first backoff step, not this message's own,
				// which may be hours) rather than each paying the timeout
				// in turn (and outliving its lease).
				if err := postpone(ctx, pool, batch[i+1:], min(wait, o.Backoff[0])); err != nil {
					return time.Time{}, err
				}
				next, _, err := nextDue(ctx, pool)
				return next, err
			}
		}
		if len(batch) > 0 {
			continue
		}
		next, due, err := nextDue(ctx, pool)
		if err != nil || !due {
			return next, err
		}
	}
}

// claim takes up to o.Batch due messages: pending ones whose time has
// come, and ones whose sender's lease ran out. Each claim counts as an
// attempt.
func claim(ctx context.Context, pool *pgxpool.Pool, o Options) ([]claimed, error) {
	rows, err := pool.Query(ctx, `UPDATE notifications n
		SET state = 'sending', locked_until = now() + make_interval(secs => $1), attempts = n.attempts + 1
		FROM (SELECT id FROM notifications
			WHERE state IN ('pending', 'sending') AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
			ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) due
		WHERE n.id = due.id
		RETURNING n.id, n.kind, n.to_email, n.data, n.attempts`, o.Lease.Seconds(), o.Batch)
	if err != nil {
		return nil, fmt.Errorf("claim e-mails to send: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[claimed])
	if err != nil {
		return nil, fmt.Errorf("claim e-mails to send: %w", err)
	}
	return out, nil
}

// nextDue returns when the next message waits for (a pending one's next
// attempt, or the end of another sender's lease), and whether it is due
// already.
func nextDue(ctx context.Context, pool *pgxpool.Pool) (time.Time, bool, error) {
	var next *time.Time
	var due bool
	err := pool.QueryRow(ctx, `SELECT min(at), coalesce(min(at) <= now(), false) FROM (
			SELECT CASE WHEN locked_until IS NULL THEN next_attempt_at ELSE greatest(next_attempt_at, locked_until) END AS at
			FROM notifications WHERE state IN ('pending', 'sending')) w`).Scan(&next, &due)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("find the next e-mail to send: %w", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return *next, due, nil
}

// postpone puts claimed messages that were not tried back to pending, due
// after wait, without counting the claim as an attempt.
func postpone(ctx context.Context, pool *pgxpool.Pool, rest []claimed, wait time.Duration) error {
	if len(rest) == 0 {
		return nil
	}
	ids, attempts := make([]int64, len(rest)), make([]int32, len(rest))
	for i, m := range rest {
		ids[i], attempts[i] = m.ID, int32(m.Attempts)
	}
	// Fenced by the attempt counter, as markSent is: a message another
	// drain claimed since (this one's lease ran out) is left to it.
	_, err := pool.Exec(ctx, `UPDATE notifications n SET state = 'pending', locked_until = NULL, attempts = n.attempts - 1,
			next_attempt_at = now() + make_interval(secs => $3)
		FROM unnest($1::bigint[], $2::int[]) AS r(id, attempts)
		WHERE n.id = r.id AND n.attempts = r.attempts AND n.state = 'sending'`, ids, attempts, wait.Seconds())
	if err != nil {
		return fmt.Errorf("postpone %d e-mails while the SMTP server cannot be reached: %w", len(ids), err)
	}
	return nil
}

// deliver renders and sends one claimed message and records the result:
// when the message is tried again, and whether the SMTP server could not
// be reached. Only a failure to record it is returned.
func deliver(ctx context.Context, pool *pgxpool.Pool, s Sender, o Options, shop Shop, theme Theme, custom map[string]Template, m claimed) (time.Duration, bool, error) {
	k, _ := KindByName(m.Kind)
	if m.Data == nil {
		m.Data = map[string]any{}
	}
	if shop.DisplayName != "" || m.Data["shop_name"] == nil || m.Data["shop_name"] == "" {
		m.Data["shop_name"] = theme.ShopName
	}
	r, err := render(m.Kind, custom, m.Data, theme)
	subject := ""
	if err == nil {
		subject = r.Subject
		sctx, cancel := context.WithTimeout(ctx, o.SendTimeout)
		err = s.SendRendered(sctx, mail.Envelope{To: m.To, FromName: theme.ShopName, ReplyTo: shop.ContactEmail}, r)
		cancel()
		if err != nil && mail.Permanent(err) {
			err = permanent{err}
		}
	} else {
		err = permanent{err}
	}
	redact := k.OneTimeLink
	if err == nil {
		return 0, false, markSent(ctx, pool, m, subject, redact)
	}
	var p permanent
	giveUp := errors.As(err, &p) || m.Attempts > len(o.Backoff)
	if errors.Is(err, mail.ErrNotConfigured) {
		giveUp = false // the platform's SMTP is not set up yet: keep it for when it is
	}
	wait := o.Backoff[min(max(m.Attempts, 1), len(o.Backoff))-1]
	o.Log.Warn("cannot send an e-mail", "notification", m.ID, "kind", m.Kind, "attempt", m.Attempts, "given_up", giveUp, "err", err)
	down := !giveUp && (mail.Unreachable(err) || errors.Is(err, mail.ErrNotConfigured))
	return wait, down, markFailed(ctx, pool, m, subject, err.Error(), wait, giveUp, redact && giveUp)
}

// permanent marks a failure that another attempt cannot mend.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// render renders a message with the shop's template of its kind; if that
// fails with this message's data, the default is sent instead.
func render(kind string, custom map[string]Template, data map[string]any, theme Theme) (*mail.Rendered, error) {
	if t, ok := custom[kind]; ok {
		if r, err := Render(kind, t, data, theme); err == nil {
			return r, nil
		}
	}
	d, ok := Default(kind)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	return Render(kind, d, data, theme)
}

func redactedData(data map[string]any, redact bool) ([]byte, error) {
	if redact {
		if _, ok := data["link"]; ok {
			data["link"] = RedactedLink
		}
	}
	return json.Marshal(data)
}

// markSent records a delivery, unless another drain has claimed the
// message since (its lease ran out): the fence is the attempt counter.
func markSent(ctx context.Context, pool *pgxpool.Pool, m claimed, subject string, redact bool) error {
	data, err := redactedData(m.Data, redact)
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `UPDATE notifications SET state = 'sent', sent_at = now(), subject = $3, last_error = '',
			locked_until = NULL, data = $4
		WHERE id = $1 AND state = 'sending' AND attempts = $2`, m.ID, m.Attempts, subject, data)
	if err != nil {
		return fmt.Errorf("record e-mail %d as sent: %w", m.ID, err)
	}
	return nil
}

func markFailed(ctx context.Context, pool *pgxpool.Pool, m claimed, subject, msg string, wait time.Duration, giveUp, redact bool) error {
	if len(msg) > maxError {
		msg = msg[:maxError]
	}
	data, err := redactedData(m.Data, redact)
	if err != nil {
		return err
	}
	state := "pending"
	if giveUp {
		state = "failed"
	}
	_, err = pool.Exec(ctx, `UPDATE notifications SET state = $3, last_error = $4, locked_until = NULL,
			next_attempt_at = now() + make_interval(secs => $5), subject = CASE WHEN $6 = '' THEN subject ELSE $6 END, data = $7
		WHERE id = $1 AND state = 'sending' AND attempts = $2`, m.ID, m.Attempts, state, msg, wait.Seconds(), subject, data)
	if err != nil {
		return fmt.Errorf("record the failure of e-mail %d: %w", m.ID, err)
	}
	return nil
}
