package platform

import "time"

// Setting is a typed platform setting with its default. To add one,
// append it to Settings: the console's settings page, the admin API and
// `provisioner settings` pick it up, grouped by the part of the key before
// the first dot (see SettingGroups for the groups' titles).
type Setting struct {
	Key  string `json:"key"`
	Kind string `json:"kind"` // KindText, KindInt, KindBool, KindDuration, KindCron or KindSecret
	// Default is the value in force while none is saved (secrets: none).
	Default string `json:"default"`
	Help    string `json:"help"`
	// Min and Max bound a KindInt (Max 0: no upper bound).
	Min int `json:"min,omitempty"`
	Max int `json:"max,omitempty"`
	// MinDuration and MaxDuration bound a KindDuration (0: no bound).
	MinDuration time.Duration `json:"-"`
	MaxDuration time.Duration `json:"-"`
	// MaxLen is the longest KindText or KindSecret value in characters
	// (0: 500 for text, 4096 for secrets).
	MaxLen int `json:"max_len,omitempty"`
}

// Settings lists the settings the platform knows.
var Settings = []Setting{
	{Key: "backup.schedule", Kind: KindCron, Default: "0 2 * * *", Help: "when every vendor is backed up (cron, UTC)"},
	{Key: "backup.parallel", Kind: KindInt, Default: "2", Min: 1, Max: 16, Help: "vendors backed up at once by the schedule"},
	{Key: "backup.verify_schedule", Kind: KindCron, Default: "30 4 * * *", Help: "when a random sample of backups is verified (cron, UTC)"},
	{Key: "backup.verify_sample", Kind: KindInt, Default: "3", Min: 0, Max: 1000, Help: "how many vendors' newest backups each verification run checks"},
	{Key: "backup.retention_daily", Kind: KindInt, Default: "7", Min: 1, Max: 365, Help: "keep the newest backup of each of this many days"},
	{Key: "backup.retention_weekly", Kind: KindInt, Default: "4", Min: 0, Max: 520, Help: "and of each of this many weeks"},
	{Key: "payments.commission_bp", Kind: KindInt, Default: "500", Min: 0, Max: 5000, Help: "the platform's commission on every order, in basis points of its total (500 = 5 %), taken as the Stripe application fee"},
	{Key: "audit.retention_days", Kind: KindInt, Default: "365", Min: 0, Max: 3650, Help: "how many days the audit log keeps its entries; older ones are deleted every night (0: keep them forever)"},
	{Key: "reconcile.schedule", Kind: KindCron, Default: "*/15 * * * *", Help: "when reconcile finishes stuck vendors and drops expired copies (cron, UTC)"},
	{Key: "stats.schedule", Kind: KindCron, Default: "7 * * * *", Help: "when the dashboard's per-vendor figures are rolled up from every vendor database (cron, UTC)"},
	{Key: "stats.days", Kind: KindInt, Default: "7", Min: 1, Max: 400, Help: "how many days, ending today, each roll-up recomputes (late refunds reach the day the order was paid)"},
	// clean-ups (issue 8 item 9; internal/cleanup, internal/jobs/cleanup.go)
	{Key: "cleanup.schedule", Kind: KindCron, Default: "40 3 * * *", Help: "when expired carts, reservations, tokens, old e-mail data, feed files and Stripe event ids are cleaned up (cron, UTC)"},
	{Key: "cleanup.batch", Kind: KindInt, Default: "1000", Min: 10, Max: 100000, Help: "the most rows of each kind one clean-up removes per vendor (the next run takes the rest)"},
	{Key: "cleanup.parallel", Kind: KindInt, Default: "2", Min: 1, Max: 16, Help: "vendors cleaned up at once"},
	{Key: "cleanup.cart_days", Kind: KindInt, Default: "30", Min: 1, Max: 3650, Help: "anonymous carts not updated for this many days are deleted"},
	{Key: "cleanup.token_days", Kind: KindInt, Default: "7", Min: 1, Max: 3650, Help: "used or expired one-time links (password resets, invitations) are deleted this many days later"},
	{Key: "cleanup.notification_days", Kind: KindInt, Default: "90", Min: 1, Max: 3650, Help: "the data of sent e-mails (names, addresses, order details) is emptied this many days after sending; the log line stays"},
	{Key: "cleanup.import_file_days", Kind: KindInt, Default: "30", Min: 1, Max: 3650, Help: "marketplace feed files are removed from the vendor's bucket this many days after their import ended"},
	{Key: "cleanup.stripe_event_days", Kind: KindInt, Default: "90", Min: 7, Max: 3650, Help: "Stripe event ids (kept to ignore replays) are forgotten after this many days"},
}
