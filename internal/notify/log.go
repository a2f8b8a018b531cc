package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// States of a message in the outbox.
var States = []string{"pending", "sending", "sent", "failed"}

// Notification is one e-mail of the log.
type Notification struct {
	ID            int64
	Kind          string
	To            string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	Subject       string
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
	OrderID       *int64
	// LinkRemoved is true when the message's one-time link was removed
	// (it was sent, or given up): such a message cannot be sent again.
	LinkRemoved bool
}

// Retryable reports whether a message may be queued again by hand.
func (n *Notification) Retryable() bool { return n.State == "failed" && !n.LinkRemoved }

// Filter narrows the log.
type Filter struct {
	Kind   string // "" for every kind
	State  string // "" for every state
	Before int64  // messages older than this id (paging); 0 for the newest
	Limit  int    // default 50
}

// List returns the log, newest first, and whether older messages follow.
func List(ctx context.Context, db DB, f Filter) ([]*Notification, bool, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	rows, err := db.Query(ctx, `SELECT id, kind, to_email, state, attempts, next_attempt_at, subject, last_error, created_at,
			sent_at, order_id, coalesce(data->>'link' = $5, false)
		FROM notifications
		WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR state = $2) AND ($3 = 0 OR id < $3)
		ORDER BY id DESC LIMIT $4`, f.Kind, f.State, f.Before, f.Limit+1, RedactedLink)
	if err != nil {
		return nil, false, fmt.Errorf("read the e-mail log: %w", err)
	}
	defer rows.Close()
	var out []*Notification
	for rows.Next() {
		n := &Notification{}
		if err := rows.Scan(&n.ID, &n.Kind, &n.To, &n.State, &n.Attempts, &n.NextAttemptAt, &n.Subject, &n.LastError,
			&n.CreatedAt, &n.SentAt, &n.OrderID, &n.LinkRemoved); err != nil {
			return nil, false, fmt.Errorf("read the e-mail log: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("read the e-mail log: %w", err)
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	return out, more, nil
}

// Errors of Retry.
var (
	ErrNotFound     = errors.New("no such e-mail")
	ErrNotRetryable = errors.New("this e-mail cannot be sent again")
)

// Retry queues a failed message again, with a fresh count of attempts.
// A message whose one-time link was removed cannot be retried: the link
// is gone (send a new invitation, or have the customer ask again).
func Retry(ctx context.Context, db DB, id int64) (*Notification, error) {
	n := &Notification{ID: id}
	err := db.QueryRow(ctx, `SELECT kind, to_email, state, coalesce(data->>'link' = $2, false)
		FROM notifications WHERE id = $1 FOR UPDATE`, id, RedactedLink).Scan(&n.Kind, &n.To, &n.State, &n.LinkRemoved)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find e-mail %d: %w", id, err)
	}
	if !n.Retryable() {
		return n, ErrNotRetryable
	}
	if _, err := db.Exec(ctx, `UPDATE notifications SET state = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL
		WHERE id = $1`, id); err != nil {
		return nil, fmt.Errorf("queue e-mail %d again: %w", id, err)
	}
	n.State = "pending"
	return n, nil
}

// Stalled reports whether a message has been due for more than a minute
// without being sent: the request for the job system was lost (a
// control plane that was down), and should be made again.
func Stalled(ctx context.Context, db DB) (bool, error) {
	var stalled bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT FROM notifications
		WHERE state IN ('pending', 'sending') AND next_attempt_at < now() - interval '1 minute'
			AND (locked_until IS NULL OR locked_until < now()))`).Scan(&stalled)
	if err != nil {
		return false, fmt.Errorf("look for stalled e-mails: %w", err)
	}
	return stalled, nil
}
