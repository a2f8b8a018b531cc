-- +goose NO TRANSACTION
-- +goose Up
-- Handles are unique. The index is built CONCURRENTLY so that shops keep
-- taking orders while it builds; that cannot run in a transaction, so this
-- file is marked NO TRANSACTION. If the build fails (two products whose
-- SKUs differ only in case or punctuation), PostgreSQL leaves an invalid
-- index behind: the DROP first makes a re-run after the data is fixed
-- start clean.
DROP INDEX CONCURRENTLY IF EXISTS products_handle_key;
CREATE UNIQUE INDEX CONCURRENTLY products_handle_key ON products (handle);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS products_handle_key;
