-- +goose Up
-- The control-plane schema: who runs the platform, which vendors exist and
-- where their data lives, and a record of every admin action.

-- Nobody but the owner and explicitly granted roles may connect here; vendor
-- roles live in the same cluster and must never reach the control plane.
-- +goose StatementBegin
DO $$
BEGIN
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
-- +goose StatementEnd

CREATE TABLE admins (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX admins_email_key ON admins (lower(email));

CREATE TABLE admin_api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id     bigint NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    name         text NOT NULL,
    -- SHA-256 of the token; the token itself is shown once, at creation.
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- PostgreSQL servers that hold vendor databases. The provisioner connects
-- with the admin role (CREATEDB, CREATEROLE) whose password is encrypted
-- under the master key.
CREATE TABLE db_servers (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name               text NOT NULL UNIQUE,
    host               text NOT NULL,
    port               integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    admin_user         text NOT NULL,
    admin_password_enc bytea NOT NULL,
    maintenance_db     text NOT NULL DEFAULT 'postgres',
    state              text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'draining')),
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vendors (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug             text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    owner_email      text NOT NULL,
    state            text NOT NULL DEFAULT 'requested' CHECK (state IN (
                         'requested', 'database_ready', 'bucket_ready', 'schema_ready',
                         'active', 'suspended', 'deleting', 'deleted')),
    state_changed_at timestamptz NOT NULL DEFAULT now(),
    last_error       text NOT NULL DEFAULT '',
    last_error_at    timestamptz,
    suspend_reason   text NOT NULL DEFAULT '',
    delete_after     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- A slug names one live vendor; a deleted vendor frees its slug.
CREATE UNIQUE INDEX vendors_slug_live_key ON vendors (slug) WHERE state <> 'deleted';
CREATE INDEX vendors_state_idx ON vendors (state);

CREATE TABLE vendor_databases (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor_id      bigint NOT NULL REFERENCES vendors (id),
    server_id      bigint NOT NULL REFERENCES db_servers (id),
    db_name        text NOT NULL,
    role_name      text NOT NULL,
    password_enc   bytea NOT NULL,
    -- current: the database routing uses; retired: kept for a grace period.
    status         text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'retired', 'dropped')),
    schema_version bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    retired_at     timestamptz,
    UNIQUE (server_id, db_name)
);
CREATE UNIQUE INDEX vendor_databases_current_key ON vendor_databases (vendor_id) WHERE status = 'current';

CREATE TABLE buckets (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor_id  bigint NOT NULL REFERENCES vendors (id),
    name       text NOT NULL UNIQUE,
    status     text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'dropped')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX buckets_current_key ON buckets (vendor_id) WHERE status = 'current';

CREATE TABLE domains (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor_id   bigint NOT NULL REFERENCES vendors (id),
    -- canonical host name: lower case, no port, no trailing dot
    host        text NOT NULL CHECK (host = lower(host) AND host !~ '[:/ ]' AND host !~ '\.$'),
    kind        text NOT NULL CHECK (kind IN ('subdomain', 'custom')),
    is_primary  boolean NOT NULL DEFAULT false,
    verified_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX domains_host_key ON domains (host);
CREATE INDEX domains_vendor_idx ON domains (vendor_id);

CREATE TABLE platform_settings (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT ''
);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,          -- 'admin:<email>', 'cli:<user>', 'system'
    admin_id    bigint REFERENCES admins (id) ON DELETE SET NULL,
    action      text NOT NULL,          -- e.g. 'vendor.create', 'vendor.suspend'
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb,
    client_addr text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, at DESC);

-- What the tenant app needs to route a host to a vendor database, and
-- nothing else: the read-only router role is granted this view only.
CREATE VIEW routing_entries AS
SELECT d.host,
       v.id            AS vendor_id,
       v.slug,
       v.name,
       v.state,
       vd.db_name,
       vd.role_name,
       vd.password_enc,
       vd.schema_version,
       s.host          AS db_host,
       s.port          AS db_port,
       b.name          AS bucket
FROM domains d
JOIN vendors v ON v.id = d.vendor_id
LEFT JOIN vendor_databases vd ON vd.vendor_id = v.id AND vd.status = 'current'
LEFT JOIN db_servers s ON s.id = vd.server_id
LEFT JOIN buckets b ON b.vendor_id = v.id AND b.status = 'current'
WHERE v.state <> 'deleted';

-- Routing changes are announced on the 'storefleet_routing' channel with the
-- vendor id as payload, so tenant apps drop their cached entries at once.
-- +goose StatementBegin
CREATE FUNCTION notify_routing() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    vid bigint;
BEGIN
    IF TG_TABLE_NAME = 'vendors' THEN
        vid := COALESCE(NEW.id, OLD.id);
    ELSE
        vid := COALESCE(NEW.vendor_id, OLD.vendor_id);
    END IF;
    PERFORM pg_notify('storefleet_routing', vid::text);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER vendors_routing AFTER INSERT OR UPDATE OR DELETE ON vendors
    FOR EACH ROW EXECUTE FUNCTION notify_routing();
CREATE TRIGGER domains_routing AFTER INSERT OR UPDATE OR DELETE ON domains
    FOR EACH ROW EXECUTE FUNCTION notify_routing();
CREATE TRIGGER vendor_databases_routing AFTER INSERT OR UPDATE OR DELETE ON vendor_databases
    FOR EACH ROW EXECUTE FUNCTION notify_routing();
CREATE TRIGGER buckets_routing AFTER INSERT OR UPDATE OR DELETE ON buckets
    FOR EACH ROW EXECUTE FUNCTION notify_routing();

-- +goose Down
DROP VIEW routing_entries;
DROP TABLE audit_log, platform_settings, domains, buckets, vendor_databases, vendors,
    db_servers, admin_api_tokens, admins;
DROP FUNCTION notify_routing();
