-- +goose Up
-- Admins with roles, invitations, two-factor sign-in, listed sessions;
-- admin notifications; the e-mails sent for critical alerts; indexes for
-- the audit log viewer's filters.

-- super_admin may do everything; support may look at everything and
-- change nothing. Existing admins (and the demo admin) are super admins.
ALTER TABLE admins
    ADD COLUMN role text NOT NULL DEFAULT 'super_admin' CHECK (role IN ('super_admin', 'support')),
    -- TOTP secret sealed with the master key (context "admin-totp:<id>");
    -- set while enrolling, in force once totp_enabled_at is set.
    ADD COLUMN totp_secret_enc bytea,
    ADD COLUMN totp_enabled_at timestamptz,
    -- The newest 30-second time step whose code was accepted: a code is
    -- good once.
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0,
    ADD COLUMN password_changed_at timestamptz;

-- One-time codes for when the authenticator is lost; SHA-256 of each.
CREATE TABLE admin_recovery_codes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id   bigint NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz,
    UNIQUE (admin_id, code_hash)
);

-- An invitation is a one-time link e-mailed to a new admin; SHA-256 of
-- its token is kept.
CREATE TABLE admin_invites (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('super_admin', 'support')),
    token_hash  bytea NOT NULL UNIQUE,
    invited_by  bigint REFERENCES admins (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at  timestamptz,
    admin_id    bigint REFERENCES admins (id) ON DELETE SET NULL
);
CREATE INDEX admin_invites_email_idx ON admin_invites (lower(email));

-- The console's sessions live in Redis (scs); this is their record, keyed
-- by the key scs stores them under (base64url SHA-256 of the cookie's
-- token), so they can be listed and revoked.
CREATE TABLE admin_sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id     bigint NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE,
    user_agent   text NOT NULL DEFAULT '',
    client_addr  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    end_reason   text NOT NULL DEFAULT ''
);
CREATE INDEX admin_sessions_admin_idx ON admin_sessions (admin_id, last_seen_at DESC);

-- Things every admin should hear about (a new vendor, a failure), with
-- per-admin read marks.
CREATE TABLE admin_notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL,     -- 'vendor.created', 'provisioning.failed', ...
    vendor_id  bigint REFERENCES vendors (id),
    message    text NOT NULL,
    link       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_notifications_created_idx ON admin_notifications (created_at DESC);

CREATE TABLE admin_notification_reads (
    notification_id bigint NOT NULL REFERENCES admin_notifications (id) ON DELETE CASCADE,
    admin_id        bigint NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    read_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (admin_id, notification_id)
);

-- Critical alerts are e-mailed to every super admin, once: mail_queued_at
-- is set when the job is queued, and each recipient's delivery recorded.
ALTER TABLE platform_alerts ADD COLUMN mail_queued_at timestamptz;
CREATE TABLE alert_mails (
    alert_id bigint NOT NULL REFERENCES platform_alerts (id) ON DELETE CASCADE,
    admin_id bigint NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    sent_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, admin_id)
);

CREATE INDEX audit_log_admin_idx ON audit_log (admin_id, at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC);

-- +goose Down
DROP INDEX audit_log_action_idx;
DROP INDEX audit_log_admin_idx;
DROP TABLE alert_mails;
ALTER TABLE platform_alerts DROP COLUMN mail_queued_at;
DROP TABLE admin_notification_reads, admin_notifications, admin_sessions, admin_invites, admin_recovery_codes;
ALTER TABLE admins DROP COLUMN role, DROP COLUMN totp_secret_enc, DROP COLUMN totp_enabled_at,
    DROP COLUMN totp_last_step, DROP COLUMN password_changed_at;
