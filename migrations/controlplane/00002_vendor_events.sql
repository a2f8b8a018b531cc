-- +goose Up
-- The lifecycle history of each vendor: every step of provisioning,
-- suspension and deletion, with the error when a step failed.
CREATE TABLE vendor_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vendor_id bigint NOT NULL REFERENCES vendors (id),
    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    state     text NOT NULL,
    message   text NOT NULL DEFAULT '',
    error     text NOT NULL DEFAULT ''
);
CREATE INDEX vendor_events_vendor_idx ON vendor_events (vendor_id, id DESC);

-- +goose Down
DROP TABLE vendor_events;
