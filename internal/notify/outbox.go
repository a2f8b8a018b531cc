// Package notify is the vendor's e-mail: the outbox in the vendor's
// database, written in the same transaction as what a message tells
// about, and sent by the control plane's job system.
package notify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Kinds of message, as notifications.kind names them.
const (
	OrderConfirmation     = "order_confirmation"
	ShippingNotice        = "shipping_notice"
	CustomerPasswordReset = "customer_password_reset"
	StaffInvitation       = "staff_invitation"
	StaffPasswordReset    = "staff_password_reset"
)

// WorkKind is the vendor work that sends a vendor's outbox
// (request_vendor_work(vendor, 'mail')).
const WorkKind = "mail"

// Message is one e-mail to send.
type Message struct {
	Kind string
	To   string
	// Data is what the template gets; links in it are built from the
	// shop's domain as the control plane knows it.
	Data       map[string]any
	OrderID    int64 // 0: none
	CustomerID int64 // 0: none
}

// Execer is a transaction or a pool.
type Execer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Enqueue writes a message to the outbox and returns its id. Call it in
// the transaction of what the message tells about, then ask for the
// vendor's mail work to run once that has committed.
func Enqueue(ctx context.Context, db Execer, m Message) (int64, error) {
	data, err := json.Marshal(m.Data)
	if err != nil {
		return 0, fmt.Errorf("encode the data of a %s e-mail: %w", m.Kind, err)
	}
	var id int64
	err = db.QueryRow(ctx, `INSERT INTO notifications (kind, to_email, data, order_id, customer_id)
		VALUES ($1, $2, $3, nullif($4, 0), nullif($5, 0)) RETURNING id`,
		m.Kind, m.To, data, m.OrderID, m.CustomerID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("queue a %s e-mail: %w", m.Kind, err)
	}
	return id, nil
}
