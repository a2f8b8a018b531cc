-- +goose Up
-- The platform's view of marketplace imports across vendors: the import
-- job writes a summary here when an import starts and when it ends, so
-- the console's marketplace page reads one table instead of every
-- vendor's database. The imports themselves (rows, rejected lines, the
-- file) stay in the vendor's database and bucket.
CREATE TABLE marketplace_imports (
    vendor_id     bigint NOT NULL REFERENCES vendors (id) ON DELETE CASCADE,
    import_id     bigint NOT NULL,
    state         text NOT NULL CHECK (state IN ('queued', 'running', 'finished', 'failed', 'cancelled')),
    source        text NOT NULL DEFAULT '',
    file_name     text NOT NULL DEFAULT '',
    rows_read     bigint NOT NULL DEFAULT 0,
    rows_imported bigint NOT NULL DEFAULT 0,
    rows_rejected bigint NOT NULL DEFAULT 0,
    error         text NOT NULL DEFAULT '',
    attempts      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    started_at    timestamptz,
    finished_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vendor_id, import_id)
);
CREATE INDEX marketplace_imports_recent_idx ON marketplace_imports (updated_at DESC);
CREATE INDEX marketplace_imports_state_idx ON marketplace_imports (state, updated_at DESC);

-- +goose Down
DROP TABLE marketplace_imports;
