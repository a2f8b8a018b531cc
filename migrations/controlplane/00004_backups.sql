-- +goose Up
-- Per-vendor backups and their verification, restores and moves between
-- database servers, platform alerts, and a read-only switch per vendor.

CREATE TABLE backups (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor_id       bigint NOT NULL REFERENCES vendors (id),
    kind            text NOT NULL DEFAULT 'manual' CHECK (kind IN ('manual', 'scheduled', 'final', 'pre-restore')),
    state           text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'completed', 'failed')),
    actor           text NOT NULL DEFAULT '',
    bucket          text NOT NULL,
    prefix          text NOT NULL,       -- objects live under <bucket>/<prefix>
    db_name         text NOT NULL DEFAULT '',
    schema_version  bigint,
    dump_size       bigint,
    dump_sha256     text,
    objects_count   integer,
    objects_size    bigint,
    row_counts      jsonb,
    manifest_sha256 text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    error           text NOT NULL DEFAULT '',
    verify_state    text NOT NULL DEFAULT 'unverified' CHECK (verify_state IN ('unverified', 'ok', 'failed')),
    verified_at     timestamptz,
    verify_error    text NOT NULL DEFAULT '',
    expired_at      timestamptz          -- removed by retention
);
CREATE INDEX backups_vendor_idx ON backups (vendor_id, id DESC);
CREATE INDEX backups_state_idx ON backups (state, started_at);

CREATE TABLE platform_alerts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    kind            text NOT NULL,       -- 'backup.failed', 'verify.failed', ...
    vendor_id       bigint REFERENCES vendors (id),
    message         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by text NOT NULL DEFAULT '',
    resolved_at     timestamptz
);
CREATE INDEX platform_alerts_open_idx ON platform_alerts (created_at DESC) WHERE resolved_at IS NULL;

-- A vendor database being restored or copied is recorded before it exists,
-- so reconcile can tell a half-made copy from an orphan.
ALTER TABLE vendor_databases DROP CONSTRAINT vendor_databases_status_check;
ALTER TABLE vendor_databases ADD CONSTRAINT vendor_databases_status_check
    CHECK (status IN ('preparing', 'current', 'retired', 'dropped'));
ALTER TABLE vendor_databases ADD COLUMN purpose text NOT NULL DEFAULT 'provision'
    CHECK (purpose IN ('provision', 'restore', 'move', 'verify'));
ALTER TABLE vendor_databases ADD COLUMN drop_after timestamptz;

-- Writes are refused while a vendor is moved between servers.
ALTER TABLE vendors ADD COLUMN read_only boolean NOT NULL DEFAULT false;
ALTER TABLE vendors ADD COLUMN read_only_reason text NOT NULL DEFAULT '';

CREATE OR REPLACE VIEW routing_entries AS
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
       b.name          AS bucket,
       v.read_only
FROM domains d
JOIN vendors v ON v.id = d.vendor_id
LEFT JOIN vendor_databases vd ON vd.vendor_id = v.id AND vd.status = 'current'
LEFT JOIN db_servers s ON s.id = vd.server_id
LEFT JOIN buckets b ON b.vendor_id = v.id AND b.status = 'current'
WHERE v.state <> 'deleted';

-- +goose Down
CREATE OR REPLACE VIEW routing_entries AS
SELECT d.host, v.id AS vendor_id, v.slug, v.name, v.state, vd.db_name, vd.role_name, vd.password_enc,
       vd.schema_version, s.host AS db_host, s.port AS db_port, b.name AS bucket
FROM domains d
JOIN vendors v ON v.id = d.vendor_id
LEFT JOIN vendor_databases vd ON vd.vendor_id = v.id AND vd.status = 'current'
LEFT JOIN db_servers s ON s.id = vd.server_id
LEFT JOIN buckets b ON b.vendor_id = v.id AND b.status = 'current'
WHERE v.state <> 'deleted';
ALTER TABLE vendors DROP COLUMN read_only_reason, DROP COLUMN read_only;
ALTER TABLE vendor_databases DROP COLUMN drop_after, DROP COLUMN purpose;
ALTER TABLE vendor_databases DROP CONSTRAINT vendor_databases_status_check;
ALTER TABLE vendor_databases ADD CONSTRAINT vendor_databases_status_check CHECK (status IN ('current', 'retired', 'dropped'));
DROP TABLE platform_alerts;
DROP TABLE backups;
