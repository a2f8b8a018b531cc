-- +goose Up
-- Schema rollouts across vendor databases (`provisioner migrate-all`): one
-- row per run and one per vendor in it, so a run that died half-way says
-- exactly which vendors it migrated, which failed and why.
CREATE TABLE migration_runs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL DEFAULT 'all' CHECK (kind IN ('all', 'vendor', 'rollback')),
    target_version bigint NOT NULL,
    state          text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'finished', 'failed', 'interrupted')),
    actor          text NOT NULL,
    options        jsonb NOT NULL DEFAULT '{}',
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    -- the runner's session, to tell a live run from one that died
    backend_pid    integer,
    error          text NOT NULL DEFAULT ''
);
CREATE INDEX migration_runs_started_idx ON migration_runs (id DESC);

CREATE TABLE migration_results (
    run_id         bigint NOT NULL REFERENCES migration_runs (id),
    vendor_id      bigint NOT NULL REFERENCES vendors (id),
    phase          text NOT NULL DEFAULT 'main' CHECK (phase IN ('canary', 'main')),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'migrated', 'skipped', 'failed')),
    version_before bigint,
    version_after  bigint,
    started_at     timestamptz,
    finished_at    timestamptz,
    duration_ms    bigint,
    error          text NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, vendor_id)
);
CREATE INDEX migration_results_vendor_idx ON migration_results (vendor_id, run_id DESC);
CREATE INDEX migration_results_status_idx ON migration_results (run_id, status);

-- Template databases are migrated first in every run.
ALTER TABLE db_servers ADD COLUMN template_version bigint NOT NULL DEFAULT 0;
-- The last migration error of each vendor database, for the console.
ALTER TABLE vendor_databases ADD COLUMN migration_error text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE vendor_databases DROP COLUMN migration_error;
ALTER TABLE db_servers DROP COLUMN template_version;
DROP TABLE migration_results;
DROP TABLE migration_runs;
